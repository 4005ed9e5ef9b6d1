"""Model families: EASE as factors, its blend with the two-tower, early stopping and the choice on held-out rows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from components.evaluate.evaluator import rank_model
from components.evaluate.peers import ease_weights
from components.train.artifact import ModelArtifact, load_model, save_model
from components.train.blend import blend, fit_ease_factors, positives_matrix
from components.train.config import Selection, TrainConfig
from components.train.families import Judge, fit_model, holdout
from components.train.search import SPACE, draw
from components.train.trainer import train
from tests.unit.components.train.conftest import TINY
from tests.unit.components.train.synthetic import World

SMALL_GRID = Selection(ease_lambdas=(10.0, 100.0), blend_weights=(1.0,), max_epochs=4, k=5)


def _ease_scores(world: World, model: ModelArtifact, lam: float) -> np.ndarray:
    """EASE's scores computed the textbook way: the users' positive rows times B."""
    matrix = positives_matrix(world.interactions, model.user_ids, model.item_ids)
    return np.asarray(matrix @ ease_weights(matrix, lam))


def test_ease_factors_reproduce_ease_exactly_at_full_rank(world: World, trained: ModelArtifact) -> None:
    """With as many factors as items the factors are B itself: x_u P q_i is EASE's score to float precision."""
    factors = fit_ease_factors(
        world.interactions, trained.user_ids, trained.item_ids, lam=50.0, max_items=500, rank=500
    )
    assert np.array_equal(factors.item_ids, trained.item_ids)
    expected = _ease_scores(world, trained, 50.0)
    assert np.allclose(factors.user_factors @ factors.item_factors.T, expected, atol=1e-5)


def test_ease_factors_keep_the_most_engaged_items_and_rank_like_ease(world: World, trained: ModelArtifact) -> None:
    """A cut catalogue keeps the items with most positives; 16 factors stay close to EASE's scores."""
    factors = fit_ease_factors(world.interactions, trained.user_ids, trained.item_ids, lam=50.0, max_items=60, rank=16)
    matrix = positives_matrix(world.interactions, trained.user_ids, trained.item_ids)
    counts = pd.Series(np.asarray(matrix.sum(axis=0)).ravel(), index=trained.item_ids)
    assert len(factors.item_ids) == 60 and factors.rank == 16
    assert counts[factors.item_ids].min() >= counts.drop(factors.item_ids).max()
    sub = positives_matrix(world.interactions, trained.user_ids, factors.item_ids)
    exact = np.asarray(sub @ ease_weights(sub, 50.0))
    approx = factors.user_factors @ factors.item_factors.T
    assert np.linalg.norm(approx - exact) < 0.25 * np.linalg.norm(exact)
    top = factors.item_ids[np.argmax(approx, axis=1)]
    hits = [world.item_topic[int(i)] == world.user_topic[int(u)] for u, i in zip(trained.user_ids, top, strict=True)]
    assert np.mean(hits) > 0.9


def test_blend_scores_known_items_by_ease_plus_the_two_tower_and_the_rest_by_content(
    world: World, trained: ModelArtifact
) -> None:
    """EASE's items score EASE + alpha * two-tower; items outside EASE score scale * two-tower + offset."""
    factors = fit_ease_factors(world.interactions, trained.user_ids, trained.item_ids, lam=50.0, max_items=80, rank=80)
    model = blend(trained, factors, weight=1.0)
    facts = model.metadata["blend"]
    assert model.metadata["family"] == "ease+two-tower" and facts["alpha"] > 0
    users = trained.user_ids[:20]
    ease = factors.user_factors[:20] @ factors.item_factors.T
    tt_known = trained.score(users, factors.item_ids)
    assert np.allclose(model.score(users, factors.item_ids), ease + facts["alpha"] * tt_known, atol=1e-4)
    others = np.setdiff1d(trained.item_ids, factors.item_ids)
    expected = facts["scale"] * trained.score(users, others) + facts["offset"]
    assert np.allclose(model.score(users, others), expected, atol=1e-4)
    alone = blend(trained, factors, weight=0.0)
    assert alone.metadata["family"] == "ease"
    assert np.allclose(alone.score(users, factors.item_ids), ease, atol=1e-5)


def test_the_shortlist_ranks_every_blend_as_the_whole_catalogue_does(world: World, trained: ModelArtifact) -> None:
    """EASE's items plus each user's two-tower best of the rest give the same top k as the whole catalogue."""
    fit, held, _ = holdout(world.interactions, Selection(validation="random", k=5))
    judge = Judge(fit, held, Selection(k=5))
    factors = fit_ease_factors(fit, trained.user_ids, trained.item_ids, lam=50.0, max_items=40, rank=16)
    shortlist = judge.shortlist(trained, factors.item_ids)
    assert 40 < len(shortlist) < len(trained.item_ids)  # a real cut, holding EASE's 40 items and more
    data = judge.data(trained.item_ids)
    for weight in (0.0, 0.5, 4.0):
        model = blend(trained, factors, weight)
        full = rank_model(model, data, judge.config)
        assert np.array_equal(judge._rank_within(model, data, shortlist), full), weight
        assert judge(model, shortlist) == judge(model)


