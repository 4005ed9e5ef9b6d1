"""evaluate(): the protocol (exclusions, cold users and items, positives) and metric blocks on toys."""

from __future__ import annotations

import math

import numpy as np
import pytest

from components.evaluate.data import EvaluationInputError, build_evaluation_data
from components.evaluate.evaluator import EvaluateConfig, evaluate, rank_model
from components.evaluate.metrics import hit_rate_at_k, ndcg_at_k, recall_at_k, reciprocal_rank_at_k
from components.split.table import InteractionsError
from components.train.artifact import ModelArtifact
from tests.unit.components.evaluate.toys import interactions, memoriser, oracle, random_model, random_tables

METRICS = ("recall_at_k", "ndcg_at_k", "hit_rate_at_k", "mrr")

TRAIN = interactions([(0, 0, 1, 1), (0, 1, 2, 1), (1, 0, 1, 1), (1, 2, 2, 1), (2, 0, 1, 1), (2, 1, 2, 1), (3, 3, 1, 0)])
TEST = interactions([(0, 2, 5, 1), (0, 4, 6, 0), (1, 1, 5, 1), (2, 4, 5, 1), (3, 1, 5, 1)])


def test_oracle_model_scores_one() -> None:
    """A model whose embeddings encode each user's test positives gets 1.0 on every per-user metric."""
    report = evaluate(oracle(TEST, n_items=5, n_users=4), TRAIN, TEST, EvaluateConfig(k=2))
    for name in METRICS:
        assert getattr(report.model, name) == pytest.approx(1.0), name
    assert report.protocol["users_evaluated"] == 4


def test_popularity_baseline_by_hand() -> None:
    """Counts 3, 2, 1, 0, 0 on TRAIN; each user's train positives skipped; K = 2."""
    report = evaluate(oracle(TEST, 5, 4), TRAIN, TEST, EvaluateConfig(k=2))
    # user 0 -> [2, 3] hit@1; user 1 -> [1, 3] hit@1; user 2 -> [2, 3] miss; user 3 -> [0, 1] hit@2
    pop = report.popularity
    assert pop.recall_at_k == pytest.approx(3 / 4)
    assert pop.hit_rate_at_k == pytest.approx(3 / 4)
    assert pop.ndcg_at_k == pytest.approx((1 + 1 + 0 + 1 / math.log2(3)) / 4)
    assert pop.mrr == pytest.approx((1 + 1 + 0 + 0.5) / 4)
    assert pop.coverage == pytest.approx(4 / 5)


def test_train_positives_are_never_recommended() -> None:
    """A model that scores train positives highest still hits at K = 1: they are excluded first."""
    model = memoriser(TRAIN, TEST, 5, 4)
    report = evaluate(model, TRAIN, TEST, EvaluateConfig(k=1))
    assert report.model.hit_rate_at_k == 1.0  # would be 0 if train positives were recommended back
    data = build_evaluation_data(TRAIN, TEST, model.item_ids)
    top = rank_model(model, data, EvaluateConfig(k=3))
    positives = TRAIN[TRAIN["label"] == 1]
    for row, user in enumerate(data.user_ids):
        assert not set(top[row]) & set(positives.loc[positives["user_id"] == user, "item_id"])


def test_negatives_in_train_are_not_excluded_and_not_relevant() -> None:
    """label 0 rows are neither excluded (user 3's item 3) nor relevant (user 0's item 4)."""
    data = build_evaluation_data(TRAIN, TEST, np.arange(5))
    row = {int(u): i for i, u in enumerate(data.user_ids)}
    assert data.exclude[row[3]].nnz == 0
    assert data.relevant[row[0]].indices.tolist() == [2]
    assert data.counts["excluded_pairs"] == 6 and data.positive_rule == "label == 1"


def test_repeats_cold_users_and_cold_items_are_counted() -> None:
    """Repeat positives are dropped, cold items dropped and counted, cold users evaluated or skipped."""
    test = interactions([(0, 0, 5, 1), (0, 2, 5, 1), (0, 99, 5, 1), (9, 3, 5, 1)])
    data = build_evaluation_data(TRAIN, test, np.arange(5))
    assert data.user_ids.tolist() == [0, 9]
    assert data.counts["repeat_positives"] == 1
    assert data.counts["cold_items"] == 1 and data.counts["cold_item_positives"] == 1
    assert data.counts["cold_users"] == 1
    warm = build_evaluation_data(TRAIN, test, np.arange(5), include_cold_users=False)
    assert warm.user_ids.tolist() == [0] and warm.counts["cold_users_skipped"] == 1


