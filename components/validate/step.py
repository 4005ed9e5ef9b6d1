"""The validation step: the data-quality gate over raw events and the ETL's tables.

``run(ValidateParams(...), StepIO(...))`` validates a window of the lake, the ETL's output, or
both; writes ``report.html`` and ``results.json`` under ``params.report``; keeps the row counts
of passing suites in ``params.state`` for the next run's bounds; and raises
:class:`ValidationFailed` (a :class:`~components.step.StepError` naming the report) when any
suite fails, so a pipeline stops there. Bad input (no lake, an empty window) raises
:class:`~components.validate.read.ValidationInputError`.
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from components.step import Lineage, StepError, StepIO, Window, timed
from components.validate.config import ValidateConfig
from components.validate.results import SuiteResult
from components.validate.state import STATE_FILE, RowCountState

log = logging.getLogger(__name__)


class ValidateParams(BaseModel):
    """What to validate (events, tables or both), where the report and the state go, and the bounds."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    report: str  # folder for report.html and results.json: a path or an object-store URL
    lake: str | None = None  # the event lake root; None: no raw-event suite
    window: Window | None = None  # the days of raw events to validate (required with lake)
    etl_out: str | None = None  # the ETL's output root; None: no table suites
    tables: tuple[str, ...] | None = None  # which ETL tables; None: all of them
    # last day of the ETL's window, for the tables' freshness; None: freshness is skipped
    tables_end: date | None = None
    state: str | None = None  # the row-count state file; None: <report>/state.json
    now: datetime | None = None  # events after this instant are 'in the future'; None: the clock
    config: ValidateConfig = Field(default_factory=ValidateConfig)  # tolerances, sampling
    title: str | None = None  # the report's title; None: one naming what was validated

    @model_validator(mode="after")
    def _something_to_validate(self) -> Self:
        if self.lake is None and self.etl_out is None:
            raise ValueError("nothing to validate: give lake (with window) and/or etl_out")
        if self.lake is not None and self.window is None:
            raise ValueError("validating the lake needs a window (start and end days)")
        if self.now is not None and self.now.tzinfo is None:
            raise ValueError("now must carry a timezone, e.g. 2026-01-02T00:00:00Z")
        return self


class ValidateResult(BaseModel):
    """The gate's verdict, where its report is, and a summary per suite."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    success: bool
    report: str  # the HTML page
    results: str  # results.json beside it
    state: str  # the row-count state file
    suites: list[dict[str, Any]]  # SuiteResult.summary() of each suite
    lineage: Lineage

    def failures(self) -> list[str]:
        """One line per failed suite: its name and how many expectations failed."""
        return [f"{s['suite']} ({s['failed']} failed)" for s in self.suites if not s["success"]]


class ValidationFailed(StepError):
    """At least one suite failed; ``result`` holds the verdict and the report's location."""

    def __init__(self, result: ValidateResult) -> None:
        super().__init__(f"data validation failed: {', '.join(result.failures())}", report=result.report)
        self.result = result


def _title(params: ValidateParams) -> str:
    if params.title:
        return params.title
    parts = []
    if params.window is not None:
        parts.append(f"raw events {params.window.start}..{params.window.end}")
    if params.etl_out is not None:
        parts.append(f"ETL tables in {params.etl_out}")
    return "Validation of " + " and ".join(parts)


def validate(params: ValidateParams, io: StepIO, state: RowCountState) -> list[SuiteResult]:
    """Run the suites ``params`` asks for against the previous counts in ``state``."""
    from components.validate.run import validate_events, validate_tables

    results: list[SuiteResult] = []
    if params.lake is not None and params.window is not None:
        io.progress("validating raw events", 0.0)
        lake = str(io.root(params.lake))
        window = params.window
        results.append(
            validate_events(
                lake, window.start, window.end, params.now, config=params.config, state=state, storage=io.storage
            )
        )
    if params.etl_out is not None:
        io.progress("validating the ETL's tables", 0.5)
        results += validate_tables(
            str(io.root(params.etl_out)),
            params.tables,
            params.tables_end,
            config=params.config,
            state=state,
            storage=io.storage,
        )
    return results


def run(params: ValidateParams, io: StepIO) -> ValidateResult:
    """Validate, write the report and the new state; raise :class:`ValidationFailed` on any failed suite."""
    from components.validate.report import RESULTS_FILE, publish_report
    from components.validate.run import remember_counts

    report = io.root(params.report)
    state_root = io.root(params.state) if params.state else report.join(STATE_FILE)
    with timed() as elapsed:
        state = RowCountState.load(state_root)
        results = validate(params, io, state)
        page = publish_report(results, report, _title(params))
        remember_counts(state, results, params.config.state_days).save(state_root)
        io.progress("done", 1.0)
    inputs = {"lake": str(io.root(params.lake))} if params.lake else {}
    if params.etl_out:
        inputs["etl"] = str(io.root(params.etl_out))
    result = ValidateResult(
        success=all(r.success for r in results),
        report=page,
        results=report.join(RESULTS_FILE).url,
        state=state_root.url,
        suites=[r.summary() for r in results],
        lineage=Lineage(
            step="validate",
            inputs=inputs,
            outputs={"report": page},
            window=params.window,
            params=params.model_dump(mode="json"),
            seconds=elapsed(),
        ),
    )
    if not result.success:
        log.error("validation failed: %s; report: %s", ", ".join(result.failures()), page)
        raise ValidationFailed(result)
    return result
