"""The register and promote steps: a trained model in as the challenger; the experiment's verdict out.

- ``run_register(RegisterParams(...), StepIO(...))`` copies a model artifact into the registry
  with its evaluation, data window, features, code version and upstream lineage, and points
  the ``challenger`` alias at it, unless its offline evaluation rejected it (then the version
  is kept, without an alias: it could never be promoted).
- ``run_promote(PromoteParams(...), StepIO(...))`` reads the rows of one (date, experiment) of
  the ETL's experiments table (the latest day and the experiment live then with both arms,
  unless named), decides with :func:`components.registry.decision.decide` and applies the
  decision through :meth:`Registry.promote` / :meth:`Registry.retire`, with the figures as the
  reason and its details. With no champion yet, the challenger is promoted if its offline
  evaluation passed.

These are what ``tinyworld registry register``, the ``daily`` and ``promote`` pipelines and the
closed loop call. The promote step must judge the challenger that served the window: run it
before the night's register moves the alias, or pass the versions that served
(``champion_version``, ``challenger_version``), which turns a moved alias into ``keep``.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from components.registry.decision import (
    CHALLENGER_ARM,
    CHAMPION_ARM,
    PER_USER,
    PRIMARY_METRIC,
    Action,
    Decision,
    DecisionConfig,
    Metric,
    decide,
    model_version_label,
    select_rows,
)
from components.registry.registry import (
    ALIASES_FILE,
    CHALLENGER,
    CHAMPION,
    DEFAULT_MODEL_NAME,
    PromotionRefusedError,
    Registry,
)
from components.step import Lineage, StepIO, Window, timed

log = logging.getLogger(__name__)


def open_registry(root: str, io: StepIO) -> Registry:
    """The registry at ``root`` (a folder or URL), reached with ``io``'s storage options."""
    return Registry(io.root(root))


def _upstream(*records: dict[str, Any] | None) -> list[Lineage]:
    """The records that are step lineages (others, e.g. from older trainers, are skipped with a note)."""
    lineages = []
    for record in records:
        if record is None:
            continue
        try:
            lineages.append(Lineage.model_validate(record))
        except ValidationError as error:
            log.warning("an upstream lineage record is not a step lineage, kept only in the registry: %s", error)
    return lineages


def _window_of(lineage: Lineage) -> Window | None:
    """The first data window along ``lineage``'s chain (training's own, else its inputs')."""
    if lineage.window is not None:
        return lineage.window
    for upstream in lineage.upstream:
        if (window := _window_of(upstream)) is not None:
            return window
    return None


# --- register ------------------------------------------------------------------------------


class RegisterParams(BaseModel):
    """Which model to register, where, with which evaluation, under which alias."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    registry_root: str  # the registry: a folder or an object-store URL
    model: str  # the model artifact's folder (or URL), as training saved it (with metadata.json)
    evaluation: str | None = None  # the evaluation's JSON report (path or URL); None registers without one
    model_name: str = DEFAULT_MODEL_NAME  # the model's name in the registry
    alias: str | None = CHALLENGER  # the alias pointed at the new version; None points none
    description: str = ""  # a note kept with the version
    # with no champion yet, a version that passed offline becomes the champion rather than the
    # challenger: the first model has nothing to be tested against online (the nightly pipeline's rule)
    first_is_champion: bool = False


class RegisterResult(BaseModel):
    """The registered version, the alias now pointing at it, and the lineage."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model_name: str
    version: int  # the registry's number for it: 1, 2, 3...
    model_version: str | None  # the artifact's own version string
    path: str  # the version's folder in the registry
    alias: str | None  # the alias pointing at it now; None when none was set
    offline_passed: bool | None  # the evaluation's verdict; None without an evaluation
    reason: str  # why the alias was (or was not) set
    lineage: Lineage


def _read_evaluation(location: str, io: StepIO) -> tuple[str, dict[str, Any]]:
    """The evaluation report at ``location``: its URL and its JSON object; ValueError if unusable."""
    root = io.root(location)
    try:
        report = json.loads(root.read_text())
    except FileNotFoundError:
        raise FileNotFoundError(f"no evaluation report at {root.url}") from None
    except ValueError as error:
        raise ValueError(f"the evaluation report {root.url} is not JSON: {error}") from None
    if not isinstance(report, dict):
        raise ValueError(f"the evaluation report {root.url} is not a JSON object")
    promotion = report.get("promotion")
    if promotion is not None and not (isinstance(promotion, dict) and isinstance(promotion.get("promote"), bool)):
        raise ValueError(f"the evaluation report {root.url} has a 'promotion' block without a boolean 'promote'")
    return root.url, report


