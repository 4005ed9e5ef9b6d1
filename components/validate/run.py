"""The gate's entry points: validate a window of raw events, validate the ETL's tables, report.

Each returns typed :class:`~components.validate.results.SuiteResult` records; nothing here
prints or exits. The CLI (``tinyworld validate``) and the pipeline step decide what a failure
stops. Row-level expectations run in Great Expectations, optionally on a sample; counts,
freshness, uniqueness and types see the whole data (pyarrow).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from components.etl.tables import BY_NAME, TABLES, Table, arrow_schema
from components.storage import StorageOptions
from components.validate.checks import check_columns, check_freshness, check_row_count, check_types, check_unique
from components.validate.config import ValidateConfig
from components.validate.engine import run_suite, to_frame
from components.validate.read import ValidationInputError, read_events, read_table, window_days
from components.validate.report import write_report
from components.validate.results import Outcome, SuiteResult
from components.validate.state import RowCountState
from components.validate.suites import (
    DAY_PARTITION,
    EVENT_COLUMNS,
    RAW_EVENTS,
    REPLAY_KEY,
    REPLAY_NOTE,
    day_start,
    events_suite,
    frame_column,
    freshness_column,
    table_suite,
)
from simnet.protocol import EVENT_SCHEMA, lake_day_dir

log = logging.getLogger(__name__)

__all__ = ["remember_counts", "validate_events", "validate_tables", "write_report"]


def _sample(table: pa.Table, config: ValidateConfig) -> tuple[pa.Table, np.ndarray]:
    """The rows row-level expectations see, and their positions in ``table``."""
    n = table.num_rows
    if config.sample_rows is None or n <= config.sample_rows:
        return table, np.arange(n)
    rng = np.random.default_rng(config.sample_seed)
    positions = np.sort(rng.choice(n, size=config.sample_rows, replace=False))
    log.info("row-level expectations see a sample of %s of %s rows", f"{len(positions):,}", f"{n:,}")
    return table.take(pa.array(positions)), positions


def validate_events(
    lake: str,
    start: date,
    end: date,
    now: datetime | None = None,
    *,
    config: ValidateConfig | None = None,
    state: RowCountState | None = None,
    storage: StorageOptions | None = None,
) -> SuiteResult:
    """Validate the raw events of ``start``..``end`` (UTC days, inclusive) in the lake at ``lake``.

    ``now`` (timezone-aware; default the current time) bounds ``ts`` from above. ``state``
    supplies the count of the day before the window for the row-count bound.
    ``storage`` says how to reach an object-store root (``s3://``): endpoint, region, credentials.
    """
    config = config or ValidateConfig()
    state = state or RowCountState()
    now = now or datetime.now(UTC)
    if now.tzinfo is None:
        raise ValidationInputError("now must carry a timezone (e.g. 2026-01-02T00:00:00Z)")
    began = time.perf_counter()
    days = window_days(start, end)
    batch = read_events(lake, start, end, EVENT_COLUMNS, EVENT_SCHEMA, storage=storage)
    table = batch.table
    outcomes = [check_columns(batch.types, EVENT_SCHEMA, batch.files), *check_types(batch.types, EVENT_SCHEMA)]

    sample, positions = _sample(table.select([*EVENT_COLUMNS, DAY_PARTITION]), config)
    frame = to_frame(sample, positions, categorical=("type", DAY_PARTITION))
    del sample
    outcomes += run_suite(events_suite(days, now), frame, table, ("event_id",), config.unexpected_sample)
    del frame
    outcomes.append(check_unique(table, ["event_id"], config.unexpected_sample))
    outcomes.append(check_unique(table, list(REPLAY_KEY), config.unexpected_sample, REPLAY_NOTE))

    per_day = table.group_by(DAY_PARTITION).aggregate([([], "count_all")]).to_pylist()
    counts = {date.fromisoformat(r[DAY_PARTITION]): int(r["count_all"]) for r in per_day}
    # a day's yardstick: the latest earlier day with events, in this window or remembered
    known = RowCountState(events={**state.events, **{d: c for d, c in counts.items() if c > 0}})
    for day in days:
        found = known.previous_day(day)
        previous = (lake_day_dir(found[0]), found[1]) if found else None
        outcomes.append(
            check_row_count(
                lake_day_dir(day), counts.get(day, 0), previous, config.row_count_tolerance, config.min_rows
            )
        )
    newest = pc.max(table["ts"]).as_py()
    outcomes.append(check_freshness("ts", newest, day_start(end + timedelta(days=1)), config.freshness_lag))
    result = SuiteResult(
        name=RAW_EVENTS,
        source=batch.source,
        rows=table.num_rows,
        rows_checked=len(positions),
        row_counts={d.isoformat(): counts.get(d, 0) for d in days},
        seconds=round(time.perf_counter() - began, 3),
        outcomes=outcomes,
    )
    log.info("%s: %s, %s failed, %.1f s", result.name, _verdict(result), len(result.failed), result.seconds)
    return result


def validate_tables(
    etl_out: str,
    tables: Sequence[str] | None = None,
    end: date | None = None,
    *,
    config: ValidateConfig | None = None,
    state: RowCountState | None = None,
    storage: StorageOptions | None = None,
) -> list[SuiteResult]:
    """Validate the ETL's output tables under ``etl_out`` (all of them, or those named).

    ``end`` is the last day of the ETL's window; without it freshness is skipped. ``state``
    holds each table's previous row count. ``storage`` says how to reach an object-store root.
    """
    config = config or ValidateConfig()
    state = state or RowCountState()
    unknown = sorted(set(tables or ()) - set(BY_NAME))
    if unknown:
        raise ValidationInputError(f"unknown table(s) {', '.join(unknown)} (known: {', '.join(BY_NAME)})")
    chosen = [t for t in TABLES if tables is None or t.name in tables]
    return [_validate_table(etl_out, t, end, config, state, storage) for t in chosen]


def _validate_table(
    etl_out: str,
    table: Table,
    end: date | None,
    config: ValidateConfig,
    state: RowCountState,
    storage: StorageOptions | None,
) -> SuiteResult:
    began = time.perf_counter()
    batch = read_table(etl_out, table, storage=storage)
    if batch is None:
        missing = check_row_count(None, 0, None, config.row_count_tolerance, max(config.min_rows, 1))
        source = f"{etl_out}/{table.name}"
        missing.note = f"no Parquet files under {source}"
        return SuiteResult(name=table.name, source=source, rows=0, rows_checked=0, outcomes=[missing])
    data, expected = batch.table, arrow_schema(table)
    outcomes = [check_columns(batch.types, expected, batch.files), *check_types(batch.types, expected)]

    prepared = _with_lengths(data, table)
    scalar = [frame_column(c) for c in table.columns if frame_column(c) in prepared.column_names]
    scalar = [c for c in scalar if not pa.types.is_list(prepared.schema.field(c).type)]
    sample, positions = _sample(prepared.select(scalar), config)
    frame = to_frame(sample, positions)
    outcomes += run_suite(table_suite(table), frame, prepared, table.key, config.unexpected_sample)
    outcomes.append(check_unique(data, list(table.key), config.unexpected_sample))

    day_rows = _rows_of_day(data, table, end)
    counted, label = (data.num_rows, None) if day_rows is None else (day_rows, f"day {end}")
    previous = state.tables.get(day_key(table.name) if day_rows is not None else table.name)
    outcomes.append(
        check_row_count(
            label,
            counted,
            ("the previous run", previous) if previous is not None else None,
            config.row_count_tolerance,
            config.min_rows,
            factor=config.table_row_count_factor,
        )
    )
    outcomes.append(_table_freshness(data, table, end, config))
    result = SuiteResult(
        name=table.name,
        source=batch.source,
        rows=data.num_rows,
        rows_checked=len(positions),
        row_counts={"rows": data.num_rows} | ({DAY_ROWS: day_rows} if day_rows is not None else {}),
        seconds=round(time.perf_counter() - began, 3),
        outcomes=outcomes,
    )
    log.info("%s: %s, %s failed, %.1f s", result.name, _verdict(result), len(result.failed), result.seconds)
    return result


DAY_ROWS = "day"
"""The key of a table suite's ``row_counts`` holding the rows of the window's last day."""


def day_key(table: str) -> str:
    """The state's key for a table's rows of one day (a table's whole count is kept under its name)."""
    return f"{table}@day"


def _rows_of_day(data: pa.Table, table: Table, end: date | None) -> int | None:
    """Rows dated ``end`` (by the table's date, else its first timestamp); None without either.

    A window's tables grow with the window (a young lake, a longer run), so their volume is
    bounded day by day: the last day's rows against the previous run's last day. (``retention``
    has neither: its cohorts grow with the window too, within the ratio bound from night to night.)
    """
    column = freshness_column(table)
    if end is None or column is None or column.name not in data.column_names:
        return None
    values = data[column.name]
    if pa.types.is_timestamp(values.type):
        values = pc.cast(pc.floor_temporal(values, unit="day"), pa.date32())
    elif not pa.types.is_date(values.type):
        return None
    return int(pc.sum(pc.equal(values, pa.scalar(end, pa.date32()))).as_py() or 0)


def _with_lengths(data: pa.Table, table: Table) -> pa.Table:
    """``data`` plus ``len(x)`` for each array column ``x`` (arrays are validated by length)."""
    for column in table.columns:
        name = frame_column(column)
        if name != column.name and column.name in data.column_names:
            data = data.append_column(name, pc.list_value_length(data[column.name]))
    return data


def _table_freshness(data: pa.Table, table: Table, end: date | None, config: ValidateConfig) -> Outcome:
    """The table's newest date (its whole day) or timestamp against the end of the ETL window."""
    column = freshness_column(table)
    window_end = day_start(end + timedelta(days=1)) if end else None
    if column is None or window_end is None or column.name not in data.column_names:
        reason = "the table has no date or timestamp column" if column is None else "no window end given (--end)"
        if column is not None and window_end is not None:
            reason = f"column {column.name} is missing"
        return Outcome(
            expectation="expect_column_max_to_be_between",
            column=column.name if column else None,
            success=True,
            skipped=True,
            engine="pyarrow",
            observed="not evaluated",
            note=f"freshness skipped: {reason}",
        )
    newest = pc.max(data[column.name]).as_py()
    if isinstance(newest, date) and not isinstance(newest, datetime):
        return check_freshness(
            column.name, day_start(newest + timedelta(days=1)), window_end, config.freshness_lag, "newest day ends"
        )
    return check_freshness(column.name, newest, window_end, config.freshness_lag)


def remember_counts(state: RowCountState, results: Iterable[SuiteResult], keep_days: int = 60) -> RowCountState:
    """Record the row counts of the suites that passed, as the yardstick for the next run."""
    for result in results:
        if not result.success:
            continue
        if result.name == RAW_EVENTS:
            state.record_events({date.fromisoformat(d): n for d, n in result.row_counts.items() if n}, keep_days)
        elif result.name in BY_NAME:
            state.record_table(result.name, result.rows)
            if DAY_ROWS in result.row_counts:
                state.record_table(day_key(result.name), result.row_counts[DAY_ROWS])
    return state


def _verdict(result: SuiteResult) -> str:
    return "passed" if result.success else "FAILED"
