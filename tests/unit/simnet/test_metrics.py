"""Tests for :mod:`simnet.metrics`: hand-computed cases, edge cases and properties."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from simnet.concentration import activity_top_share, gini, top_share
from simnet.metrics import (
    DAY_METRIC_KEYS,
    arm_metrics,
    coverage,
    ctr,
    ctr_by_position,
    day_metrics,
)
from simnet.protocol import EVENT_SCHEMA, IMAGE_SIZE
from simnet.retention import overall_retention, retention_curve, retention_table
from tests.strategies import (
    event_tables,
    fractions,
    nonneg_arrays,
    positive_scales,
    retention_inputs,
)

TS = datetime(2026, 1, 1, 12, tzinfo=UTC)


def _events(rows: list[dict[str, Any]]) -> pa.Table:
    """An EVENT_SCHEMA table from partial rows; event_id and ts are filled in."""
    full = [{"event_id": f"e{i}", "ts": TS, **row} for i, row in enumerate(rows)]
    return pa.Table.from_pylist(full, schema=EVENT_SCHEMA)


def _imp(user: int, item: int, req: str | None, pos: int | None, arm: str | None = None) -> dict[str, Any]:
    return {
        "user_id": user,
        "type": "impression",
        "item_id": item,
        "request_id": req,
        "position": pos,
        "arm": arm,
    }


def _slate(kind: str, user: int, item: int, req: str, pos: int, **extra: Any) -> dict[str, Any]:
    return {"user_id": user, "type": kind, "item_id": item, "request_id": req, "position": pos, **extra}


# --------------------------------------------------------------------------- gini


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([0, 0, 0, 1], 0.75),  # one holder of 4: (n - 1) / n
        ([1, 2, 3, 4], 0.25),  # cumsums 1,3,6,10: (5 - 2*20/10) / 4
        ([3, 1], 0.25),  # order does not matter: (3 - 2*5/4) / 2
        ([5, 5, 5], 0.0),
        ([7], 0.0),
        ([[0, 1], [0, 0]], 0.75),  # flattened
    ],
)
def test_gini_hand_computed(values: Any, expected: float) -> None:
    """gini matches the population formula worked out by hand."""
    assert gini(values) == pytest.approx(expected)


def test_gini_accepts_arrow_arrays() -> None:
    """gini of an Arrow array equals gini of the same list ([0, 0, 0, 1] -> 0.75)."""
    assert gini(pa.array([0, 0, 0, 1])) == pytest.approx(0.75)
    assert gini(pa.chunked_array([[0, 0], [0, 1]])) == pytest.approx(0.75)


@pytest.mark.parametrize("values", [[], [0], [0, 0, 0], np.zeros(0)])
def test_gini_empty_or_all_zero_is_zero(values: Any) -> None:
    """Empty and all-zero inputs have Gini 0.0."""
    assert gini(values) == 0.0


@pytest.mark.parametrize("values", [[1, -1], [-0.5], [1.0, math.nan], [math.inf, 1.0]])
def test_gini_rejects_negative_and_non_finite(values: list[float]) -> None:
    """Negative, NaN and infinite values raise ValueError."""
    with pytest.raises(ValueError):
        gini(values)


def test_gini_rejects_arrow_nulls() -> None:
    """An Arrow null is not a zero: it raises ValueError."""
    with pytest.raises(ValueError):
        gini(pa.array([1, None, 2]))


@given(nonneg_arrays())
def test_gini_in_unit_interval(values: npt.NDArray[Any]) -> None:
    """gini lies in [0, 1) for any non-negative input."""
    g = gini(values)
    assert 0.0 <= g < 1.0


@given(nonneg_arrays(min_size=1), st.data())
def test_gini_permutation_invariant(values: npt.NDArray[Any], data: st.DataObject) -> None:
    """gini does not depend on the order of the values."""
    order = data.draw(st.permutations(range(values.size)))
    assert gini(values[list(order)]) == gini(values)


@given(nonneg_arrays(), positive_scales())
def test_gini_scale_invariant(values: npt.NDArray[Any], scale: float) -> None:
    """gini(c * x) == gini(x) for any positive constant c."""
    assert gini(values * scale) == pytest.approx(gini(values), abs=1e-9)


@given(st.integers(1, 200), st.floats(min_value=1e-6, max_value=1e6))
def test_gini_constant_vector_is_zero(n: int, value: float) -> None:
    """A vector with every entry equal has Gini 0."""
    assert gini(np.full(n, value)) == pytest.approx(0.0, abs=1e-9)


@given(st.integers(1, 200))
def test_gini_single_holder(n: int) -> None:
    """One non-zero entry among n gives the maximum (n - 1) / n."""
    values = np.zeros(n)
    values[-1] = 3.0
    assert gini(values) == pytest.approx((n - 1) / n)


# --------------------------------------------------------------------------- top share


@pytest.mark.parametrize(
    ("values", "fraction", "expected"),
    [
        ([1, 1, 1, 1, 6], 0.2, 0.6),  # k = 1: 6 / 10
        ([1, 2, 3, 4], 0.5, 0.7),  # k = 2: (4 + 3) / 10
        ([1, 2, 3, 4], 0.1, 0.4),  # k = ceil(0.4) = 1: 4 / 10
        ([4, 3, 2, 1], 0.26, 0.7),  # k = ceil(1.04) = 2
        ([1, 2, 3, 4], 1.0, 1.0),
        ([1, 2, 3, 4], 0.0, 0.0),
    ],
)
def test_top_share_hand_computed(values: list[int], fraction: float, expected: float) -> None:
    """top_share sums the ceil(fraction * n) largest entries over the total."""
    assert top_share(values, fraction) == pytest.approx(expected)


def test_top_share_default_fraction_survives_float_rounding() -> None:
    """With 30 entries the default 10% is exactly 3 entries (0.1 * 30 is 3.0000000000000004 in floats)."""
    values = [1] * 27 + [10, 10, 10]  # total 57; top 3 hold 30, top 4 would hold 31
    assert top_share(values) == pytest.approx(30 / 57)


@pytest.mark.parametrize("values", [[], [0, 0, 0]])
def test_top_share_empty_or_zero_total_is_zero(values: list[int]) -> None:
    """Empty input and a zero total give 0.0."""
    assert top_share(values, 0.5) == 0.0


@pytest.mark.parametrize(("values", "fraction"), [([1, 2], -0.1), ([1, 2], 1.5), ([], 2.0), ([1, -2], 0.5)])
def test_top_share_rejects_bad_input(values: list[int], fraction: float) -> None:
    """A fraction outside [0, 1] (even for empty input) or a negative value raises ValueError."""
    with pytest.raises(ValueError):
        top_share(values, fraction)


@given(nonneg_arrays(), fractions(), fractions())
def test_top_share_monotone_and_bounded(values: npt.NDArray[Any], f1: float, f2: float) -> None:
    """top_share is in [0, 1] and non-decreasing in the fraction."""
    lo, hi = sorted((f1, f2))
    a, b = top_share(values, lo), top_share(values, hi)
    assert 0.0 <= a <= 1.0
    assert 0.0 <= b <= 1.0
    assert a <= b + 1e-12


@given(nonneg_arrays(min_size=1), fractions())
def test_top_share_at_least_its_headcount(values: npt.NDArray[Any], fraction: float) -> None:
    """The top k of n entries hold at least k / n of a positive total."""
    if values.sum() <= 0:
        return
    k = math.ceil(round(fraction * values.size, 9))
    assert top_share(values, fraction) >= k / values.size - 1e-9


def test_activity_top_share_defaults_to_top_fifth() -> None:
    """Of 10 users with sessions [1]*8 + [4, 8], the top 2 users hold 12 of 20 sessions."""
    sessions = [1] * 8 + [4, 8]
    assert activity_top_share(sessions) == pytest.approx(0.6)
    assert activity_top_share(sessions, 0.1) == pytest.approx(0.4)


# --------------------------------------------------------------------------- coverage and ctr


def test_coverage_hand_computed() -> None:
    """Distinct ids over the catalog: {1, 2, 3} of 10 is 0.3; nulls and NaN are ignored."""
    assert coverage([3, 1, 3, 2], 10) == pytest.approx(0.3)
    assert coverage(np.array([3, 1, 3, 2]), 3) == pytest.approx(1.0)
    assert coverage(pa.array([1, None, 1, 2]), 4) == pytest.approx(0.5)
    assert coverage(pa.chunked_array([[1, 2], [2, None]]), 4) == pytest.approx(0.5)
    assert coverage([1.0, math.nan, 1.0], 2) == pytest.approx(0.5)


def test_coverage_edges() -> None:
    """Nothing exposed gives 0.0, including an empty catalog."""
    assert coverage([], 0) == 0.0
    assert coverage([], 5) == 0.0
    assert coverage(pa.array([], pa.int64()), 0) == 0.0


@pytest.mark.parametrize(("ids", "size"), [([1], -1), ([1, 2, 3], 2), ([1], 0)])
def test_coverage_rejects_bad_catalog_size(ids: list[int], size: int) -> None:
    """A negative catalog size, or more distinct ids than the catalog holds, raises ValueError."""
    with pytest.raises(ValueError):
        coverage(ids, size)


def test_ctr_hand_computed() -> None:
    """5 clicks on 200 impressions is 0.025; no impressions gives 0.0."""
    assert ctr(200, 5) == pytest.approx(0.025)
    assert ctr(4, 4) == 1.0
    assert ctr(0, 0) == 0.0
    assert ctr(0, 3) == 0.0


@pytest.mark.parametrize(("impressions", "clicks"), [(-1, 0), (10, -1)])
def test_ctr_rejects_negative(impressions: int, clicks: int) -> None:
    """Negative counts raise ValueError."""
    with pytest.raises(ValueError):
        ctr(impressions, clicks)


# --------------------------------------------------------------------------- position and arms


def test_ctr_by_position_hand_computed() -> None:
    """Impressions 3/2/1 and clicks 1/1/0 at positions 0/1/2 give [1/3, 1/2, 0]; null positions ignored."""
    table = _events(
        [
            _imp(1, 10, "r1", 0),
            _imp(1, 11, "r1", 1),
            _imp(1, 12, "r1", 2),
            _imp(2, 10, "r2", 0),
            _imp(2, 11, "r2", 1),
            _imp(3, 10, "r3", 0),
            _imp(3, 13, "r3", None),  # no position: ignored
            _slate("click", 1, 10, "r1", 0),
            _slate("click", 2, 11, "r2", 1),
            _slate("like", 2, 11, "r2", 1),  # not a click
            {"user_id": 4, "type": "signup"},
        ]
    )
    np.testing.assert_allclose(ctr_by_position(table), [1 / 3, 1 / 2, 0.0])


def test_ctr_by_position_gap_is_nan() -> None:
    """A position with no impressions is NaN (undefined), not 0."""
    table = _events([_imp(1, 10, "r1", 0), _imp(1, 11, "r1", 2), _slate("click", 1, 11, "r1", 2)])
    np.testing.assert_allclose(ctr_by_position(table), [0.0, math.nan, 1.0])


def test_ctr_by_position_empty() -> None:
    """No positioned impressions or clicks gives an empty array."""
    assert ctr_by_position(_events([])).shape == (0,)
    assert ctr_by_position(_events([{"user_id": 1, "type": "signup"}])).shape == (0,)


def test_arm_metrics_hand_computed() -> None:
    """Per arm: distinct users with impressions, impressions, clicks and CTR, sorted by arm.

    Arm a: users 1 (3 impressions, 1 click) and 2 (1 impression), plus a click by user 3
    who saw nothing in a: users 2, impressions 4, clicks 2, ctr 0.5. Arm b: user 3 with
    2 impressions and no click: ctr 0. Arm c: a lone click: users 0, ctr 0. The null-arm
    impression is ignored.
    """
    table = _events(
        [
            _imp(3, 1, "r3", 0, "b"),
            _imp(1, 1, "r1", 0, "a"),
            _imp(1, 2, "r1", 1, "a"),
            _imp(1, 3, "r1", 2, "a"),
            _imp(2, 1, "r2", 0, "a"),
            _imp(3, 2, "r3", 1, "b"),
            _imp(4, 2, "r4", 0, None),
            _slate("click", 1, 1, "r1", 0, arm="a"),
            _slate("click", 3, 1, "rx", 0, arm="a"),
            _slate("click", 5, 1, "ry", 0, arm="c"),
            _slate("like", 1, 1, "r1", 0, arm="a"),
        ]
    )
    expected = pd.DataFrame(
        {
            "arm": ["a", "b", "c"],
            "users": np.array([2, 1, 0], dtype=np.int64),
            "impressions": np.array([4, 2, 0], dtype=np.int64),
            "clicks": np.array([2, 0, 1], dtype=np.int64),
            "ctr": [0.5, 0.0, 0.0],
        }
    )
    pd.testing.assert_frame_equal(arm_metrics(table), expected)


def test_arm_metrics_empty() -> None:
    """Without armed impressions or clicks the frame is empty but has the columns."""
    out = arm_metrics(_events([_imp(1, 1, "r1", 0, None)]))
    assert out.empty
    assert list(out.columns) == ["arm", "users", "impressions", "clicks", "ctr"]


# --------------------------------------------------------------------------- retention

# Cohort 0: users 1-4; cohort 2: users 5, 6. last_day = 3.
# Day 1: users 1, 2 active -> cohort 0 d1 = 2/4. Day 2: users 1, 3 -> cohort 0 d2 = 2/4.
# Day 3: users 5, 6 -> cohort 2 d1 = 2/2. Cohort 2 d2 is day 4 > 3: NaN. d7: NaN for both.
SIGNUPS = pd.DataFrame({"user_id": [1, 2, 3, 4, 5, 6], "day": [0, 0, 0, 0, 2, 2]})
ACTIVITY = pd.DataFrame(
    {
        "user_id": [1, 1, 1, 1, 2, 3, 5, 5, 6, 6, 99],
        "day": [0, 1, 1, 2, 1, 2, 2, 3, 3, 4, 1],  # user 1 twice on day 1; 99 never signed up
    }
)


def test_retention_table_two_cohorts() -> None:
    """Two cohorts with hand-computed d1, d2 and NaN where cohort + h > last_day."""
    table = retention_table(SIGNUPS, ACTIVITY, last_day=3, horizons=(1, 2, 7))
    expected = pd.DataFrame(
        {
            "cohort": np.array([0, 2], dtype=np.int64),
            "size": np.array([4, 2], dtype=np.int64),
            "d1": [0.5, 1.0],
            "d2": [0.5, math.nan],
            "d7": [math.nan, math.nan],
        }
    )
    pd.testing.assert_frame_equal(table, expected)


def test_retention_table_default_horizons() -> None:
    """The default horizons are 1 and 7."""
    table = retention_table(SIGNUPS, ACTIVITY, last_day=3)
    assert list(table.columns) == ["cohort", "size", "d1", "d7"]


def test_retention_table_uses_first_signup() -> None:
    """A user who signs up twice belongs to the cohort of the first signup only."""
    signups = pd.concat([SIGNUPS, pd.DataFrame({"user_id": [1], "day": [2]})], ignore_index=True)
    table = retention_table(signups, ACTIVITY, last_day=3, horizons=(1, 2, 7))
    assert table["size"].tolist() == [4, 2]
    assert table["d1"].tolist() == [0.5, 1.0]


def test_retention_table_empty() -> None:
    """No signups gives an empty table with the expected columns."""
    empty = pd.DataFrame({"user_id": pd.Series([], dtype=np.int64), "day": pd.Series([], dtype=np.int64)})
    table = retention_table(empty, ACTIVITY, last_day=3)
    assert table.empty
    assert list(table.columns) == ["cohort", "size", "d1", "d7"]
    assert overall_retention(table, 1) is None


@pytest.mark.parametrize("horizons", [(-1,), (1, 1)])
def test_retention_table_rejects_bad_horizons(horizons: tuple[int, ...]) -> None:
    """Negative or repeated horizons raise ValueError."""
    with pytest.raises(ValueError):
        retention_table(SIGNUPS, ACTIVITY, last_day=3, horizons=horizons)


def test_overall_retention_weights_by_size() -> None:
    """d1 pools both cohorts: (4 * 0.5 + 2 * 1.0) / 6; d2 only cohort 0; d7 nowhere observable."""
    table = retention_table(SIGNUPS, ACTIVITY, last_day=3, horizons=(1, 2, 7))
    assert overall_retention(table, 1) == pytest.approx(4 / 6)
    assert overall_retention(table, 2) == pytest.approx(0.5)
    assert overall_retention(table, 7) is None
    with pytest.raises(KeyError):
        overall_retention(table, 3)


def test_retention_curve_hand_computed() -> None:
    """Cohort 0 over days 0..3 is [1/4, 2/4, 2/4, 0]; cohort 2 over days 2..3 is [1/2, 2/2]."""
    np.testing.assert_allclose(retention_curve(SIGNUPS, ACTIVITY, 0, 3), [0.25, 0.5, 0.5, 0.0])
    np.testing.assert_allclose(retention_curve(SIGNUPS, ACTIVITY, 2, 3), [0.5, 1.0])


def test_retention_curve_edges() -> None:
    """A cohort after last_day gives an empty curve; an empty cohort gives NaN."""
    assert retention_curve(SIGNUPS, ACTIVITY, 5, 3).shape == (0,)
    curve = retention_curve(SIGNUPS, ACTIVITY, 1, 3)
    assert curve.shape == (3,)
    assert np.isnan(curve).all()


@given(retention_inputs(), st.lists(st.integers(0, 10), min_size=1, max_size=3, unique=True))
def test_retention_fractions_in_unit_interval(
    inputs: tuple[pd.DataFrame, pd.DataFrame, int], horizons: list[int]
) -> None:
    """Every d{h} is in [0, 1] where observable and NaN exactly where cohort + h > last_day."""
    signups, activity, last_day = inputs
    table = retention_table(signups, activity, last_day, horizons)
    assert table["size"].sum() == signups["user_id"].nunique()
    for h in horizons:
        values = table[f"d{h}"].to_numpy()
        unobservable = table["cohort"].to_numpy() + h > last_day
        assert np.isnan(values[unobservable]).all()
        observed = values[~unobservable]
        assert ((observed >= 0) & (observed <= 1)).all()
        pooled = overall_retention(table, h)
        assert pooled is None or 0.0 <= pooled <= 1.0


@given(retention_inputs())
def test_retention_curve_agrees_with_table(inputs: tuple[pd.DataFrame, pd.DataFrame, int]) -> None:
    """Entry h of a cohort's curve is in [0, 1] and equals that cohort's d{h}."""
    signups, activity, last_day = inputs
    table = retention_table(signups, activity, last_day, horizons=range(0, last_day + 1))
    for i, cohort in enumerate(table["cohort"].tolist()):
        curve = retention_curve(signups, activity, cohort, last_day)
        assert curve.shape == (max(last_day - cohort + 1, 0),)
        assert ((curve >= 0) & (curve <= 1)).all()
        for h, value in enumerate(curve):
            assert value == pytest.approx(table[f"d{h}"].iloc[i])


# --------------------------------------------------------------------------- day metrics


def _day_fixture() -> pa.Table:
    """21 events over a catalog of 10 items (see test_day_metrics_hand_computed)."""
    create = {"type": "create", "text": "hello", "image": [7] * IMAGE_SIZE}
    return _events(
        [
            _imp(1, 0, "r1", 0, "a"),
            _imp(1, 1, "r1", 1, "a"),
            _imp(1, 2, "r1", 2, "a"),
            _slate("click", 1, 0, "r1", 0),
            _slate("dwell", 1, 0, "r1", 0, dwell_ms=1000),
            _slate("like", 1, 0, "r1", 0),
            _imp(2, 0, "r2", 0),
            _imp(2, 3, "r2", 1),
            _slate("click", 2, 3, "r2", 1),
            _slate("dwell", 2, 3, "r2", 1, dwell_ms=3000),
            _slate("share", 2, 3, "r2", 1),
            _imp(2, 0, "r3", 0),
            _imp(2, 1, "r3", 1),
            _slate("click", 2, 0, "r3", 0),
            {"user_id": 3, "item_id": 9, **create},
            {"user_id": 3, "type": "follow", "item_id": 3},
            {"user_id": 4, "type": "signup"},
            {"user_id": 5, "type": "churn"},
            {"user_id": 3, "item_id": 8, **create},
            _imp(4, 4, None, None),  # an impression without request_id: not a slate
            _slate("dwell", 2, 0, "r3", 0, dwell_ms=2000),
        ]
    )


DAY_EXPECTED: dict[str, float | int] = {
    "events": 21,
    "dau": 3,  # users 1, 2, 4 have impressions
    "impressions": 8,
    "clicks": 3,
    "likes": 1,
    "shares": 1,
    "follows": 1,
    "creates": 2,
    "signups": 1,
    "churns": 1,
    "slates": 3,  # r1, r2, r3; the null request_id does not count
    "ctr": 3 / 8,
    "engagement_per_active_user": (3 + 1 + 1) / 3,
    "slates_per_active_user": 3 / 3,
    "mean_dwell_ms": (1000 + 3000 + 2000) / 3,
    "creators": 1,  # user 3 created twice
    "coverage": 5 / 10,  # items 0-4 impressed
    # impressions per item over the catalog, sorted: [0]*5 + [1, 1, 1, 2, 3]; cumsums sum to 19
    "exposure_gini": (11 - 2 * 19 / 8) / 10,  # 0.625
    # clicks per item: [0]*8 + [1, 2]; cumsums sum to 4
    "click_gini": (11 - 2 * 4 / 3) / 10,  # 5/6
    "click_top10_share": 2 / 3,  # top ceil(0.1 * 10) = 1 item holds 2 of 3 clicks
}


def test_day_metrics_hand_computed() -> None:
    """Every field of day_metrics on a 21-row hand-built day."""
    out = day_metrics(_day_fixture(), catalog_size=10)
    assert tuple(out) == DAY_METRIC_KEYS
    assert out == pytest.approx(DAY_EXPECTED)
    for key, value in out.items():
        assert type(value) is type(DAY_EXPECTED[key]), key


def test_day_metrics_chunked_table() -> None:
    """A table split into many chunks gives the same metrics as one chunk."""
    table = _day_fixture()
    chunked = pa.concat_tables([table.slice(i, 4) for i in range(0, table.num_rows, 4)])
    assert chunked.column("type").num_chunks > 1
    assert day_metrics(chunked, catalog_size=10) == pytest.approx(DAY_EXPECTED)


def test_day_metrics_empty_day() -> None:
    """An empty day has every count and ratio at 0."""
    out = day_metrics(_events([]), catalog_size=0)
    assert tuple(out) == DAY_METRIC_KEYS
    assert all(value == 0 for value in out.values())
    assert day_metrics(_events([]), catalog_size=50)["coverage"] == 0.0


def test_day_metrics_without_impressions() -> None:
    """Without impressions dau is 0 and the per-user and per-impression ratios are 0, not errors."""
    out = day_metrics(_events([{"user_id": 1, "type": "signup"}, _slate("click", 1, 0, "r", 0)]), 5)
    assert out["dau"] == 0
    assert out["ctr"] == 0.0
    assert out["engagement_per_active_user"] == 0.0
    assert out["slates_per_active_user"] == 0.0
    assert out["click_gini"] == pytest.approx(0.8)  # [0, 0, 0, 0, 1]


def test_day_metrics_rejects_bad_input() -> None:
    """Unknown types, missing columns and a catalog smaller than the items seen raise ValueError."""
    table = _day_fixture()
    with pytest.raises(ValueError, match="unknown event types"):
        day_metrics(table.set_column(3, "type", pa.array(["impressionz"] * table.num_rows)), 10)
    with pytest.raises(ValueError, match="lacks columns"):
        day_metrics(table.drop_columns(["dwell_ms"]), 10)
    with pytest.raises(ValueError, match="exceed catalog_size"):
        day_metrics(table, 4)
    with pytest.raises(ValueError):
        day_metrics(table, -1)


@given(event_tables(), st.data())
def test_day_metrics_properties(table: pa.Table, data: st.DataObject) -> None:
    """On random valid days: type counts add up, ratios and Ginis are in range, the
    exposure Gini equals gini() of zero-padded impressions per item, and the result does
    not depend on row order."""
    catalog = 8  # event_tables draws item ids in 0..7
    out = day_metrics(table, catalog)
    kinds = ("impressions", "clicks", "likes", "shares", "follows", "creates", "signups", "churns")
    dwells = int(np.sum(np.asarray(table.column("type").to_pylist()) == "dwell"))
    assert sum(int(out[k]) for k in kinds) + dwells == out["events"] == table.num_rows
    assert out["dau"] <= out["impressions"]
    assert out["slates"] <= out["impressions"]
    assert out["ctr"] == ctr(int(out["impressions"]), int(out["clicks"]))
    for key in ("coverage", "click_top10_share"):
        assert 0.0 <= out[key] <= 1.0
    for key in ("exposure_gini", "click_gini"):
        assert 0.0 <= out[key] < 1.0
    impressed = [r["item_id"] for r in table.to_pylist() if r["type"] == "impression"]
    assert out["exposure_gini"] == pytest.approx(gini(np.bincount(impressed, minlength=catalog)))
    assert out["coverage"] == pytest.approx(coverage(impressed, catalog))
    order = data.draw(st.permutations(range(table.num_rows)))
    assert day_metrics(table.take(pa.array(order, pa.int64())), catalog) == pytest.approx(out)