def run_register(params: RegisterParams, io: StepIO) -> RegisterResult:
    """Register ``params.model`` with its evaluation and point ``params.alias`` at it.

    The alias is not set when the evaluation rejected the model (the version is still
    registered, for the record); setting ``champion`` this way obeys the promotion rule.
    FileNotFoundError for a missing model or report, ValueError for an unusable report,
    RegistryError for a bad name or alias.
    """
    with timed() as elapsed:
        io.progress("reading the evaluation", 0.0)
        inputs = {"model": io.root(params.model).url}
        report: dict[str, Any] | None = None
        if params.evaluation is not None:
            inputs["evaluation"], report = _read_evaluation(params.evaluation, io)
        registry = open_registry(params.registry_root, io)
        io.progress("copying the model into the registry", 0.2)
        record = registry.register(
            inputs["model"], params.model_name, evaluation=report, description=params.description
        )
        passed, why = record.offline_verdict()
        alias: str | None = None
        if params.alias is None:
            reason = "registered without an alias"
        elif passed is False:
            reason = f"{params.alias} not set: the offline evaluation rejected version {record.version} ({why})"
            log.warning("%s: %s", params.model_name, reason)
        else:
            alias = params.alias
            reason = f"registered from {inputs['model']}; offline evaluation: {why}"
            if params.first_is_champion and CHAMPION not in registry.aliases(params.model_name):
                alias, reason = CHAMPION, f"first model, no champion yet: {reason}"
            registry.set_alias(params.model_name, alias, record.version, reason=reason)
        io.progress("done", 1.0)
    upstream = _upstream(record.lineage, (report or {}).get("lineage"))
    windows = [w for w in map(_window_of, upstream) if w is not None]
    lineage = Lineage(
        step="register",
        inputs=inputs,
        outputs={"version": record.path},
        window=Window(start=min(w.start for w in windows), end=max(w.end for w in windows)) if windows else None,
        params=params.model_dump(mode="json"),
        seconds=elapsed(),
        upstream=upstream,
    )
    return RegisterResult(
        model_name=params.model_name,
        version=record.version,
        model_version=record.model_version,
        path=record.path,
        alias=alias,
        offline_passed=passed,
        reason=reason,
        lineage=lineage,
    )


# --- promote -------------------------------------------------------------------------------


class PromoteParams(BaseModel):
    """Which experiment to judge, which arms served which alias, and the thresholds."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    registry_root: str  # the registry: a folder or an object-store URL
    experiments: str  # the ETL's `experiments` table folder (or URL) for the decision window
    model_name: str = DEFAULT_MODEL_NAME  # the model's name in the registry
    # the day judged (the table's `date`); None: the latest day in the table
    date: dt.date | None = None
    # the experiment judged (the table's `experiment`); None: the one live that day with both arms
    experiment: str | None = None
    champion_arm: str = CHAMPION_ARM  # the arm that served the champion alias
    challenger_arm: str = CHALLENGER_ARM  # the arm that served the challenger alias
    metric: Metric = PRIMARY_METRIC  # the primary metric: per-user CTR or engagement, with its Welch interval
    thresholds: DecisionConfig = Field(default_factory=DecisionConfig)  # min users, SRM alpha, min effect
    window: Window | None = None  # the days the table covers, for the record and the lineage
    # the window is the experiment's whole planned run: a challenger that has not won is retired
    window_complete: bool = True
    # the versions that served the arms in the window, when known: a moved alias means the table
    # judges other models, so the decision is keep
    champion_version: int | None = Field(default=None, ge=1)
    challenger_version: int | None = Field(default=None, ge=1)


class PromoteResult(BaseModel):
    """What was decided and applied, why, about which versions, and the lineage."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    decision: Action
    reason: str  # one line with the figures, as recorded in the alias history
    model_name: str
    champion: int | None  # the champion's version before the decision
    challenger: int | None  # the challenger's version judged
    new_champion: int | None  # the champion's version after it
    figures: Decision | None = None  # the experiment's figures; None when the table was not needed
    lineage: Lineage


def read_experiments(location: str, io: StepIO) -> list[dict[str, Any]]:
    """The experiments table's rows (one per date, experiment and arm); FileNotFoundError if absent."""
    import pyarrow.dataset as ds

    root = io.root(location)
    if not root.exists():
        raise FileNotFoundError(f"no experiments table at {root.url} (the ETL writes <out>/experiments)")
    filesystem, path = root.arrow()
    table = ds.dataset(path, filesystem=filesystem, format="parquet").to_table()
    needed = {
        "date",
        "experiment",
        "arm",
        "control_arm",
        "users",
        "impressions",
        "clicks",
        "srm_p_value",
        *PER_USER.values(),
    }
    missing = sorted(needed - set(table.column_names))
    if missing:
        raise ValueError(f"{root.url} is not an experiments table: missing columns {missing}")
    rows: list[dict[str, Any]] = table.to_pylist()
    return rows


