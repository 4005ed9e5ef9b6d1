"""The pipeline tasks: each takes strings (environment, day, upstream results as JSON), runs one step.

A Kubeflow component is a three-line wrapper that imports and calls one of these; the direct
runner (``tinyworld.pipelines.direct``) calls the very same functions in one process. Each task
loads the environment's settings (its YAML plus ``TINYWORLD_*`` variables, which a pod gets from
the chart), maps them to the step's parameters (:mod:`tinyworld.steps`) and returns the step's
result as JSON, which carries the lineage on to the next task. The ETL and training run where the
environment says (:mod:`tinyworld.launch.dispatch`): in the task's process, or as a SparkApplication
and a TrainJob whose result comes back the same.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta

from components.etl.step import EtlStepResult
from components.evaluate.step import EvaluateResult
from components.split.step import SplitResult
from components.train.step import TrainResult
from tinyworld import steps
from tinyworld.commands.common import LOG_FORMAT, quiet_libraries
from tinyworld.launch import dispatch
from tinyworld.settings import Settings


def _settings(env: str) -> Settings:
    settings = Settings.from_environment(env)
    logging.basicConfig(level=settings.log_level, format=LOG_FORMAT)
    logging.getLogger().setLevel(settings.log_level)  # KFP's executor configured the root logger first
    quiet_libraries(settings.log_level)
    return settings


def night_of(day: str) -> date:
    """The day a nightly run processes: ``day`` (YYYY-MM-DD), or yesterday (UTC) when empty."""
    if not day:
        return datetime.now(UTC).date() - timedelta(days=1)
    try:
        return date.fromisoformat(day)
    except ValueError:
        raise ValueError(f"day {day!r} is not a date (YYYY-MM-DD)") from None


def options_of(options: str) -> steps.NightlyOptions:
    """The night's options from JSON (empty: the defaults)."""
    return steps.NightlyOptions.model_validate_json(options) if options else steps.NightlyOptions()


def etl(env: str, day: str, options: str = "") -> str:
    """Run the night's ETL; the resolved day travels on in the result's window."""
    settings = _settings(env)
    params = steps.etl(settings, night_of(day), options_of(options))
    return dispatch.etl(settings, params).model_dump_json()


def validate(env: str, etl_result: str) -> str:
    """The data-quality gate; raises (failing the task) when a suite fails, naming the report."""
    import great_expectations  # noqa: F401  (its import sets its loggers' levels: quiet them after)

    from components.validate.step import run

    settings = _settings(env)
    params = steps.validate(settings, EtlStepResult.model_validate_json(etl_result))
    return run(params, steps.io(settings)).model_dump_json()


def features(env: str, etl_result: str) -> str:
    """Apply the feature definitions over the night's tables and materialise them online."""
    from components.features.step import run

    settings = _settings(env)
    params = steps.features(settings, EtlStepResult.model_validate_json(etl_result))
    return run(params, steps.io(settings)).model_dump_json()


def split(env: str, etl_result: str, options: str = "") -> str:
    """The night's split of its interactions."""
    from components.split.step import run

    settings = _settings(env)
    params = steps.split(settings, EtlStepResult.model_validate_json(etl_result), options_of(options))
    return run(params, steps.io(settings)).model_dump_json()


def train(env: str, etl_result: str, split_result: str, options: str = "") -> str:
    """Train the night's candidate."""
    settings = _settings(env)
    etl_out = EtlStepResult.model_validate_json(etl_result)
    halves = SplitResult.model_validate_json(split_result)
    params = steps.train(settings, etl_out, halves, options_of(options))
    return dispatch.train(settings, params).model_dump_json()


def evaluate(env: str, train_result: str, split_result: str, options: str = "") -> str:
    """Evaluate the candidate against popularity and the champion (a rejection is a result, not an error)."""
    from components.evaluate.step import run

    settings = _settings(env)
    trained = TrainResult.model_validate_json(train_result)
    params = steps.evaluate(settings, trained, SplitResult.model_validate_json(split_result), options_of(options))
    return run(params, steps.io(settings)).model_dump_json()


def refit(env: str, etl_result: str, train_result: str, options: str = "") -> str:
    """The model to register: the candidate refit on the whole window, or as evaluated when refit is off."""
    nightly = options_of(options)
    if not nightly.refit:
        return train_result
    settings = _settings(env)
    trained = TrainResult.model_validate_json(train_result)
    params = steps.refit(settings, EtlStepResult.model_validate_json(etl_result), trained, nightly)
    return dispatch.train(settings, params).model_dump_json()


def passed(evaluate_result: str) -> bool:
    """Whether the evaluated candidate may become the challenger (the pipeline's condition)."""
    return EvaluateResult.model_validate_json(evaluate_result).passed


def register(env: str, train_result: str, evaluate_result: str) -> str:
    """Register the candidate and point the challenger alias at it."""
    from components.registry.step import run_register

    settings = _settings(env)
    trained = TrainResult.model_validate_json(train_result)
    params = steps.register(settings, trained, EvaluateResult.model_validate_json(evaluate_result))
    return run_register(params, steps.io(settings)).model_dump_json()


def experiments(env: str, day: str) -> str:
    """The day's A/B outcome: the ETL's ``experiments`` table for that day alone."""
    settings = _settings(env)
    return dispatch.etl(settings, steps.experiments(settings, night_of(day))).model_dump_json()


def promote(env: str, experiments_result: str) -> str:
    """Read the day's experiment and promote the challenger to champion, or retire it."""
    from components.registry.step import run_promote

    settings = _settings(env)
    params = steps.promote(settings, EtlStepResult.model_validate_json(experiments_result))
    return run_promote(params, steps.io(settings)).model_dump_json()
