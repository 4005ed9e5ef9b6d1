"""Metrics that SimNet reports about a simulated day and a simulated run.

Every function here is pure (no I/O, no hidden state, no randomness) and vectorised: the
events of one simulated day are about 4 million rows, so nothing loops over rows in
Python. Definitions:

Concentration (Gini, top shares) lives in :mod:`simnet.concentration`, retention in
:mod:`simnet.retention`.

Exposure and response
    ``coverage(ids, catalog_size)``
        Distinct exposed item ids divided by the catalog size.
    ``ctr(impressions, clicks)``
        Clicks per impression, 0 without impressions.
    ``ctr_by_position(events)``
        Clicks per impression at each slate position ``0 .. max position``.
    ``arm_metrics(events)``
        Per experiment arm: distinct users with an impression, impressions, clicks, CTR.

Day summary
    ``day_metrics(events, catalog_size)`` reduces one day's events to counts, rates,
    coverage and the concentration of impressions and clicks over items. Concentration is
    measured over the whole catalog: items never shown count as zeros, so a policy that
    shows few items cannot look "equal" by ignoring the rest of the catalog.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from simnet.concentration import gini_padded, top_share_padded
from simnet.protocol import EventType

__all__ = [
    "DAY_METRIC_KEYS",
    "arm_metrics",
    "coverage",
    "ctr",
    "ctr_by_position",
    "day_metrics",
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
    keep = (imp | clk) & ~np.asarray(events.column("arm").is_null().to_numpy(zero_copy_only=False), dtype=bool)
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

    creators = _count_distinct(events.column("user_id").filter(pa.array(_mask(codes, lookup, EventType.CREATE))))

    dwell = events.column("dwell_ms").filter(pa.array(_mask(codes, lookup, EventType.DWELL)))
    dwell_mean = pc.mean(dwell).as_py() if len(dwell) else None
    mean_dwell_ms = 0.0 if dwell_mean is None else float(dwell_mean)

    imp_counts = _per_item_counts(imp.column("item_id"))
    click_counts = _per_item_counts(events.column("item_id").filter(pa.array(_mask(codes, lookup, EventType.CLICK))))
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
        "exposure_gini": gini_padded(np.sort(imp_counts), catalog_size),
        "click_gini": gini_padded(np.sort(click_counts), catalog_size),
        "click_top10_share": top_share_padded(click_counts, catalog_size, 0.1),
    }
