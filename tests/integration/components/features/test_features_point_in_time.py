"""Point-in-time correctness of training sets: no feature value from after a label's timestamp leaks in."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any, cast

import pandas as pd
import pytest

from components.features.errors import EntityFrameError
from components.features.repo import FeatureRepo
from components.features.synthetic import marker, stamp_of
from components.features.training import training_set
from tests.integration.components.features.conftest import ITEMS, STAMPS, USERS, creator_of

T1, T2, T3 = STAMPS
US = timedelta(microseconds=1)

USER = "user_features__impressions_7d"
ITEM = "item_features__clicks_7d"
CREATOR = "creator_features__catalogue_items"


def expected_stamp(label: datetime, ttl: timedelta) -> int | None:
    """The stamp of the latest row at or before ``label`` and no older than ``ttl``; None if there is none."""
    valid = [k for k, stamp in enumerate(STAMPS) if label - ttl <= stamp <= label]
    return max(valid) if valid else None


def frame(rows: list[tuple[int, int, datetime]]) -> pd.DataFrame:
    """An entity frame of (user_id, item_id, event_timestamp) rows with a running label column."""
    data = pd.DataFrame(rows, columns=["user_id", "item_id", "event_timestamp"])
    data["label"] = range(len(data))
    return data


def test_each_value_is_the_latest_at_or_before_the_label(applied: FeatureRepo) -> None:
    """Labels between, at and around the three days' rows get the latest row at or before them, never a later one."""
    ttl = applied.definitions.view("user_features").ttl
    cases = [
        (T1 - timedelta(hours=1), None),  # before any row
        (T1, 0),  # exactly at day 1's row: it is known
        (T1 + timedelta(hours=5), 0),
        (T2 - US, 0),  # a microsecond before day 2's row: still day 1
        (T2, 1),
        (T2 + timedelta(hours=12), 1),
        (T3 - US, 1),
        (T3 + timedelta(hours=1), 2),
        (T3 + ttl, 2),  # the row is exactly as old as the TTL allows
        (T3 + ttl + US, None),  # older than the TTL: not served
    ]
    labels = frame([(2, 11, at) for at, _ in cases])
    out = training_set(applied, labels)
    assert list(out["label"]) == list(labels["label"])
    for (at, want), user, item, creator in zip(cases, out[USER], out[ITEM], out[CREATOR], strict=True):
        for value in (user, item, creator):
            if want is None:
                assert pd.isna(value), f"label at {at}: expected no feature, got {value}"
            else:
                assert stamp_of(value) == want, f"label at {at}: got day {stamp_of(value) + 1}, want {want + 1}"
                assert STAMPS[stamp_of(value)] <= at, "a feature row from after the label leaked in"
    assert out.loc[2, USER] == marker(2, 0) and out.loc[4, ITEM] == marker(11, 1)


def test_matches_a_reference_as_of_join(applied: FeatureRepo) -> None:
    """For random labels, every view's value is the one a plain as-of join with the TTL picks."""
    ttl = applied.definitions.view("user_features").ttl
    rng = random.Random(3)
    span = int((T3 - T1 + timedelta(days=4)).total_seconds())
    rows = [
        (rng.choice(USERS), rng.choice(ITEMS), T1 - timedelta(days=1) + timedelta(seconds=rng.randrange(span)))
        for _ in range(150)
    ]
    out = training_set(applied, frame(rows))
    assert len(out) == len(rows)
    for (user, item, at), got in zip(rows, out.to_dict("records"), strict=True):
        want = expected_stamp(at, ttl)
        row: dict[Any, Any] = got
        if want is None:
            assert pd.isna(row[USER]) and pd.isna(row[ITEM]) and pd.isna(row[CREATOR])
            continue
        assert row[USER] == marker(user, want)
        assert row[ITEM] == marker(item, want)
        assert row["item_features__creator_id"] == creator_of(item)
        assert row[CREATOR] == marker(creator_of(item), want)
        assert row["user_features__ctr_7d"] == marker(user, want) + 0.5
        assert list(row["user_features__content_profile"])[:2] == [float(marker(user, want))] * 2


def test_rows_sharing_a_user_and_time_are_all_kept_in_order(applied: FeatureRepo) -> None:
    """A slate (one user, one time, several items) keeps one row per item, in the frame's order."""
    at = T2 + timedelta(hours=3)
    rows = [(3, item, at) for item in (14, 10, 12)] + [(1, 10, T1 - timedelta(hours=2)), (3, 14, at)]
    out = training_set(applied, frame(rows))
    assert list(out["item_id"]) == [14, 10, 12, 10, 14]
    assert list(out["label"]) == [0, 1, 2, 3, 4]
    assert list(out[ITEM].iloc[:3]) == [marker(14, 1), marker(10, 1), marker(12, 1)]
    assert pd.isna(cast(Any, out.loc[3, USER]))


def test_views_can_be_chosen(applied: FeatureRepo) -> None:
    """Only the named views' columns are joined; a frame with only user_id gets user features."""
    out = training_set(applied, frame([(1, 10, T3)])[["user_id", "event_timestamp"]], views=["user_features"])
    assert [c for c in out.columns if "__" in c] == [
        f"user_features__{n}" for n in applied.definitions.view("user_features").feature_names
    ]


def test_a_frame_without_keys_or_times_is_rejected(applied: FeatureRepo) -> None:
    """Missing timestamps, missing keys and unusable timestamps raise EntityFrameError with the reason."""
    good = frame([(1, 10, T3)])
    with pytest.raises(EntityFrameError, match="event_timestamp"):
        training_set(applied, good.drop(columns=["event_timestamp"]))
    with pytest.raises(EntityFrameError, match="none of the join keys"):
        training_set(applied, good[["event_timestamp", "label"]])
    with pytest.raises(EntityFrameError, match="not timestamps"):
        training_set(applied, good.assign(event_timestamp="not a time"))
