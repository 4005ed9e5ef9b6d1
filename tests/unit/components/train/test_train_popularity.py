"""The popularity term: one more dimension on any family, neutral for new items, picked on held-out rows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from components.train.artifact import ModelArtifact, load_model, save_model
from components.train.blend import blend, fit_ease_factors
from components.train.config import Selection
from components.train.families import fit_model
from components.train.popularity import item_popularity, with_popularity
from tests.unit.components.train.conftest import TINY
from tests.unit.components.train.synthetic import World


def test_item_popularity_is_the_standardised_log_of_positives() -> None:
    """Items 1, 2, 3 with 3, 1, 0 positives (negatives ignored): z of log(1 + count)."""
    frame = pd.DataFrame({"user_id": [1, 2, 3, 1, 2], "item_id": [1, 1, 1, 2, 3], "label": [1, 1, 1, 1, 0]})
    logs = np.log1p([3.0, 1.0, 0.0])
    assert np.allclose(item_popularity(frame, np.array([1, 2, 3])), (logs - logs.mean()) / logs.std())
    assert np.array_equal(item_popularity(frame.iloc[[3]], np.array([2])), np.zeros(1))  # all alike: no term


@pytest.mark.parametrize("family", ["two-tower", "ease+two-tower"])
def test_the_term_adds_weight_times_spread_times_popularity_and_new_items_get_none(
    world: World, trained: ModelArtifact, tmp_path: Path, family: str
) -> None:
    """Known items move by weight * spread * z; an item embedded from content gets 0 there (saved and loaded)."""
    base = trained
    if family != "two-tower":
        factors = fit_ease_factors(world.interactions, trained.user_ids, trained.item_ids, lam=50, max_items=60, rank=8)
        base = blend(trained, factors, 1.0)
    model = load_model(save_model(with_popularity(base, world.interactions, 2.0), tmp_path / "m"))
    spread = model.metadata["popularity"]["spread"]
    assert model.metadata["popularity"]["weight"] == 2.0 and spread > 0 and model.dim == base.dim + 1
    assert model.metadata["embedding"]["dim"] == model.dim and model.version != base.version
    z = item_popularity(world.interactions, base.item_ids)
    users = base.user_ids[:15]
    assert np.allclose(model.score(users), base.score(users) + 2.0 * spread * z[None, :], atol=1e-4)
    new = model.embed_items(world.items.head(5))
    assert np.allclose(new[:, :-1], base.embed_items(world.items.head(5)), atol=1e-5) and not new[:, -1].any()
    assert np.allclose(model.user_embeddings([-1]), np.append(base.user_embeddings([-1]), 1.0))
    assert with_popularity(base, world.interactions, 0.0) is base
    with pytest.raises(ValueError, match="popularity weight must be >= 0"):
        with_popularity(base, world.interactions, -1.0)


def _appeal_world(seed: int = 0) -> pd.DataFrame:
    """Users alike, items not: each of 400 users clicks 4 of 60 items drawn by a steep appeal, and skips 8."""
    rng = np.random.default_rng(seed)
    appeal = 1.0 / np.arange(1, 61) ** 1.2
    rows = []
    for user in range(1, 401):
        rows += [(user, int(i), 1) for i in rng.choice(60, size=4, replace=False, p=appeal / appeal.sum()) + 1]
        rows += [(user, int(i), 0) for i in rng.choice(60, size=8) + 1]
    frame = pd.DataFrame(rows, columns=["user_id", "item_id", "label"])
    frame["ts"] = pd.Timestamp("2025-01-01", tz="UTC") + pd.to_timedelta(rng.uniform(0, 86400, len(frame)), unit="s")
    return frame


def test_where_only_appeal_matters_training_picks_a_popularity_term() -> None:
    """On logs with no user signal the held-out rows favour the term, and the served model ranks by appeal."""
    frame = _appeal_world()
    selection = Selection(families=("two-tower",), max_epochs=2, k=5)
    model = fit_model(frame, None, None, TINY.model_copy(update={"use_user_features": False, "selection": selection}))
    chosen = model.metadata["selection"]["chosen"]
    assert chosen["popularity"] > 0, model.metadata["selection"]["candidates"]
    top = model.item_ids[np.argsort(-model.score(model.user_ids[:50]), axis=1)[:, :5]]
    assert np.isin(top, np.arange(1, 11)).mean() > 0.97  # the ten most appealing fill the top five (0.90 without)
