"""Whole-data checks, computed with pyarrow: what a row sample must not decide.

Row-count bounds and freshness need every row; uniqueness cannot be proven on a sample; and
column types are read from the Parquet footers (exact Arrow types, which pandas would blur).
Each check returns an :class:`~components.validate.results.Outcome` named after the GE
expectation it stands for, with ``engine="pyarrow"``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

import pyarrow as pa
import pyarrow.compute as pc

from components.validate.results import Outcome, fmt_count, fmt_percent, json_scalar

log = logging.getLogger(__name__)

TypesSeen = Mapping[str, Mapping[pa.DataType, list[str]]]
"""Per column, the Arrow types seen and the files each was seen in."""


def same_type(actual: pa.DataType, expected: pa.DataType) -> bool:
    """Equal types, allowing UTC spellings of a timestamp zone and any name of a list's item field."""
    if actual == expected:
        return True
    if pa.types.is_timestamp(actual) and pa.types.is_timestamp(expected):
        utc = {"UTC", "Etc/UTC", "+00:00", "Z"}
        return bool(actual.unit == expected.unit and {actual.tz, expected.tz} <= utc)
    if pa.types.is_list(actual) and pa.types.is_list(expected):
        return same_type(actual.value_type, expected.value_type)
    if pa.types.is_dictionary(actual):
        return same_type(actual.value_type, expected)
    return False


def check_columns(seen: TypesSeen, expected: pa.Schema, files: int) -> Outcome:
    """Every file holds exactly the expected columns (partition columns aside)."""
    missing = {f.name: files - sum(len(v) for v in seen.get(f.name, {}).values()) for f in expected}
    missing = {name: n for name, n in missing.items() if n}
    extra = sorted(set(seen) - set(expected.names))
    problems = [f"{name} missing in {n} of {files} files" for name, n in missing.items()]
    problems += [f"unexpected column {name}" for name in extra]
    return Outcome(
        expectation="expect_table_columns_to_match_set",
        success=not problems,
        engine="pyarrow",
        expected=", ".join(expected.names),
        observed="; ".join(problems) or "as expected",
        observed_value=len(problems),
        note="the schema every writer must follow",
    )


def check_types(seen: TypesSeen, expected: pa.Schema) -> list[Outcome]:
    """One outcome per expected column present in the files: its Arrow type in every file."""
    outcomes = []
    for field in expected:
        types = seen.get(field.name)
        if not types:
            continue  # check_columns names it
        wrong = {t: paths for t, paths in types.items() if not same_type(t, field.type)}
        files = sum(len(paths) for paths in types.values())
        bad = sum(len(paths) for paths in wrong.values())
        observed = ", ".join(f"{t} in {len(paths)} of {files} files" for t, paths in types.items())
        outcomes.append(
            Outcome(
                expectation="expect_column_values_to_be_of_type",
                column=field.name,
                success=not wrong,
                engine="pyarrow",
                expected=str(field.type),
                observed=observed,
                observed_value=bad,
                unexpected_count=bad or None,
                unexpected_sample=[{"file": p, "type": str(t)} for t, paths in wrong.items() for p in paths[:5]],
                note="the Arrow type of the written schema",
            )
        )
    return outcomes


def _repeated(table: pa.Table, columns: list[str]) -> pa.Table:
    """Groups of ``columns`` that occur more than once, with their ``count_all``.

    A compound key with string columns is first narrowed on its cheap (integer, temporal,
    null-free) columns: only rows whose cheap part repeats can repeat as a whole, and
    grouping a few million rows by integers costs a third of grouping them by strings too.
    """
    cheap = [
        c
        for c in columns
        if table[c].null_count == 0
        and (pa.types.is_integer(t := table.schema.field(c).type) or pa.types.is_temporal(t))
    ]
    if 0 < len(cheap) < len(columns):
        candidates = _repeated(table.select(cheap), cheap)
        if candidates.num_rows == 0:
            return candidates
        table = table.select(columns).join(candidates.select(cheap), keys=cheap, join_type="left semi")
    counts = table.select(columns).group_by(columns, use_threads=True).aggregate([([], "count_all")])
    return counts.filter(pc.greater(counts["count_all"], 1))


