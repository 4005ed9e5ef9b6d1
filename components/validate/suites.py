"""Suite builders: the raw events suite from the protocol, a table's suite from its definition.

Builders return a :class:`great_expectations.ExpectationSuite` of row-level expectations
(nulls, value sets, ranges). Each expectation carries ``meta["why"]`` (the rule it enforces)
and ``meta["expected"]`` (the rule in words) for the report. Checks that need the whole batch
(row-count bounds, freshness, key uniqueness, column types) are in :mod:`.checks`.

Lean on purpose: on pandas each expectation over 4M rows costs 0.1-1 s, so the events suite
holds one expectation per protocol rule and nothing the whole-data checks already decide.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import great_expectations as gx
from annotated_types import Ge, Gt, Le, Lt
from great_expectations.expectations.row_conditions import Column as Col

from components.etl.tables import TEXT_DIM, Column, Table
from simnet.protocol import EVENT_SCHEMA, ITEM_EVENTS, LAKE_PARTITIONS, MAX_SLATE, Event, EventType, lake_day_dir

log = logging.getLogger(__name__)

DAY_PARTITION = LAKE_PARTITIONS[0]
"""The lake's day partition column (``dt``), read with each event as a string ``YYYY-MM-DD``."""

RAW_EVENTS = "raw_events"
"""Name of the raw events suite."""

EVENT_COLUMNS = ("event_id", "ts", "user_id", "type", "item_id", "position", "dwell_ms")
"""The lake columns the events suite reads (never the content payload); ``dt`` is added."""

REPLAY_KEY = ("user_id", "ts", "type", "item_id")
"""No two events agree on all of these: the same event sent again under a new event_id."""

REPLAY_NOTE = "an event sent twice under different event_ids (a replayed batch) would be double counted"

ITEMLESS_TYPES = tuple(sorted(t.value for t in EventType if t not in ITEM_EVENTS))
"""Event types that carry no item (signup, churn)."""


@dataclass(frozen=True)
class Bounds:
    """A closed range ``[min_value, max_value]``, open on the right when ``strict_max``."""

    min_value: float | None = None
    max_value: float | None = None
    strict_max: bool = False

    def describe(self, what: str = "value") -> str:
        """The range in words, e.g. ``0 <= value < 100``."""
        low = f"{_num(self.min_value)} <= " if self.min_value is not None else ""
        high = f" {'<' if self.strict_max else '<='} {_num(self.max_value)}" if self.max_value is not None else ""
        return f"{low}{what}{high}"

    def kwargs(self) -> dict[str, Any]:
        """Keyword arguments of ``ExpectColumnValuesToBeBetween``."""
        return {"min_value": self.min_value, "max_value": self.max_value, "strict_max": self.strict_max}


def _num(x: float | None) -> str:
    return f"{int(x):,}" if x is not None and float(x).is_integer() else str(x)


def protocol_bounds(field: str) -> Bounds:
    """The range :class:`simnet.protocol.Event` allows for a numeric field (``ge``/``lt``/``le``)."""
    low: float | None = None
    high: float | None = None
    strict = False
    for rule in Event.model_fields[field].metadata:
        if isinstance(rule, Ge):
            low = float(rule.ge)  # type: ignore[arg-type]
        elif isinstance(rule, Gt):
            raise ValueError(f"{field}: exclusive lower bounds are not used by the protocol")
        elif isinstance(rule, Le):
            high, strict = float(rule.le), False  # type: ignore[arg-type]
        elif isinstance(rule, Lt):
            high, strict = float(rule.lt), True  # type: ignore[arg-type]
    return Bounds(low, high, strict)


def _expect(kind: type[Any], why: str, expected: str, **kwargs: Any) -> Any:
    """An expectation with the report's texts in its meta."""
    return kind(meta={"why": why, "expected": expected}, **kwargs)


def day_start(day: date) -> datetime:
    """Midnight UTC opening ``day``."""
    return datetime.combine(day, time(0), tzinfo=UTC)


