"""Splitting: temporal and random per-user splits keep every row once, in the right half."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from components.split.splitters import SplitConfig, holdout_counts, split_interactions
from components.split.table import InteractionsError, check_interactions, positive_mask, positive_rule


@st.composite
def interaction_frames(draw: st.DrawFn, max_rows: int = 80) -> pd.DataFrame:
    """Small tables: a few users, repeated items, tied timestamps, a unique ``row`` id per row."""
    n = draw(st.integers(1, max_rows))
    users = draw(st.lists(st.integers(0, 7), min_size=n, max_size=n))
    items = draw(st.lists(st.integers(0, 12), min_size=n, max_size=n))
    ts = draw(st.lists(st.integers(0, 20), min_size=n, max_size=n))
    return pd.DataFrame(
        {
            "user_id": np.asarray(users, dtype=np.int64),
            "item_id": np.asarray(items, dtype=np.int64),
            "ts": pd.to_datetime([t * 3600 for t in ts], unit="s", utc=True),
            "label": np.asarray([i % 3 == 0 for i in range(n)], dtype=np.int32),
            "row": np.arange(n),
        }
    )


def _assert_partition(frame: pd.DataFrame, train: pd.DataFrame, test: pd.DataFrame) -> None:
    """Every row lands in exactly one half, unchanged."""
    both = pd.concat([train, test]).sort_values("row").reset_index(drop=True)
    pd.testing.assert_frame_equal(both, frame.sort_values("row").reset_index(drop=True))


@settings(max_examples=50)
@given(interaction_frames(), st.sampled_from([0.5, 0.75, 0.8, 0.9]))
def test_temporal_split_puts_each_users_latest_rows_in_test(frame: pd.DataFrame, ratio: float) -> None:
    """Temporal: per user, every test ts >= every train ts; no row lost or duplicated."""
    train, test = split_interactions(frame, SplitConfig(by="temporal", ratio=ratio))
    _assert_partition(frame, train, test)
    for user, rows in test.groupby("user_id"):
        earlier = train.loc[train["user_id"] == user, "ts"]
        assert len(earlier) and rows["ts"].min() >= earlier.max()


@settings(max_examples=50)
@given(interaction_frames(), st.sampled_from(["temporal", "random"]), st.integers(0, 3))
def test_per_user_counts_follow_the_rule(frame: pd.DataFrame, by: Any, seed: int) -> None:
    """Both methods: a user with n rows has holdout_counts(n) test rows; single-row users stay in train."""
    config = SplitConfig(by=by, ratio=0.75, seed=seed)
    train, test = split_interactions(frame, config)
    _assert_partition(frame, train, test)
    sizes = frame.groupby("user_id").size()
    expected = pd.Series(holdout_counts(sizes.to_numpy(), 0.75).tolist(), index=sizes.index)
    observed = test.groupby("user_id").size().reindex(sizes.index, fill_value=0)
    pd.testing.assert_series_equal(observed, expected, check_names=False, check_dtype=False)
    assert set(sizes[sizes == 1].index).isdisjoint(test["user_id"])


@settings(max_examples=50)
@given(interaction_frames(), st.integers(0, 1000))
def test_random_split_is_deterministic_by_seed(frame: pd.DataFrame, seed: int) -> None:
    """The same seed on the same table gives the same halves."""
    config = SplitConfig(by="random", ratio=0.75, seed=seed)
    first, second = split_interactions(frame, config), split_interactions(frame, config)
    pd.testing.assert_frame_equal(first[1], second[1])


@pytest.mark.parametrize("seed", [0, 1, 7])
def test_random_split_ratio_within_tolerance(seed: int) -> None:
    """On 500 users x 40 rows, the test share is 25% +- 1% and seeds differ."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "user_id": np.repeat(np.arange(500), 40),
            "item_id": rng.integers(0, 300, 20_000),
            "ts": rng.integers(0, 10**6, 20_000),
        }
    )
    _, test = split_interactions(frame, SplitConfig(by="random", ratio=0.75, seed=seed))
    assert abs(len(test) / len(frame) - 0.25) <= 0.01
    _, other = split_interactions(frame, SplitConfig(by="random", ratio=0.75, seed=seed + 100))
    assert not test.equals(other)


def test_holdout_counts_by_hand() -> None:
    """n=1 -> 0; n>=2 -> round((1 - ratio) * n), at least 1 and at most n - 1."""
    sizes = np.array([1, 2, 3, 5, 10, 11, 100])
    assert holdout_counts(sizes, 0.8).tolist() == [0, 1, 1, 1, 2, 2, 20]
    assert holdout_counts(sizes, 0.1).tolist() == [0, 1, 2, 4, 9, 10, 90]


def test_temporal_ties_keep_table_order() -> None:
    """Rows of a user with equal ts are ordered by their position in the table (stable)."""
    frame = pd.DataFrame({"user_id": [1] * 5, "item_id": [10, 11, 12, 13, 14], "ts": [0, 5, 5, 5, 5]})
    _, test = split_interactions(frame, SplitConfig(ratio=0.6))
    assert test["item_id"].tolist() == [13, 14]


def test_any_id_type_splits() -> None:
    """String ids (any data set) split as well as integers."""
    frame = pd.DataFrame({"user_id": ["a", "a", "b", "b", "b"], "item_id": list("xyzxy"), "ts": [1, 2, 1, 2, 3]})
    train, test = split_interactions(frame)
    assert sorted(test["user_id"]) == ["a", "b"]
    assert len(train) == 3


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (pd.DataFrame({"user_id": [1], "ts": [1]}), "missing column(s) item_id"),
        (pd.DataFrame({"user_id": [], "item_id": [], "ts": []}), "no rows"),
        (pd.DataFrame({"user_id": [1, None], "item_id": [1, 2], "ts": [1, 2]}), "user_id has 1 null"),
    ],
)
def test_bad_tables_raise_clear_errors(frame: pd.DataFrame, message: str) -> None:
    """Missing columns, an empty table and null keys are InteractionsError naming the problem."""
    with pytest.raises(InteractionsError, match=message.replace("(", r"\(").replace(")", r"\)")):
        split_interactions(frame)


def test_bad_config_is_rejected() -> None:
    """Ratios outside (0, 1), unknown methods and unknown fields fail validation."""
    for bad in ({"ratio": 1.0}, {"ratio": 0.0}, {"by": "global"}, {"stratify": True}):
        with pytest.raises(ValueError):
            SplitConfig.model_validate(bad)


def test_positive_rule() -> None:
    """Positives: label == 1, else weight > 0, else every row."""
    labelled = pd.DataFrame({"user_id": [1, 1], "item_id": [1, 2], "ts": [1, 2], "label": [0, 1], "weight": [1.0, 2.0]})
    weighted = labelled.drop(columns="label").assign(weight=[0.0, 0.5])
    plain = labelled.drop(columns=["label", "weight"])
    assert positive_mask(labelled).tolist() == [False, True] and positive_rule(labelled) == "label == 1"
    assert positive_mask(weighted).tolist() == [False, True] and positive_rule(weighted) == "weight > 0"
    assert positive_mask(plain).tolist() == [True, True] and positive_rule(plain) == "every row"
    check_interactions(labelled)