class _Verdict(BaseModel):
    """What :func:`_judge` concluded, before it is applied."""

    action: Action
    reason: str
    details: dict[str, Any] = {}
    figures: Decision | None = None


def _judge(registry: Registry, params: PromoteParams, io: StepIO, champion: int | None, challenger: int) -> _Verdict:
    """The verdict on ``challenger``: from its offline evaluation without a champion, else from the table."""
    name = params.model_name
    if champion is None:
        passed, why = registry.show(name, challenger).offline_verdict()
        details = {"offline_evaluation": why}
        if passed is False:
            reason = f"retire: no champion yet, but version {challenger}'s offline evaluation rejected it ({why})"
            return _Verdict(action="retire", reason=reason, details=details)
        reason = f"promote: first model, no champion yet; version {challenger}'s offline evaluation: {why}"
        return _Verdict(action="promote", reason=reason, details=details)
    if challenger == champion:
        return _Verdict(action="keep", reason=f"keep: the {CHALLENGER} is already the {CHAMPION} (version {champion})")
    if params.champion_version not in (None, champion) or params.challenger_version not in (None, challenger):
        reason = (
            f"keep: the aliases moved since the window (served champion v{params.champion_version}, "
            f"challenger v{params.challenger_version}; now v{champion}, v{challenger})"
        )
        return _Verdict(action="keep", reason=reason)
    io.progress("reading the experiments table", 0.2)
    _, _, rows = select_rows(
        read_experiments(params.experiments, io),
        date=params.date,
        experiment=params.experiment,
        champion_arm=params.champion_arm,
        challenger_arm=params.challenger_arm,
    )
    figures = decide(
        rows,
        champion_arm=params.champion_arm,
        challenger_arm=params.challenger_arm,
        metric=params.metric,
        config=params.thresholds,
        window_complete=params.window_complete,
        champion_version=model_version_label(name, champion),
        challenger_version=model_version_label(name, challenger),
    )
    return _Verdict(
        action=figures.action,
        reason=figures.reason,
        details=figures.model_dump(mode="json", exclude={"reason"}),
        figures=figures,
    )


def run_promote(params: PromoteParams, io: StepIO) -> PromoteResult:
    """Judge the challenger on the experiment and promote, retire or keep it (see the module doc).

    FileNotFoundError when the experiments table is needed and absent; ValueError for a table
    whose control arm is neither of the two arms.
    """
    name = params.model_name
    root = io.root(params.registry_root)
    with timed() as elapsed:
        io.progress("reading the aliases", 0.0)
        registry = open_registry(params.registry_root, io)
        aliases = registry.aliases(name)
        champion, challenger = aliases.get(CHAMPION), aliases.get(CHALLENGER)
        if challenger is None:
            verdict = _Verdict(action="keep", reason=f"keep: {name} has no {CHALLENGER} alias; nothing to judge")
        else:
            verdict = _judge(registry, params, io, champion, challenger)
        action, reason = verdict.action, verdict.reason
        if params.window is not None:
            reason = f"{reason} (window {params.window.start}..{params.window.end})"
        io.progress(f"{action}: applying", 0.8)
        new_champion = champion
        try:
            if action == "promote" and challenger is not None:
                new_champion = registry.promote(name, challenger, reason=reason, details=verdict.details).version
            elif action == "retire":
                registry.retire(name, CHALLENGER, reason=reason, details=verdict.details)
        except PromotionRefusedError as error:  # won online, rejected offline: a person decides
            action, reason = "keep", f"keep: {error}; the experiment said {reason}"
            log.warning("%s: %s", name, reason)
        log.info("%s: %s", name, reason)
        io.progress("done", 1.0)
    inputs = {"registry": root.url}
    if verdict.figures is not None:
        inputs["experiments"] = io.root(params.experiments).url
    lineage = Lineage(
        step="promote",
        inputs=inputs,
        outputs={"aliases": root.join(name, ALIASES_FILE).url} if action != "keep" else {},
        window=params.window,
        params=params.model_dump(mode="json"),
        seconds=elapsed(),
    )
    return PromoteResult(
        decision=action,
        reason=reason,
        model_name=name,
        champion=champion,
        challenger=challenger,
        new_champion=new_champion,
        figures=verdict.figures,
        lineage=lineage,
    )
