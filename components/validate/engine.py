"""Running a Great Expectations suite over a pyarrow table, fast enough for 4M rows a day.

Three things make GE on pandas affordable here (measured on one 4M-row day, see
docs/validation.md):

- **Column groups.** GE filters the whole DataFrame (every column) for each metric of each
  expectation, so a wide frame multiplies the cost. Expectations are grouped by the columns
  they read and each group is validated on a frame of just those columns.
- **No batch fingerprint.** GE md5-hashes every pandas batch below 1 GB as a batch marker
  (``hash_pandas_object``), 15 s for a day of events with its string ids; nothing here reads
  the marker, so it is switched off while our batches run.
- **Cheap dtypes.** Low-cardinality strings become categoricals (fast ``isin``), other
  strings stay Arrow-backed instead of Python objects.

Offending rows are named from the pandas index, which holds each row's position in the
table handed in; the caller maps positions back to ids (event_id, a table's key).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import great_expectations as gx
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from great_expectations.data_context.types.base import ProgressBarsConfig
from great_expectations.expectations.row_conditions import Column as Col

from components.validate.results import Outcome, fmt_count, fmt_percent, json_scalar

log = logging.getLogger(__name__)

_POSITION = "tinyworld_position"
"""Meta key tagging each expectation with its place in the suite, to order GE's results."""


@functools.cache
def _batch_definition() -> Any:
    """One ephemeral context and in-memory pandas asset per process (context creation is slow)."""
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    asset = context.data_sources.add_pandas("tinyworld_validate").add_dataframe_asset("frame")
    return asset.add_batch_definition_whole_dataframe("whole")


@contextmanager
def _no_batch_fingerprint() -> Iterator[None]:
    """Switch off GE's md5 fingerprint of pandas batches for the duration (see module doc)."""
    from great_expectations.execution_engine import pandas_execution_engine as engine

    previous = getattr(engine, "HASH_THRESHOLD", None)
    if previous is None:  # a GE version without the knob: correct, only slower
        log.debug("great_expectations has no HASH_THRESHOLD; batches will be fingerprinted")
        yield
        return
    engine.HASH_THRESHOLD = 0
    try:
        yield
    finally:
        engine.HASH_THRESHOLD = previous


def to_frame(table: pa.Table, index: np.ndarray | None = None, categorical: Sequence[str] = ()) -> pd.DataFrame:
    """A pandas frame of ``table``: ``categorical`` strings as categories, other strings Arrow-backed.

    ``index`` labels the rows (positions in a larger table when ``table`` is a sample).
    """
    for name in categorical:
        if name in table.column_names and pa.types.is_string(table.schema.field(name).type):
            i = table.schema.get_field_index(name)
            table = table.set_column(i, name, pc.dictionary_encode(table[name]))
    strings = {pa.string(): pd.ArrowDtype(pa.string()), pa.large_string(): pd.ArrowDtype(pa.large_string())}
    frame = table.to_pandas(types_mapper=strings.get)
    if index is not None:
        frame.index = pd.Index(index)
    return frame


def expectation_columns(expectation: Any) -> list[str]:
    """The columns an expectation reads: its column(s) and those of its row condition."""
    names = [getattr(expectation, a) for a in ("column", "column_A", "column_B") if getattr(expectation, a, None)]
    names += list(getattr(expectation, "column_list", None) or [])
    stack: list[Any] = [getattr(expectation, "row_condition", None)]
    while stack:
        condition = stack.pop()
        column = getattr(condition, "column", None)
        if isinstance(column, Col):
            names.append(column.name)
        stack.extend(getattr(condition, "conditions", None) or [])
    return list(dict.fromkeys(names))