def test_a_collaborative_champion_still_ranks_new_items_by_content(cold_world: World, tmp_path: Path) -> None:
    """Items created after training get content vectors from the blend (saved and loaded): users get their topic."""
    seen = cold_world.items[cold_world.items["item_id"].isin(cold_world.interactions["item_id"])]
    tt = train(cold_world.interactions, seen, cold_world.users, TINY)
    factors = fit_ease_factors(cold_world.interactions, tt.user_ids, tt.item_ids, lam=50.0, max_items=50, rank=16)
    model = load_model(save_model(blend(tt, factors, weight=0.0), tmp_path / "m"))
    new = cold_world.items[~model.has_items(cold_world.items["item_id"].to_numpy())]
    assert len(new) == 40
    vectors = model.embed_items(new)
    assert vectors.shape == (40, model.dim)
    facts = model.metadata["blend"]
    content = tt.embed_items(new)
    assert np.allclose(vectors[:, facts["ease_rank"] : -1], facts["scale"] * content, atol=1e-5)
    assert np.allclose(vectors[:, -1], facts["offset"])
    users = model.user_ids
    best = new["item_id"].to_numpy()[np.argmax(model.user_embeddings(users) @ vectors.T, axis=1)]
    hits = [cold_world.item_topic[int(i)] == cold_world.user_topic[int(u)] for u, i in zip(users, best, strict=True)]
    assert np.mean(hits) > 0.8  # chance is 0.25 (four topics)


def test_early_stopping_stops_after_patience_and_keeps_the_best_epoch(world: World) -> None:
    """Scores 0.1, 0.3, 0.2, 0.25: with patience 2 training stops after epoch 4 and returns epoch 2's model."""
    scripted = iter([0.1, 0.3, 0.2, 0.25, 0.9, 0.9])
    seen: list[ModelArtifact] = []

    def validate(model: ModelArtifact) -> float:
        seen.append(model)
        return next(scripted)

    config = TINY.model_copy(update={"epochs": 6})
    model = train(world.interactions, world.items, world.users, config, validate=validate, patience=2)
    validation = model.metadata["train"]["validation"]
    assert validation == {"score_per_epoch": [0.1, 0.3, 0.2, 0.25], "best_epoch": 2, "patience": 2}
    assert len(model.metadata["train"]["loss_per_epoch"]) == 4
    assert np.array_equal(model.item_embeddings, seen[1].item_embeddings)


def test_the_choice_is_the_best_of_a_bounded_grid_and_is_fitted_on_all_rows(world: World) -> None:
    """One two-tower plus (EASE alone and each weight) per lambda, then the best with each popularity term; no more."""
    config = TINY.model_copy(update={"selection": SMALL_GRID})
    model = fit_model(world.interactions, world.items, world.users, config)
    selection = model.metadata["selection"]
    candidates = selection["candidates"]
    families = [c for c in candidates if c["popularity"] == 0]
    assert len(families) == 1 + 2 * (1 + 1) and len(candidates) == len(families) + 4  # popularity 0.5, 1, 2, 4
    assert {c["family"] for c in candidates} == {"two-tower", "ease", "ease+two-tower"}
    best = max(families, key=lambda c: c["score"])
    keys = ("family", "ease_lambda", "weight")
    assert all({k: c[k] for k in keys} == {k: best[k] for k in keys} for c in candidates if c["popularity"] > 0)
    winner = max(candidates, key=lambda c: c["score"])
    assert selection["chosen"] == {k: winner[k] for k in (*keys, "popularity")}
    assert model.metadata["family"] == winner["family"]
    assert model.metadata.get("popularity", {}).get("weight", 0.0) == winner["popularity"]
    assert 1 <= selection["epochs"] <= SMALL_GRID.max_epochs
    assert len(selection["epoch_scores"]) <= SMALL_GRID.max_epochs
    assert set(model.user_ids) == set(world.interactions["user_id"])  # refitted on every row, not the fit part


def test_one_family_can_be_required(world: World) -> None:
    """families=("two-tower",) tries the two-tower alone; validation none trains the pinned choice directly."""
    only = TINY.model_copy(update={"selection": SMALL_GRID.model_copy(update={"families": ("two-tower",)})})
    model = fit_model(world.interactions, world.items, world.users, only)
    assert {c["family"] for c in model.metadata["selection"]["candidates"]} == {"two-tower"}
    pinned = TINY.model_copy(update={"selection": Selection().pinned("ease", 100.0, 0.0)})
    model = fit_model(world.interactions, world.items, world.users, pinned)
    assert model.metadata["family"] == "ease" and model.metadata["blend"]["ease_lambda"] == 100.0
    assert model.metadata["selection"] == {
        "validation": "none",
        "chosen": {"family": "ease", "ease_lambda": 100.0, "weight": 0.0, "popularity": 0.0},
    }


def test_an_ambiguous_choice_without_validation_is_refused() -> None:
    """Nothing held out and several families: a clear error rather than a silent pick."""
    with pytest.raises(ValidationError, match="validation='none' trains one fixed choice"):
        TrainConfig(selection={"validation": "none"})
    with pytest.raises(ValidationError, match="ease_lambdas must be > 0"):
        Selection(ease_lambdas=(0.0,))


def test_the_search_trains_exactly_its_budget_of_trials_and_keeps_the_best(world: World) -> None:
    """search_trials=2: the configured model and two drawn ones, each within max_epochs; the best is fitted."""
    grid = SMALL_GRID.model_copy(update={"search_trials": 2, "families": ("two-tower",), "max_epochs": 2})
    model = fit_model(world.interactions, world.items, world.users, TINY.model_copy(update={"selection": grid}))
    selection = model.metadata["selection"]
    trials = selection["search"]
    assert [t["trial"] for t in trials] == [0, 1, 2]
    assert trials[0]["dim"] == TINY.dim and all(1 <= t["epochs"] <= 2 for t in trials)
    best = max(trials, key=lambda t: t["score"])
    assert selection["tuned"] == {k: v for k, v in best.items() if k in SPACE}
    assert model.metadata["params"]["dim"] == best["dim"]
    assert draw(TINY, 2, seed=0) == draw(TINY, 2, seed=0)  # every torchrun rank draws the same trials