def events_suite(days: Sequence[date], now: datetime) -> gx.ExpectationSuite:
    """Row-level expectations for a window of raw events (the frame has ``dt`` as a string).

    From the protocol: required fields non-null; ``type`` one of :class:`EventType`; item
    events name an item; ``user_id``, ``item_id``, ``position`` and ``dwell_ms`` in the ranges
    :class:`Event` allows; ``ts`` not after ``now`` and inside its partition's day.
    Event-id uniqueness is a whole-data check (:func:`.checks.check_unique`): a sample cannot
    prove it.
    """
    E = gx.expectations
    expectations: list[Any] = []
    required = [f.name for f in EVENT_SCHEMA if not f.nullable and f.name in EVENT_COLUMNS]
    for name in required:
        expectations.append(
            _expect(E.ExpectColumnValuesToNotBeNull, "required by the protocol", "not null", column=name)
        )
    types = sorted(t.value for t in EventType)
    expectations.append(
        _expect(
            E.ExpectColumnValuesToBeInSet,
            "an EventType of simnet.protocol",
            f"in {{{', '.join(types)}}}",
            column="type",
            value_set=types,
        )
    )
    # Item events need an item_id. Stated the other way round, the domain is the few rows
    # without an item, which keeps GE's row filter cheap on millions of rows.
    expectations.append(
        _expect(
            E.ExpectColumnValuesToBeInSet,
            "item events must name an item: a row without item_id must be an item-less type",
            f"type in {{{', '.join(ITEMLESS_TYPES)}}} where item_id is null",
            column="type",
            value_set=list(ITEMLESS_TYPES),
            row_condition=Col("item_id").is_null(),
        )
    )
    for name in ("user_id", "item_id", "position", "dwell_ms"):
        bounds = protocol_bounds(name)
        expectations.append(
            _expect(
                E.ExpectColumnValuesToBeBetween,
                f"the range simnet.protocol.Event allows (MAX_SLATE = {MAX_SLATE})"
                if name == "position"
                else "the range simnet.protocol.Event allows",
                bounds.describe(name) + " (nulls allowed)",
                column=name,
                **bounds.kwargs(),
            )
        )
    expectations.append(
        _expect(
            E.ExpectColumnValuesToBeBetween,
            "events cannot come from the future",
            f"ts <= now ({now.isoformat()})",
            column="ts",
            max_value=now,
        )
    )
    for day in days:
        start = day_start(day)
        expectations.append(
            _expect(
                E.ExpectColumnValuesToBeBetween,
                f"rows of partition {lake_day_dir(day)} must fall on that UTC day",
                f"{start.isoformat()} <= ts < {(start + timedelta(days=1)).isoformat()} where {DAY_PARTITION} = {day}",
                column="ts",
                min_value=start,
                max_value=start + timedelta(days=1),
                strict_max=True,
                row_condition=Col(DAY_PARTITION) == day.isoformat(),
            )
        )
    return gx.ExpectationSuite(name=RAW_EVENTS, expectations=expectations)


RATE_COLUMNS = frozenset(
    {
        "ctr",
        "ctr_7d",
        "ctr_per_user",
        "coverage",
        "d1",
        "d7",
        "d30",
        "d1_retention",
        "exposure_gini",
        "click_gini",
        "top10_share",
        "expected_share",
        "prob_beats_control",
        "ctr_p_value",
        "engagement_p_value",
        "srm_p_value",
        "model_version_share",
        "ctr_pooled_p_value",
        "d1_p_value",
        "img_mean_r",
        "img_mean_g",
        "img_mean_b",
        "img_std_r",
        "img_std_g",
        "img_std_b",
        "img_texture",
    }
)
"""Fractions, probabilities, shares and normalised pixel statistics: each in [0, 1]."""

