"""The classic peers (EASE, ALS, BPR): hand-computed rankings on tiny tables, and the protocol they share."""

from __future__ import annotations

import numpy as np
import pytest

from components.evaluate.data import build_evaluation_data
from components.evaluate.evaluator import EvaluateConfig, evaluate
from components.evaluate.peers import PeersConfig, ease_weights, fit_ease, rank_peers, train_matrix
from tests.unit.components.evaluate.toys import interactions, random_model


def _blocks() -> tuple[list[tuple[int, int, int, int]], list[tuple[int, int, int, int]]]:
    """Two tastes: users 0-5 take items 0-3, users 6-11 take items 4-7; each user's last item is held out.

    Every user saw three of their block's four items in TRAIN (the one left out rotates), so
    the held-out item is the only unseen item of their own block: a collaborative ranker must
    put it first.
    """
    train, test = [], []
    for user in range(12):
        block = range(0, 4) if user < 6 else range(4, 8)
        held = list(block)[user % 4]
        train += [(user, item, 1, 1) for item in block if item != held]
        test.append((user, held, 2, 1))
    return train, test


def test_ease_weights_match_the_closed_form_by_hand() -> None:
    """Two users take items 0 and 1 together; item 2 is never taken: B links 0 and 1 by 2/3, item 2 by 0."""
    table = interactions([(0, 0, 1, 1), (0, 1, 1, 1), (1, 0, 1, 1), (1, 1, 1, 1)])
    data = build_evaluation_data(table, interactions([(0, 2, 2, 1)]), np.arange(3))
    matrix, _ = train_matrix(table, data)
    lam = 1.0
    # X'X + I = [[3, 2, 0], [2, 3, 0], [0, 0, 1]]; its inverse P has the block [[3, -2], [-2, 3]] / 5
    # and P_22 = 1, so B_01 = B_10 = -P_01 / P_11 = 2/3 and every weight of item 2 is 0
    expected = np.array([[0.0, 2 / 3, 0.0], [2 / 3, 0.0, 0.0], [0.0, 0.0, 0.0]], dtype=np.float32)
    np.testing.assert_allclose(ease_weights(matrix, lam), expected, rtol=1e-6)


@pytest.mark.parametrize("name", ["ease", "als", "bpr"])
def test_each_peer_ranks_the_held_out_item_of_the_users_block_first(name: str) -> None:
    train_rows, test_rows = _blocks()
    train, test = interactions(train_rows), interactions(test_rows)
    data = build_evaluation_data(train, test, np.arange(8))
    config = PeersConfig(names=(name,), factors=4, als_iterations=30, bpr_iterations=400, ease_lambda=0.5)
    [peer] = rank_peers(train, data, k=1, config=config)
    held = dict(zip(test["user_id"], test["item_id"], strict=True))
    assert peer.name == name
    assert peer.top[:, 0].tolist() == [held[user] for user in data.user_ids.tolist()]


def test_peers_never_recommend_a_train_positive_back() -> None:
    train_rows, test_rows = _blocks()
    train, test = interactions(train_rows), interactions(test_rows)
    data = build_evaluation_data(train, test, np.arange(8))
    for peer in rank_peers(train, data, k=5, config=PeersConfig(factors=4)):
        seen = data.exclude.toarray()
        picked = np.take_along_axis(seen, np.maximum(peer.top, 0), axis=1) & (peer.top >= 0)
        assert not picked.any(), peer.name


def test_ease_over_a_cut_catalogue_ranks_only_the_most_engaged_items() -> None:
    """With room for two items, EASE keeps the two with the most TRAIN positives and says so."""
    table = interactions(
        [(0, 0, 1, 1), (0, 1, 1, 1), (1, 0, 1, 1), (1, 1, 1, 1), (2, 0, 1, 1), (2, 2, 1, 1), (3, 3, 1, 1)]
    )
    data = build_evaluation_data(table, interactions([(3, 1, 2, 1)]), np.arange(4))
    matrix, rows = train_matrix(table, data)
    scorer, note = fit_ease(matrix, 1.0, max_items=2)
    scores = scorer(rows)
    assert note is not None and "2 most engaged of 4" in note
    assert (scores[:, [2, 3]] < scores[:, [0, 1]].min()).all()


def test_users_without_train_positives_get_a_row_of_their_own() -> None:
    train = interactions([(0, 0, 1, 1), (0, 1, 1, 1)])
    test = interactions([(0, 2, 2, 1), (9, 0, 2, 1)])
    data = build_evaluation_data(train, test, np.arange(3))
    matrix, rows = train_matrix(train, data)
    assert matrix.shape == (2, 3)
    cold = rows[data.user_ids.tolist().index(9)]
    assert matrix[cold].nnz == 0


def test_no_peer_configured_ranks_nothing() -> None:
    train_rows, test_rows = _blocks()
    assert (
        rank_peers(
            interactions(train_rows),
            build_evaluation_data(interactions(train_rows), interactions(test_rows), np.arange(8)),
            1,
            PeersConfig(names=()),
        )
        == []
    )


def test_evaluate_reports_every_peer_beside_the_model_on_the_same_users() -> None:
    """evaluate() ranks the peers on its own protocol: the block-structured toy puts EASE at a perfect score."""
    train_rows, test_rows = _blocks()
    train, test = interactions(train_rows), interactions(test_rows)
    model = random_model(12, 8)
    config = EvaluateConfig(k=1, peers=PeersConfig(factors=4, ease_lambda=0.5, bpr_iterations=400, als_iterations=30))
    report = evaluate(model, train, test, config)
    assert list(report.peers) == ["ease", "als", "bpr"]
    assert report.peers["ease"].ndcg_at_k == pytest.approx(1.0)
    assert all(block.seconds >= 0 and block.note is None for block in report.peers.values())
    assert report.protocol["users_evaluated"] == 12
    quiet = evaluate(model, train, test, EvaluateConfig(k=1, peers=PeersConfig(names=())))
    assert quiet.peers == {}