def check_unique(table: pa.Table, columns: Sequence[str], sample: int = 10, note: str = "") -> Outcome:
    """No two rows share a value of ``columns`` (a compound key when several; nulls compare equal)."""
    label = ", ".join(columns)
    single = len(columns) == 1
    outcome = Outcome(
        expectation="expect_column_values_to_be_unique" if single else "expect_compound_columns_to_be_unique",
        column=label,
        success=True,
        engine="pyarrow",
        expected="unique" if single else f"({label}) unique",
        rows_checked=table.num_rows,
        note=note or ("ids are unique (ingestion is idempotent on them)" if single else "the table's key"),
    )
    missing = [c for c in columns if c not in table.column_names]
    if missing:
        outcome.skipped, outcome.observed = True, "not evaluated"
        outcome.note = f"column {', '.join(missing)} is missing"
        return outcome
    if single:
        column = table[columns[0]]
        valid = len(column) - column.null_count
        if pc.count_distinct(column, mode="only_valid").as_py() == valid:  # the cheap common case
            outcome.observed, outcome.observed_value, outcome.unexpected_count = "all unique", 0, 0
            return outcome
    dups = _repeated(table, list(columns))
    if single:
        dups = dups.filter(pc.is_valid(dups[columns[0]]))  # like GE, nulls are not duplicates of each other
    rows = int(pc.sum(dups["count_all"]).as_py() or 0) if dups.num_rows else 0
    outcome.success = rows == 0
    outcome.unexpected_count, outcome.observed_value = rows, rows
    outcome.unexpected_percent = 100.0 * rows / table.num_rows if table.num_rows else 0.0
    if not rows:
        outcome.observed = "all unique"
        return outcome
    what = "value" if dups.num_rows == 1 else "values"
    outcome.observed = (
        f"{fmt_count(dups.num_rows)} {what} repeated over {fmt_count(rows)} rows ({fmt_percent(rows, table.num_rows)})"
    )
    top = dups.sort_by([("count_all", "descending")]).slice(0, sample).to_pylist()
    outcome.unexpected_sample = [{**{c: json_scalar(r[c]) for c in columns}, "rows": int(r["count_all"])} for r in top]
    return outcome


def check_row_count(
    label: str | None,
    rows: int,
    previous: tuple[str, int] | None,
    tolerance: float,
    min_rows: int = 1,
    factor: float | None = None,
) -> Outcome:
    """``rows`` within ``previous * (1 +- tolerance)`` (or, with ``factor``, within ``previous / factor``
    and ``previous * factor``); skipped without a previous count.

    ``previous`` is ``(where it came from, count)``. Fewer than ``min_rows`` rows always fail.
    """
    outcome = Outcome(
        expectation="expect_table_row_count_to_be_between",
        column=label,
        success=True,
        engine="pyarrow",
        observed=f"{fmt_count(rows)} rows",
        observed_value=rows,
    )
    if rows < min_rows:
        outcome.success, outcome.expected = False, f">= {fmt_count(min_rows)} rows"
        outcome.note = "no data" if rows == 0 else "too few rows"
        return outcome
    bound = f"x/÷{factor:g}" if factor is not None else f"+-{tolerance:.0%}"
    if previous is None:
        outcome.skipped, outcome.expected = True, f"within {bound} of the previous count"
        outcome.note = "no previous row count (first run, or none in the state file): bound skipped"
        return outcome
    source, count = previous
    low, high = (
        (count / factor, count * factor) if factor is not None else (count * (1 - tolerance), count * (1 + tolerance))
    )
    outcome.success = low <= rows <= high
    outcome.expected = f"{low:,.0f} to {high:,.0f} rows (previous {fmt_count(count)} of {source} {bound})"
    outcome.note = "volume against the previous day or run"
    return outcome


def check_freshness(
    column: str, newest: datetime | None, window_end: datetime, max_lag: timedelta, what: str = "newest"
) -> Outcome:
    """``window_end - max_lag <= newest <= window_end``: data reaches the end of its window."""
    outcome = Outcome(
        expectation="expect_column_max_to_be_between",
        column=column,
        success=False,
        engine="pyarrow",
        expected=f"{what} within {max_lag} before {window_end.isoformat()}",
        note="freshness: the data reaches the end of the window it claims",
    )
    if newest is None:
        outcome.observed = "no values"
        return outcome
    lag = window_end - newest
    outcome.observed_value = lag.total_seconds()
    outcome.observed = f"{what} {newest.isoformat()}, {lag} before the window end"
    if lag < timedelta(0):
        outcome.observed = f"{what} {newest.isoformat()}, {-lag} after the window end"
    outcome.success = timedelta(0) <= lag <= max_lag
    return outcome
