"""The typed outcome of a validation run: per expectation, per suite, per run.

Both engines (Great Expectations for row-level expectations, pyarrow for whole-data checks)
produce :class:`Outcome` records, so the report, ``results.json`` and the CLI treat them alike.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

JsonScalar = str | int | float | bool | None
Engine = Literal["great_expectations", "pyarrow"]
Status = Literal["failed", "skipped", "passed"]


class Outcome(BaseModel):
    """One expectation's verdict: what was expected of which column, and what was observed."""

    model_config = ConfigDict(extra="forbid")

    expectation: str  # GE expectation type, e.g. expect_column_values_to_not_be_null
    column: str | None = None  # the column (or "a, b" for a compound key); None for table-level
    success: bool
    skipped: bool = False  # not evaluated (no previous count, missing column); never fails a suite
    engine: Engine = "great_expectations"
    expected: str = ""  # human-readable, e.g. "0 <= value < 100"
    observed: str = ""  # human-readable, e.g. "3 of 1,000 rows (0.3%) outside"
    observed_value: JsonScalar = None  # the raw figure where there is one (a count, a lag in s)
    unexpected_count: int | None = None
    unexpected_percent: float | None = None
    rows_checked: int | None = None
    unexpected_sample: list[dict[str, JsonScalar]] = Field(default_factory=list)  # offending rows
    note: str = ""  # why this expectation exists, or why it was skipped

    @property
    def status(self) -> Status:
        """``failed``, ``skipped`` or ``passed``."""
        if self.skipped:
            return "skipped"
        return "passed" if self.success else "failed"


class SuiteResult(BaseModel):
    """A suite run over one batch: the raw events of a window, or one ETL table."""

    model_config = ConfigDict(extra="forbid")

    name: str  # raw_events, or table:<name>
    source: str  # the path (and window) validated
    rows: int  # rows in the whole batch
    rows_checked: int  # rows the row-level expectations saw (a sample when fewer than rows)
    row_counts: dict[str, int] = Field(default_factory=dict)  # per day (events) or "rows" (tables)
    seconds: float = 0.0
    outcomes: list[Outcome] = Field(default_factory=list)

    @property
    def success(self) -> bool:
        """True when no outcome failed (skipped outcomes do not count)."""
        return not any(o.status == "failed" for o in self.outcomes)

    @property
    def failed(self) -> list[Outcome]:
        """The failed outcomes, in suite order."""
        return [o for o in self.outcomes if o.status == "failed"]

    @property
    def skipped(self) -> list[Outcome]:
        """The skipped outcomes, in suite order."""
        return [o for o in self.outcomes if o.status == "skipped"]

    def sorted_outcomes(self) -> list[Outcome]:
        """Failures first, then skipped, then passed; suite order within each."""
        rank = {"failed": 0, "skipped": 1, "passed": 2}
        return sorted(self.outcomes, key=lambda o: rank[o.status])

    def summary(self) -> dict[str, Any]:
        """The figures the CLI prints: suite, expectations, failed, skipped, success, failures."""
        return {
            "suite": self.name,
            "expectations": len(self.outcomes),
            "failed": len(self.failed),
            "skipped": len(self.skipped),
            "success": self.success,
            "failures": [
                {"column": o.column, "expectation": o.expectation, "expected": o.expected, "observed": o.observed}
                for o in self.failed
            ],
        }


class ValidationRun(BaseModel):
    """Every suite of one invocation; what ``results.json`` holds."""

    model_config = ConfigDict(extra="forbid")

    title: str
    generated_at: datetime
    suites: list[SuiteResult]
    success: bool = True

    def model_post_init(self, context: Any, /) -> None:
        """The run succeeds when every suite does."""
        self.success = all(s.success for s in self.suites)


def json_scalar(value: Any) -> JsonScalar:
    """A JSON-ready scalar for any value GE or pyarrow hands back (timestamps as ISO strings)."""
    if value is None or isinstance(value, bool | str | int):
        return value
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, Decimal):
        return float(value)
    item = getattr(value, "item", None)  # numpy and pandas scalars
    if callable(item):
        try:
            return json_scalar(item())
        except (TypeError, ValueError):
            pass
    isoformat = getattr(value, "isoformat", None)  # pandas.Timestamp
    if callable(isoformat):
        return str(isoformat())
    return str(value)


def fmt_count(n: int) -> str:
    """``1234567`` as ``1,234,567``."""
    return f"{n:,}"


def fmt_percent(part: int, whole: int) -> str:
    """``part`` of ``whole`` as a short percentage, e.g. ``0.03%``."""
    return f"{100.0 * part / whole:.3g}%" if whole else "n/a"