def run_suite(
    suite: gx.ExpectationSuite,
    frame: pd.DataFrame,
    rows_of: pa.Table,
    id_columns: Sequence[str] = (),
    unexpected_sample: int = 10,
) -> list[Outcome]:
    """Validate ``frame`` against ``suite``, one GE batch per column group; outcomes in suite order.

    ``rows_of`` is the table whose row positions ``frame.index`` holds; offending rows are
    listed from it with ``id_columns`` and the expectation's columns. An expectation on a
    column the frame lacks is skipped (the type checks report the missing column).
    """
    groups: dict[tuple[str, ...], list[tuple[int, Any]]] = {}
    outcomes: dict[int, Outcome] = {}
    for position, expectation in enumerate(suite.expectations):
        columns = tuple(expectation_columns(expectation))
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            outcomes[position] = _skipped(expectation, f"column {', '.join(missing)} is missing")
            continue
        groups.setdefault(columns, []).append((position, expectation))
    result_format = {"result_format": "SUMMARY", "partial_unexpected_count": unexpected_sample}
    batch_definition = _batch_definition()
    with _no_batch_fingerprint():
        for columns, members in groups.items():
            # copies tagged with their place in the suite: GE lists erroring expectations first
            tagged = [e.copy(update={"meta": {**(e.meta or {}), _POSITION: p}}) for p, e in members]
            part = gx.ExpectationSuite(name=f"{suite.name}[{','.join(columns)}]", expectations=tagged)
            batch = batch_definition.get_batch(batch_parameters={"dataframe": frame[list(columns)]})
            for result in batch.validate(part, result_format=result_format).results:
                position = int(result.expectation_config.meta[_POSITION])
                outcomes[position] = _outcome(result, rows_of, [*id_columns, *columns])
    if len(outcomes) != len(suite.expectations):
        raise RuntimeError(f"GE returned {len(outcomes)} results for {len(suite.expectations)} expectations")
    log.debug("%s: %s expectations in %s column groups", suite.name, len(outcomes), len(groups))
    return [outcomes[p] for p in sorted(outcomes)]


def _column(kwargs: dict[str, Any]) -> str | None:
    if kwargs.get("column"):
        return str(kwargs["column"])
    columns = kwargs.get("column_list") or [kwargs.get("column_A"), kwargs.get("column_B")]
    return ", ".join(str(c) for c in columns if c) or None


def _skipped(expectation: Any, reason: str) -> Outcome:
    config = expectation.configuration
    meta = config.meta or {}
    return Outcome(
        expectation=config.type,
        column=_column(config.kwargs),
        success=True,
        skipped=True,
        expected=str(meta.get("expected", "")),
        observed="not evaluated",
        note=reason,
    )


def _error(info: dict[str, Any]) -> str | None:
    """The exception message of a GE result, flat or keyed by metric; None when nothing raised."""
    entries = [info] if "raised_exception" in info else [v for v in info.values() if isinstance(v, dict)]
    messages = [str(e.get("exception_message")) for e in entries if e.get("raised_exception")]
    return "; ".join(dict.fromkeys(messages)) if messages else None


def _show(value: Any) -> str:
    """A value for the report: integral floats (pandas' nullable ints) without their ``.0``."""
    shown = json_scalar(value)
    if isinstance(shown, float) and shown.is_integer():
        return str(int(shown))
    return repr(shown)


def _outcome(result: Any, rows_of: pa.Table, sample_columns: Sequence[str]) -> Outcome:
    """Our record of one GE ExpectationValidationResult."""
    config = result.expectation_config
    meta = config.meta or {}
    details: dict[str, Any] = result.result or {}
    error = result.exception_info or {}
    outcome = Outcome(
        expectation=config.type,
        column=_column(config.kwargs),
        success=bool(result.success),
        expected=str(meta.get("expected", "")),
        note=str(meta.get("why", "")),
        rows_checked=details.get("element_count"),
    )
    message = _error(error)
    if message is not None:
        outcome.success = False
        outcome.observed = f"error: {message}"
        return outcome
    unexpected = details.get("unexpected_count")
    if unexpected is None:
        outcome.observed_value = json_scalar(details.get("observed_value"))
        outcome.observed = str(outcome.observed_value)
        return outcome
    total = int(details.get("element_count") or 0)
    outcome.unexpected_count = int(unexpected)
    percent = details.get("unexpected_percent")
    outcome.unexpected_percent = None if percent is None else float(percent)
    outcome.observed_value = outcome.unexpected_count
    share = fmt_percent(unexpected, total)
    outcome.observed = f"{fmt_count(unexpected)} of {fmt_count(total)} rows ({share}) unexpected"
    values = [f"{_show(v['value'])} x{v['count']}" for v in details.get("partial_unexpected_counts") or []]
    if unexpected and values and config.type != "expect_column_values_to_not_be_null":
        outcome.observed += "; values: " + ", ".join(values)
    positions = [int(i) for i in details.get("partial_unexpected_index_list") or [] if isinstance(i, int | np.integer)]
    if positions:
        present = [c for c in dict.fromkeys(sample_columns) if c in rows_of.column_names]
        rows = rows_of.select(present).take(pa.array(positions, pa.int64())).to_pylist()
        outcome.unexpected_sample = [{k: json_scalar(v) for k, v in row.items()} for row in rows]
    return outcome