COLUMN_BOUNDS: dict[str, Bounds] = {
    "position": Bounds(0, MAX_SLATE, strict_max=True),
    "label": Bounds(0, 1),
    "weight": Bounds(1, None),  # 1, or 1 + engagement bonuses for a click
    "active_days_7d": Bounds(0, 7),
    "ctr_diff": Bounds(-1, 1),  # a difference of two rates
    "like_rate_7d": Bounds(0, None),  # a like can follow a click from before the 7 days
    "engagement_per_active_user": Bounds(0, None),
    "engagement_per_user": Bounds(0, None),
    "mean_dwell_ms_7d": Bounds(0, protocol_bounds("dwell_ms").max_value),
    "popularity": Bounds(0, None),
    "age_days": Bounds(0, None),
    "srm_chi2": Bounds(0, None),
    "ctr_se": Bounds(0, None),
    "ctr_pooled_diff": Bounds(-1, 1),
    "d1_diff": Bounds(-1, 1),
}
"""Ranges that are neither [0, 1] rates nor the ``>= 0`` of every integer column."""

UNBOUNDED_COLUMNS = frozenset(
    {
        "ctr_diff_low",
        "ctr_diff_high",
        "engagement_diff",
        "engagement_diff_low",
        "engagement_diff_high",
        "ctr_pooled_diff_low",
        "ctr_pooled_diff_high",
        "d1_diff_low",
        "d1_diff_high",
    }
)
"""Double columns deliberately without a range (differences and their intervals)."""

ARRAY_LENGTHS: dict[str, int] = {"text_vec": TEXT_DIM, "content_profile": TEXT_DIM}
"""Fixed lengths of array columns; an array column is validated through ``len(<name>)``."""


def column_bounds(column: Column) -> Bounds | None:
    """The range a table column's values must lie in, or None when it has none."""
    if column.name in COLUMN_BOUNDS:
        return COLUMN_BOUNDS[column.name]
    if column.name in RATE_COLUMNS:
        return Bounds(0, 1)
    if column.dtype in ("bigint", "int"):
        return Bounds(0, None)  # counts and ids
    return None


def frame_column(column: Column) -> str:
    """The name of the column in the validated frame: ``len(x)`` for an array column ``x``."""
    return f"len({column.name})" if column.dtype.startswith("array<") else column.name


def table_suite(table: Table) -> gx.ExpectationSuite:
    """Row-level expectations generated from a table's definition in :mod:`components.etl.tables`.

    Non-nullable columns are not null (for doubles this also rejects NaN, which pandas reads as
    missing); integer columns are ``>= 0``; rates are in [0, 1]; :data:`COLUMN_BOUNDS` adds the
    rest; array columns have their fixed length. Types and key uniqueness are whole-data checks.
    """
    E = gx.expectations
    expectations: list[Any] = []
    for column in table.columns:
        name = frame_column(column)
        if not column.nullable:
            why = "a key column" if column.name in table.key else "not nullable in components.etl.tables"
            expectations.append(_expect(E.ExpectColumnValuesToNotBeNull, why, "not null", column=name))
        if column.name in ARRAY_LENGTHS:
            n = ARRAY_LENGTHS[column.name]
            expectations.append(
                _expect(
                    E.ExpectColumnValuesToBeBetween,
                    f"a {column.dtype} of fixed length",
                    f"{n} values",
                    column=name,
                    min_value=n,
                    max_value=n,
                )
            )
            continue
        bounds = column_bounds(column)
        if bounds is None:
            if column.dtype in ("double", "float") and column.name not in UNBOUNDED_COLUMNS:
                log.warning("%s.%s has no declared range; add it to suites.py", table.name, column.name)
            continue
        why = "a rate" if column.name in RATE_COLUMNS else column.doc
        if column.name not in COLUMN_BOUNDS and column.name not in RATE_COLUMNS:
            why = "counts and ids are never negative"
        expected = bounds.describe(name)
        expectations.append(_expect(E.ExpectColumnValuesToBeBetween, why, expected, column=name, **bounds.kwargs()))
    return gx.ExpectationSuite(name=table.name, expectations=expectations)


def freshness_column(table: Table) -> Column | None:
    """The column saying how recent a table is: ``date``, else its first timestamp, else None."""
    for column in table.columns:
        if column.name == "date":
            return column
    return next((c for c in table.columns if c.dtype == "timestamp"), None)
