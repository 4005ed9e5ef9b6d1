"""Metrics that SimNet reports about a simulated day and a simulated run.

Every function here is pure (no I/O, no hidden state, no randomness) and vectorised: the
events of one simulated day are about 4 million rows, so nothing loops over rows in
Python. Definitions:

Concentration
    ``gini(x)``
        The Gini coefficient of non-negative values, zeros included, with the population
        formula on the values sorted ascending, ``x_(1) <= ... <= x_(n)``::

            G = (n + 1 - 2 * sum_i C_i / C_n) / n,    C_i = x_(1) + ... + x_(i)

        equivalently ``sum_i (2i - n - 1) x_(i) / (n * sum x)``. 0 when all values are
        equal; ``(n - 1) / n`` (so below 1, approaching it as ``n`` grows) when a single
        entry holds everything. Empty or all-zero input gives 0.
    ``top_share(x, fraction)``
        The share of ``sum x`` held by the ``ceil(fraction * n)`` largest entries.
        ``activity_top_share`` is the same with ``fraction = 0.2`` (heavy-tail check of
        sessions per user).

Exposure and response
    ``coverage(ids, catalog_size)``
        Distinct exposed item ids divided by the catalog size.
    ``ctr(impressions, clicks)``
        Clicks per impression, 0 without impressions.
    ``ctr_by_position(events)``
        Clicks per impression at each slate position ``0 .. max position``.
    ``arm_metrics(events)``
        Per experiment arm: distinct users with an impression, impressions, clicks, CTR.

Retention
    A user's *cohort* is the day index of their signup. ``d{h}`` of a cohort is the
    fraction of its users who were active on day ``cohort + h`` exactly (classic
    "day-N" retention, not "on or after"). A horizon is *observable* only when
    ``cohort + h <= last_day``; otherwise ``d{h}`` is NaN rather than a misleading 0.
    ``overall_retention`` is the size-weighted mean of ``d{h}`` over observable cohorts,
    which equals the pooled fraction of all those users who came back on day ``h``.

Day summary
    ``day_metrics(events, catalog_size)`` reduces one day's events to counts, rates,
    coverage and the concentration of impressions and clicks over items. Concentration is
    measured over the whole catalog: items never shown count as zeros, so a policy that
    shows few items cannot look "equal" by ignoring the rest of the catalog.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from simnet.protocol import EventType

__all__ = [
    "DAY_METRIC_KEYS",
    "activity_top_share",
    "arm_metrics",
    "coverage",
    "ctr",
    "ctr_by_position",
    "day_metrics",
    "gini",
    "overall_retention",
    "retention_curve",
    "retention_table",
    "top_share",
]

DAY_METRIC_KEYS: tuple[str, ...] = (
    "events",
    "dau",
    "impressions",
    "clicks",
    "likes",
    "shares",
    "follows",
    "creates",
    "signups",
    "churns",
    "slates",
    "ctr",
    "engagement_per_active_user",
    "slates_per_active_user",
    "mean_dwell_ms",
    "creators",
    "coverage",
    "exposure_gini",
    "click_gini",
    "click_top10_share",
)
"""The keys of :func:`day_metrics`, in order."""

_KNOWN_TYPES: frozenset[str] = frozenset(t.value for t in EventType)


# --------------------------------------------------------------------------- helpers


def _as_values(values: npt.ArrayLike | pa.Array | pa.ChunkedArray) -> npt.NDArray[np.float64]:
    """Finite, non-negative float64 1-d view of ``values``; raises ValueError otherwise."""
    if isinstance(values, pa.Array | pa.ChunkedArray):
        if values.null_count:
            raise ValueError("values must not contain nulls")
        values = values.to_numpy()
    arr = np.asarray(values, dtype=np.float64).ravel()
    if arr.size and not np.all(np.isfinite(arr)):
        raise ValueError("values must be finite")
    if arr.size and arr.min() < 0:
        raise ValueError("values must be non-negative")
    return arr


def _gini_sorted(sorted_values: npt.NDArray[np.float64], n: int) -> float:
    """Gini of ``n`` values: ``sorted_values`` ascending plus ``n - len(sorted_values)`` zeros.

    The zeros sort first and add nothing to the cumulative sums, so they only enter
    through ``n``.
    """
    if n == 0 or sorted_values.size == 0:
        return 0.0
    cum = np.cumsum(sorted_values)
    total = float(cum[-1])
    if total <= 0.0:
        return 0.0
    g = (n + 1 - 2.0 * float(cum.sum()) / total) / n
    # Rounding can push a perfectly equal vector a few ulps below 0.
    return min(max(g, 0.0), 1.0)


def _top_count(fraction: float, n: int) -> int:
    """``ceil(fraction * n)``, robust to binary rounding (``0.1 * 30`` is 3, not 4)."""
    if not 0.0 <= fraction <= 1.0 or math.isnan(fraction):
        raise ValueError(f"fraction must be in [0, 1], got {fraction}")
    return min(n, math.ceil(round(fraction * n, 9)))


def _top_share_counts(values: npt.NDArray[np.float64], n: int, fraction: float) -> float:
    """``top_share`` of ``values`` padded with zeros to length ``n`` (``n >= len(values)``)."""
    total = float(values.sum()) if values.size else 0.0
    if n == 0 or total <= 0.0:
        return 0.0
    k = min(_top_count(fraction, n), values.size)
    if k == 0:
        return 0.0
    top = np.partition(values, values.size - k)[values.size - k :]
    return min(float(top.sum()) / total, 1.0)


def _require_columns(table: pa.Table, columns: Sequence[str]) -> None:
    missing = [c for c in columns if c not in table.column_names]
    if missing:
        raise ValueError(f"events table lacks columns {missing}")


def _type_codes(table: pa.Table) -> tuple[npt.NDArray[np.int32], dict[str, int]]:
    """Dictionary-encode the ``type`` column: per-row codes and the code of each type name.

    Raises ValueError on nulls or on type names outside :class:`EventType`.
    """
    column = table.column("type")
    if column.null_count:
        raise ValueError("event type must not be null")
    array = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
    if pa.types.is_dictionary(array.type):
        encoded = array
    else:
        encoded = pc.dictionary_encode(array)
    names = [str(v) for v in encoded.dictionary.to_pylist()]
    unknown = sorted(set(names) - _KNOWN_TYPES)
    if unknown:
        raise ValueError(f"unknown event types {unknown}")
    codes = np.asarray(encoded.indices.to_numpy(zero_copy_only=False), dtype=np.int32)
    return codes, {name: i for i, name in enumerate(names)}


def _mask(codes: npt.NDArray[np.int32], lookup: dict[str, int], kind: EventType) -> npt.NDArray[np.bool_]:
    code = lookup.get(kind.value)
    if code is None:
        return np.zeros(codes.shape, dtype=bool)
    return np.equal(codes, code)


def _count_distinct(array: pa.ChunkedArray | pa.Array) -> int:
    """Distinct non-null values."""
    return int(pc.count_distinct(array, mode="only_valid").as_py())


def _per_item_counts(item_ids: pa.ChunkedArray | pa.Array) -> npt.NDArray[np.float64]:
    """How many times each distinct non-null item id occurs (order unspecified)."""
    valid = pc.drop_null(item_ids)
    if len(valid) == 0:
        return np.zeros(0, dtype=np.float64)
    counted = pc.value_counts(valid)
    return np.asarray(counted.field("counts").to_numpy(zero_copy_only=False), dtype=np.float64)


# --------------------------------------------------------------------------- concentration


def gini(values: npt.ArrayLike | pa.Array | pa.ChunkedArray) -> float:
    """Gini coefficient of non-negative values, zeros included.

    Definition (population form, values sorted ascending, ``C_i`` their cumulative sums)::

        G = (n + 1 - 2 * sum_i C_i / C_n) / n

    0 means all values are equal; a single non-zero entry gives ``(n - 1) / n``, so the
    result lies in ``[0, 1)``. Examples: ``gini([0, 0, 0, 1]) == 0.75``,
    ``gini([1, 2, 3, 4]) == 0.25``.

    Edge cases: empty input or an all-zero input gives 0.0. Multi-dimensional input is
    flattened. Negative, NaN or infinite values (or Arrow nulls) raise ValueError.
    """
    arr = _as_values(values)
    return _gini_sorted(np.sort(arr), arr.size)


def top_share(values: npt.ArrayLike | pa.Array | pa.ChunkedArray, fraction: float = 0.1) -> float:
    """Share of the total held by the ``ceil(fraction * n)`` largest entries.

    Definition: with ``k = ceil(fraction * n)`` (``fraction * n`` rounded to 9 decimals
    first, so ``0.1 * 30`` gives ``k = 3``), the sum of the ``k`` largest values divided
    by the sum of all values. Example: ``top_share([1, 1, 1, 1, 6], 0.2) == 0.6``.

    Edge cases: empty input or a zero total gives 0.0; ``fraction == 0`` gives 0.0 and
    ``fraction == 1`` gives 1.0 (for a positive total). ``fraction`` outside ``[0, 1]``
    and negative or non-finite values raise ValueError. The result is non-decreasing
    in ``fraction`` and lies in ``[0, 1]``.
    """
    arr = _as_values(values)
    _top_count(fraction, arr.size)  # validates fraction even for empty input
    return _top_share_counts(arr, arr.size, fraction)


def activity_top_share(
    sessions_per_user: npt.ArrayLike | pa.Array | pa.ChunkedArray, fraction: float = 0.2
) -> float:
    """Share of all sessions made by the most active ``fraction`` of users (default 20%).

    Definition and edge cases are those of :func:`top_share`; only the default fraction
    differs. Pass one entry per user, including users with zero sessions: leaving them
    out shrinks ``n``, hence the "top 20%" group, and understates the concentration.
    """
    return top_share(sessions_per_user, fraction)


# --------------------------------------------------------------------------- exposure


def coverage(exposed_item_ids: npt.ArrayLike | pa.Array | pa.ChunkedArray, catalog_size: int) -> float:
    """Fraction of the catalog that was exposed: distinct exposed ids / ``catalog_size``.

    Duplicates count once; Arrow nulls (and NaN in float input) are ignored.

    Edge cases: ``catalog_size == 0`` with nothing exposed gives 0.0. A negative
    ``catalog_size``, or more distinct exposed ids than ``catalog_size`` (the caller's
    catalog size is stale or ids fall outside the catalog), raises ValueError rather than
    reporting a coverage above 1.
    """
    if catalog_size < 0:
        raise ValueError(f"catalog_size must be >= 0, got {catalog_size}")
    if isinstance(exposed_item_ids, pa.Array | pa.ChunkedArray):
        distinct = _count_distinct(exposed_item_ids)
    else:
        arr = np.asarray(exposed_item_ids).ravel()
        if arr.dtype.kind == "f":
            arr = arr[~np.isnan(arr)]
        distinct = int(np.unique(arr).size)
    if distinct > catalog_size:
        raise ValueError(f"{distinct} distinct exposed items exceed catalog_size {catalog_size}")
    if catalog_size == 0:
        return 0.0
    return distinct / catalog_size


def ctr(impressions: int, clicks: int) -> float:
    """Click-through rate: ``clicks / impressions``.

    Edge cases: 0.0 when ``impressions == 0``. Negative counts raise ValueError. More
    clicks than impressions is allowed (a day's window can cut a slate from its
    clicks), so the result may exceed 1.
    """
    if impressions < 0 or clicks < 0:
        raise ValueError(f"counts must be >= 0, got impressions={impressions}, clicks={clicks}")
    if impressions == 0:
        return 0.0
    return clicks / impressions


def ctr_by_position(events: pa.Table) -> npt.NDArray[np.float64]:
    """Clicks per impression at each slate position ``0 .. P``.

    Definition: ``P`` is the largest non-null position among impression and click events;
    entry ``p`` is (click events at position ``p``) / (impression events at position
    ``p``). Needs columns ``type`` and ``position``.

    Edge cases: an empty result (length 0) when there are no positioned impressions or
    clicks; NaN at a position with clicks or gaps but no impressions (undefined, not 0,
    so a position-bias curve is not dragged down by missing data). Rows with a null
    position are ignored.
    """
    _require_columns(events, ("type", "position"))
    codes, lookup = _type_codes(events)
    positions = events.column("position")
    valid = ~np.asarray(positions.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    pos = np.asarray(pc.fill_null(positions, 0).to_numpy(zero_copy_only=False), dtype=np.int64)
    if pos.size and pos.min() < 0:
        raise ValueError("positions must be >= 0")
    imp = _mask(codes, lookup, EventType.IMPRESSION) & valid
    clk = _mask(codes, lookup, EventType.CLICK) & valid
    used = imp | clk
    if not used.any():
        return np.zeros(0, dtype=np.float64)
    length = int(pos[used].max()) + 1
    n_imp = np.bincount(pos[imp], minlength=length).astype(np.float64)
    n_clk = np.bincount(pos[clk], minlength=length).astype(np.float64)
    out = np.full(length, np.nan)
    np.divide(n_clk, n_imp, out=out, where=n_imp > 0)
    return out


def arm_metrics(events: pa.Table) -> pd.DataFrame:
    """Per experiment arm: ``arm``, ``users``, ``impressions``, ``clicks``, ``ctr``.

    Definition: rows are grouped by the non-null ``arm`` echoed on slate events.
    ``users`` counts distinct users with at least one impression in the arm,
    ``impressions`` and ``clicks`` count those events, ``ctr = clicks / impressions``
    (0.0 without impressions). Rows are sorted by arm; the index is a RangeIndex. Needs
    columns ``type``, ``user_id`` and ``arm``.

    Edge cases: events with a null arm are ignored; no armed impressions or clicks gives
    an empty frame with those columns.
    """
    _require_columns(events, ("type", "user_id", "arm"))
    codes, lookup = _type_codes(events)
    imp = _mask(codes, lookup, EventType.IMPRESSION)
    clk = _mask(codes, lookup, EventType.CLICK)
    keep = (imp | clk) & ~np.asarray(
        events.column("arm").is_null().to_numpy(zero_copy_only=False), dtype=bool
    )
    columns = ["arm", "users", "impressions", "clicks", "ctr"]
    if not keep.any():
        return pd.DataFrame(
            {
                "arm": pd.Series([], dtype=object),
                "users": pd.Series([], dtype=np.int64),
                "impressions": pd.Series([], dtype=np.int64),
                "clicks": pd.Series([], dtype=np.int64),
                "ctr": pd.Series([], dtype=np.float64),
            },
            columns=columns,
        )
    sub = pa.table(
        {
            "arm": events.column("arm").filter(pa.array(keep)),
            "user": events.column("user_id").filter(pa.array(keep)),
            "imp": pa.array(imp[keep].astype(np.int64)),
            "clk": pa.array(clk[keep].astype(np.int64)),
        }
    )
    # A user counts for an arm only through impressions: null them out on click rows.
    sub = sub.set_column(1, "user", pc.if_else(pc.equal(sub.column("imp"), 1), sub.column("user"), None))
    grouped = sub.group_by("arm").aggregate(
        [("user", "count_distinct", pc.CountOptions(mode="only_valid")), ("imp", "sum"), ("clk", "sum")]
    )
    frame = pd.DataFrame(
        {
            "arm": grouped.column("arm").to_pylist(),
            "users": np.asarray(grouped.column("user_count_distinct").to_numpy(), dtype=np.int64),
            "impressions": np.asarray(grouped.column("imp_sum").to_numpy(), dtype=np.int64),
            "clicks": np.asarray(grouped.column("clk_sum").to_numpy(), dtype=np.int64),
        }
    )
    impressions = frame["impressions"].to_numpy(dtype=np.float64)
    clicks = frame["clicks"].to_numpy(dtype=np.float64)
    rate = np.zeros(len(frame), dtype=np.float64)
    np.divide(clicks, impressions, out=rate, where=impressions > 0)
    frame["ctr"] = rate
    return frame.sort_values("arm", kind="stable").reset_index(drop=True)[columns]


# --------------------------------------------------------------------------- retention


def _cohorts(signups: pd.DataFrame) -> pd.DataFrame:
    """One row per user: ``user_id`` and ``cohort`` (the earliest signup day)."""
    for column in ("user_id", "day"):
        if column not in signups.columns:
            raise ValueError(f"signups lacks column {column!r}")
    first = signups.groupby("user_id", sort=False)["day"].min()
    return pd.DataFrame({"user_id": first.index.to_numpy(), "cohort": first.to_numpy(dtype=np.int64)})


def _active_offsets(users: pd.DataFrame, activity: pd.DataFrame) -> pd.DataFrame:
    """Distinct (user_id, cohort, offset) with ``offset = active day - cohort``."""
    for column in ("user_id", "day"):
        if column not in activity.columns:
            raise ValueError(f"activity lacks column {column!r}")
    active = activity[["user_id", "day"]].drop_duplicates()
    merged = active.merge(users, on="user_id", how="inner")
    offsets = merged["day"].to_numpy(dtype=np.int64) - merged["cohort"].to_numpy(dtype=np.int64)
    return pd.DataFrame(
        {"user_id": merged["user_id"].to_numpy(), "cohort": merged["cohort"], "offset": offsets}
    )


def retention_table(
    signups: pd.DataFrame,
    activity: pd.DataFrame,
    last_day: int,
    horizons: Sequence[int] = (1, 7),
) -> pd.DataFrame:
    """Day-N retention per signup cohort.

    ``signups`` has columns ``user_id`` and ``day`` (day index of the signup; a user's
    cohort is their earliest signup day). ``activity`` has ``user_id`` and ``day`` (days on
    which the user was active; duplicates allowed, users without a signup ignored).

    Output: one row per cohort present in ``signups``, sorted by cohort, with columns
    ``cohort`` (int), ``size`` (users in the cohort, int) and ``d{h}`` for each horizon
    ``h`` (float): the fraction of the cohort active on day ``cohort + h`` exactly.

    Edge cases: ``d{h}`` is NaN where ``cohort + h > last_day`` (not yet observable);
    empty ``signups`` gives an empty frame with those columns. Negative or duplicate
    horizons raise ValueError.
    """
    hs = [int(h) for h in horizons]
    if any(h < 0 for h in hs) or len(set(hs)) != len(hs):
        raise ValueError(f"horizons must be distinct and >= 0, got {list(horizons)}")
    users = _cohorts(signups)
    sizes = users.groupby("cohort").size()
    cohort_days = sizes.index.to_numpy(dtype=np.int64)
    size = sizes.to_numpy(dtype=np.int64)
    out: dict[str, Any] = {"cohort": cohort_days, "size": size}
    offsets = _active_offsets(users, activity)
    for h in hs:
        hit = offsets.loc[offsets["offset"] == h, "cohort"]
        returned = hit.value_counts().reindex(sizes.index, fill_value=0).to_numpy(dtype=np.float64)
        frac = returned / np.maximum(size, 1)
        frac[cohort_days + h > last_day] = np.nan
        out[f"d{h}"] = frac
    return pd.DataFrame(out, columns=["cohort", "size", *[f"d{h}" for h in hs]])


def overall_retention(table: pd.DataFrame, horizon: int) -> float | None:
    """Size-weighted mean of ``d{horizon}`` over the cohorts where it is observable.

    Definition: ``sum(size * d_h) / sum(size)`` over rows of a :func:`retention_table`
    output whose ``d{horizon}`` is not NaN; this is the pooled fraction of those users
    active ``horizon`` days after signup.

    Edge cases: None when no cohort is observable at that horizon (or all observable
    cohorts are empty). A missing ``d{horizon}`` column raises KeyError.
    """
    column = f"d{horizon}"
    if column not in table.columns:
        raise KeyError(f"retention table has no column {column!r}")
    values = table[column].to_numpy(dtype=np.float64)
    weights = table["size"].to_numpy(dtype=np.float64)
    observable = ~np.isnan(values)
    total = float(weights[observable].sum())
    if total <= 0.0:
        return None
    return float((weights[observable] * values[observable]).sum()) / total


def retention_curve(
    signups: pd.DataFrame, activity: pd.DataFrame, cohort: int, last_day: int
) -> npt.NDArray[np.float64]:
    """Fraction of one signup cohort active on each day ``cohort, cohort + 1, .., last_day``.

    Entry ``i`` is the fraction of the cohort's users (cohort = earliest signup day, as in
    :func:`retention_table`) active on day ``cohort + i``, so entry ``h`` equals
    ``d{h}`` of that cohort in :func:`retention_table`. Entry 0 counts activity on the
    signup day itself, which is 1 only if ``activity`` records it.

    Edge cases: ``last_day < cohort`` gives an empty array; an empty cohort (no user
    signed up that day) gives an all-NaN array, since the fraction is undefined.
    """
    length = max(int(last_day) - int(cohort) + 1, 0)
    users = _cohorts(signups)
    members = users[users["cohort"] == cohort]
    if length == 0:
        return np.zeros(0, dtype=np.float64)
    if members.empty:
        return np.full(length, np.nan)
    offsets = _active_offsets(members, activity)
    offs = offsets["offset"].to_numpy(dtype=np.int64)
    offs = offs[(offs >= 0) & (offs < length)]
    counts = np.bincount(offs, minlength=length).astype(np.float64)
    return counts / len(members)


# --------------------------------------------------------------------------- one day


def day_metrics(events: pa.Table, catalog_size: int) -> dict[str, float | int]:
    """Summary of the events of ONE simulated day (keys in :data:`DAY_METRIC_KEYS`).

    Counts (int): ``events`` (rows); ``impressions``, ``clicks``, ``likes``, ``shares``,
    ``follows``, ``creates``, ``signups``, ``churns`` (rows of each type); ``dau``
    (distinct users with at least one impression); ``slates`` (distinct non-null
    request_id among impressions); ``creators`` (distinct users with a create event).

    Rates (float): ``ctr`` = clicks / impressions; ``engagement_per_active_user`` =
    (clicks + likes + shares) / dau; ``slates_per_active_user`` = slates / dau;
    ``mean_dwell_ms`` = mean non-null dwell_ms of dwell events; ``coverage`` = distinct
    items impressed / catalog_size.

    Concentration (float), over the whole catalog of ``catalog_size`` items, items never
    shown counting as zeros: ``exposure_gini`` (Gini of impressions per item),
    ``click_gini`` (Gini of clicks per item), ``click_top10_share`` (share of clicks
    taken by the top ``ceil(0.1 * catalog_size)`` items).

    Edge cases: every ratio is 0.0 when its denominator is 0 (no impressions, no active
    users, no dwell events, empty catalog with no impressions). Pass the catalog size
    at the END of the day (items created today can be shown today). Raises ValueError if
    required columns are missing, a type is null or unknown, ``catalog_size`` is negative,
    or more distinct items were impressed or clicked than ``catalog_size``.
    """
    _require_columns(events, ("user_id", "type", "item_id", "request_id", "dwell_ms"))
    if catalog_size < 0:
        raise ValueError(f"catalog_size must be >= 0, got {catalog_size}")
    codes, lookup = _type_codes(events)
    per_type = np.bincount(codes, minlength=len(lookup)) if codes.size else np.zeros(len(lookup), np.int64)

    def count(kind: EventType) -> int:
        code = lookup.get(kind.value)
        return 0 if code is None else int(per_type[code])

    impressions = count(EventType.IMPRESSION)
    clicks = count(EventType.CLICK)
    likes = count(EventType.LIKE)
    shares = count(EventType.SHARE)

    imp = events.select(["user_id", "item_id", "request_id"]).filter(
        pa.array(_mask(codes, lookup, EventType.IMPRESSION))
    )
    dau = _count_distinct(imp.column("user_id"))
    slates = _count_distinct(imp.column("request_id"))

    creators = _count_distinct(
        events.column("user_id").filter(pa.array(_mask(codes, lookup, EventType.CREATE)))
    )

    dwell = events.column("dwell_ms").filter(pa.array(_mask(codes, lookup, EventType.DWELL)))
    dwell_mean = pc.mean(dwell).as_py() if len(dwell) else None
    mean_dwell_ms = 0.0 if dwell_mean is None else float(dwell_mean)

    imp_counts = _per_item_counts(imp.column("item_id"))
    click_counts = _per_item_counts(
        events.column("item_id").filter(pa.array(_mask(codes, lookup, EventType.CLICK)))
    )
    for name, per_item in (("impressed", imp_counts), ("clicked", click_counts)):
        if per_item.size > catalog_size:
            raise ValueError(f"{per_item.size} distinct items {name} exceed catalog_size {catalog_size}")

    return {
        "events": int(events.num_rows),
        "dau": dau,
        "impressions": impressions,
        "clicks": clicks,
        "likes": likes,
        "shares": shares,
        "follows": count(EventType.FOLLOW),
        "creates": count(EventType.CREATE),
        "signups": count(EventType.SIGNUP),
        "churns": count(EventType.CHURN),
        "slates": slates,
        "ctr": ctr(impressions, clicks),
        "engagement_per_active_user": (clicks + likes + shares) / dau if dau else 0.0,
        "slates_per_active_user": slates / dau if dau else 0.0,
        "mean_dwell_ms": mean_dwell_ms,
        "creators": creators,
        "coverage": imp_counts.size / catalog_size if catalog_size else 0.0,
        "exposure_gini": _gini_sorted(np.sort(imp_counts), catalog_size),
        "click_gini": _gini_sorted(np.sort(click_counts), catalog_size),
        "click_top10_share": _top_share_counts(click_counts, catalog_size, 0.1),
    }