def test_weight_decides_positives_without_a_label() -> None:
    """Without label, rows with weight > 0 are positives; without either, every row."""
    train = TRAIN.drop(columns="label").assign(weight=(TRAIN["label"] == 1).astype(float))
    test = TEST.drop(columns="label").assign(weight=(TEST["label"] == 1).astype(float))
    by_label = build_evaluation_data(TRAIN, TEST, np.arange(5))
    by_weight = build_evaluation_data(train, test, np.arange(5))
    assert (by_weight.relevant != by_label.relevant).nnz == 0 and by_weight.positive_rule == "weight > 0"
    plain = build_evaluation_data(train.drop(columns="weight"), test.drop(columns="weight"), np.arange(5))
    assert plain.positive_rule == "every row" and plain.counts["test_positives"] == len(TEST)


def test_matches_per_user_brute_force() -> None:
    """On random data the report equals sorting each user's scores and applying the scalar metrics."""
    train, test = random_tables(n_users=40, n_items=30, rows=400, seed=1)
    model = random_model(40, 30, seed=2)
    k = 5
    report = evaluate(model, train, test, EvaluateConfig(k=k, chunk_users=7))
    data = build_evaluation_data(train, test, model.item_ids)
    scores = model.score(data.user_ids)
    values: dict[str, list[float]] = {name: [] for name in METRICS}
    for row in range(len(data.user_ids)):
        banned = set(data.exclude[row].indices)
        ranked = [int(i) for i in np.argsort(-scores[row], kind="stable") if i not in banned]
        relevant = set(data.relevant[row].indices.tolist())
        values["recall_at_k"].append(recall_at_k(ranked, relevant, k))
        values["ndcg_at_k"].append(ndcg_at_k(ranked, relevant, k))
        values["hit_rate_at_k"].append(hit_rate_at_k(ranked, relevant, k))
        values["mrr"].append(reciprocal_rank_at_k(ranked, relevant, k))
    for name in METRICS:
        assert getattr(report.model, name) == pytest.approx(float(np.mean(values[name])), abs=1e-9), name


def test_champion_is_evaluated_on_the_same_protocol() -> None:
    """A champion gets its own block; items it does not know are never recommended by it."""
    train, test = random_tables(n_users=30, n_items=20, rows=300, seed=3)
    candidate = random_model(30, 20, seed=4)
    full = random_model(30, 20, seed=5)
    champion = ModelArtifact(
        item_ids=full.item_ids[:10],
        item_embeddings=full.item_embeddings[:10],
        metadata={"version": "old"},
        user_ids=full.user_ids,
        user_vectors=full.user_vectors,
    )
    report = evaluate(candidate, train, test, EvaluateConfig(k=5), champion=champion)
    assert report.champion is not None and report.promotion is not None
    assert [c.name for c in report.promotion.checks][-2:] == ["ndcg_vs_champion", "recall_vs_champion"]
    assert report.champion.coverage <= 10 / 20
    data = build_evaluation_data(train, test, candidate.item_ids)
    assert rank_model(champion, data, EvaluateConfig(k=5)).max() < 10
    assert set(report.to_dict()) == {"model", "popularity", "protocol", "champion", "promotion", "peers"}


def test_report_shape_and_protocol() -> None:
    """The JSON has model, popularity and protocol blocks with every metric; protocol names the rules."""
    report = evaluate(oracle(TEST, 5, 4), TRAIN, TEST, EvaluateConfig(k=2)).to_dict()
    for block in ("model", "popularity"):
        assert set(report[block]) == {*METRICS, "coverage"}
    protocol = report["protocol"]
    for key in ("users_evaluated", "catalogue_size", "k", "split", "excluded_items", "cold_users", "cold_items"):
        assert key in protocol
    assert protocol["catalogue_size"] == 5 and protocol["k"] == 2


def test_unusable_inputs_raise_clear_errors() -> None:
    """Nothing to evaluate, K above the catalogue, float ids and missing columns are named errors."""
    model = oracle(TEST, 5, 4)
    with pytest.raises(EvaluationInputError, match="no user to evaluate"):
        evaluate(model, TRAIN, TEST.assign(label=0))
    with pytest.raises(ValueError, match="exceeds the catalogue"):
        evaluate(model, TRAIN, TEST, EvaluateConfig(k=6))
    with pytest.raises(InteractionsError, match="integer ids"):
        evaluate(model, TRAIN, TEST.assign(item_id=TEST["item_id"] + 0.5))
    with pytest.raises(InteractionsError, match="missing column"):
        evaluate(model, TRAIN.drop(columns="ts"), TEST)
    with pytest.raises(InteractionsError, match="no rows"):
        evaluate(model, TRAIN, TEST.iloc[:0])
    with pytest.raises(ValueError, match="unknown torch device"):
        evaluate(model, TRAIN, TEST, EvaluateConfig(device="tpu9"))
