"""Input checking and featurisation: clear errors, leakage-proof feature cut, hard negatives."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from components.train.data import TrainingDataError, build
from components.train.trainer import train
from tests.unit.components.train.synthetic import World


def _frame(**columns: object) -> pd.DataFrame:
    base: dict[str, object] = {"user_id": [1, 1, 2], "item_id": [10, 11, 10], "ts": [1, 2, 3]}
    base.update(columns)
    return pd.DataFrame({k: v for k, v in base.items() if v is not None})


@pytest.mark.parametrize("missing", ["user_id", "item_id", "ts"])
def test_missing_column_is_named(missing: str) -> None:
    """A table without a required column fails with an error naming it."""
    with pytest.raises(TrainingDataError, match=missing):
        train(_frame(**{missing: None}))


def test_empty_table_is_refused() -> None:
    """An empty table fails with 'empty', not with an obscure tensor error."""
    with pytest.raises(TrainingDataError, match="empty"):
        train(_frame().iloc[:0])


def test_no_positives_is_refused() -> None:
    """A table of impressions without a single click cannot train a retrieval model."""
    with pytest.raises(TrainingDataError, match="no positives"):
        train(_frame(label=[0, 0, 0]))


def test_negative_weight_is_refused() -> None:
    """A negative weight is an input error."""
    with pytest.raises(TrainingDataError, match="weight"):
        train(_frame(weight=[1.0, -1.0, 1.0]))


def test_string_ids_are_refused() -> None:
    """Artifacts key by int64: ids that are not integers get a clear error."""
    with pytest.raises(TrainingDataError, match="user_id must be integers"):
        train(_frame(user_id=["a", "b", "c"]))


@pytest.mark.parametrize(
    ("columns", "positives", "negatives"),
    [
        ({"label": [1, 0, 2]}, 1, 2),  # label == 1; anything else was shown, not clicked
        ({"weight": [2.0, 0.0, 1.0]}, 2, 1),  # no label: weight > 0
        ({}, 3, 0),  # neither: every row
    ],
)
def test_positive_rule_matches_evaluation(columns: dict[str, list[float]], positives: int, negatives: int) -> None:
    """Positives are what evaluation counts (components.split.table.positive_mask); the rest are hard negatives."""
    data = build(_frame(**columns), None, None, use_items=False, use_users=False)
    assert data.rows["positives"] == positives
    assert data.rows["hard_negatives"] == negatives


def test_not_a_dataframe_is_refused() -> None:
    """Passing something else than a DataFrame says so."""
    with pytest.raises(TrainingDataError, match="DataFrame"):
        train([1, 2, 3])  # type: ignore[arg-type]


def test_feature_rows_after_the_window_are_ignored() -> None:
    """Feature rows dated after the last interaction cannot leak into training; the latest earlier row wins."""
    frame = _frame(ts=pd.to_datetime(["2025-01-01 00:00", "2025-01-02 00:00", "2025-01-02 12:00"], utc=True))
    items = pd.DataFrame(
        {
            "item_id": [10, 10, 10, 99],
            "date": pd.to_datetime(["2025-01-01", "2025-01-02", "2025-01-03", "2025-01-03"]).date,
            "creator_id": [5, 6, 7, 8],
        }
    )
    data = build(frame, items, None, use_items=True, use_users=True)
    assert 99 not in data.item_ids
    pos = int(np.flatnonzero(data.item_ids == 10)[0])
    assert data.creator_ids[data.item_creator[pos] - 1] == 6


def test_catalogue_includes_feature_only_items(world: World) -> None:
    """Items in the feature table but never shown join the catalogue with the 'no id' row (content only)."""
    extra = world.items.iloc[:1].assign(item_id=10**9)
    data = build(world.interactions, pd.concat([world.items, extra]), None, use_items=True, use_users=False)
    assert data.item_ids[-1] == 10**9
    assert data.id_rows(np.array([len(data.item_ids) - 1]))[0] == 0
    assert data.id_rows(np.array([0]))[0] == 1


def test_hard_negatives_come_from_the_same_user(world: World) -> None:
    """Every sampled hard negative is an item shown to that user with label 0."""
    data = build(world.interactions, None, None, use_items=False, use_users=False)
    rows = np.arange(len(data.pos_item))
    items, mask = data.sample_hard(rows, 3, np.random.default_rng(0))
    shown = world.interactions[world.interactions["label"] == 0].groupby("user_id")["item_id"].agg(set)
    users = data.user_ids[data.pos_user - 1]
    for r in rows[:200]:
        for k in range(3):
            if mask[r, k]:
                assert data.item_ids[items[r, k]] in shown[users[r]]
    assert mask.mean() > 0.8
