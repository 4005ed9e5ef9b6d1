"""One night of the loop: the ``promote`` pipeline judges the day's experiment, then ``daily`` learns.

Both run under ``kfp.local``, exactly as ``tinyworld pipeline run`` runs them; the night reads
back what they decided from their outputs and the nightly layout (:mod:`tinyworld.steps`). A
failed task does not stop the loop: the champion keeps serving, and the night's result says
why (for a failed validation: the suites and expectations that failed, and the report).
"""

from __future__ import annotations

import json
import logging
from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from components.registry.step import PromoteResult, RegisterResult
from components.validate.report import REPORT_FILE, RESULTS_FILE
from components.validate.results import ValidationRun
from tinyworld import steps
from tinyworld.pipelines.local import PipelineFailed, run_local, step_seconds, task_output
from tinyworld.settings import Settings

log = logging.getLogger(__name__)


class NightResult(BaseModel):
    """What one night did."""

    model_config = ConfigDict(extra="forbid")

    day: date
    seconds: dict[str, float] = Field(default_factory=dict)  # per step; promote's steps prefixed "promote:"
    pipeline_seconds: dict[str, float] = Field(default_factory=dict)  # per pipeline, KFP's orchestration included
    decision: PromoteResult | None = None  # the online decision on the day's challenger
    evaluation: dict[str, Any] | None = None  # the offline evaluation of the night's candidate
    registered: RegisterResult | None = None  # the candidate, when it passed offline
    failure: str | None = None  # why the night stopped early (the champion kept serving)


def run_night(settings: Settings, day: date, *, experiment: bool, options: steps.NightlyOptions) -> NightResult:
    """The night after ``day``: promote (when the day ran an A/B experiment), then daily."""
    root = steps.kfp_root(settings)
    night = NightResult(day=day)
    arguments = {"day": day.isoformat(), "env": settings.name}
    if experiment:
        try:
            night.pipeline_seconds["promote"] = run_local("promote", arguments, root)
            night.seconds.update({f"promote:{k}": v for k, v in step_seconds(root, "promote").items()})
            output = task_output(root, "promote", "promote")
            night.decision = PromoteResult.model_validate_json(output) if output else None
        except PipelineFailed as error:
            night.failure = f"promote failed: {error}"
            log.error("night of %s: %s", day, night.failure)
    try:
        night.pipeline_seconds["daily"] = run_local("daily", {**arguments, "options": options.model_dump_json()}, root)
    except PipelineFailed as error:
        night.failure = _validation_failure(settings, day) or f"daily failed: {_last_line(str(error))}"
        log.error("night of %s: %s", day, night.failure)
    night.seconds.update(step_seconds(root, "daily"))
    night.evaluation = _evaluation(settings, day)
    registered = task_output(root, "daily", "register") if night.failure is None else None
    night.registered = RegisterResult.model_validate_json(registered) if registered else None
    return night


def _evaluation(settings: Settings, day: date) -> dict[str, Any] | None:
    try:
        loaded: dict[str, Any] = json.loads(steps.Night.of(settings, day).root.join("evaluation.json").read_text())
    except (OSError, ValueError):
        return None
    return loaded


def _validation_failure(settings: Settings, day: date) -> str | None:
    """The failed suites and expectations of the night's validation, and its report; None if it passed."""
    folder = steps.Night.of(settings, day).root.join("validation")
    try:
        verdict = ValidationRun.model_validate_json(folder.join(RESULTS_FILE).read_text())
    except (OSError, ValidationError):
        return None
    if verdict.success:
        return None
    failed = []
    for suite in verdict.suites:
        for outcome in suite.outcomes:
            if not outcome.success and not outcome.skipped:
                column = f"({outcome.column})" if outcome.column else ""
                failed.append(f"{suite.name}: {outcome.expectation}{column} observed {outcome.observed}")
    return f"validation failed: {'; '.join(failed[:5])}; report: {folder.join(REPORT_FILE).url}"


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else text
