"""The evaluation step: a candidate model against popularity and the current champion, offline.

``run(EvaluateParams(...), StepIO(...))`` loads its own inputs (the candidate's folder, the
split's halves and ``split.json``, and the champion through the registry's alias), ranks the
full catalogue for every test user, decides whether the candidate may be promoted, and writes
the report as JSON. A rejected candidate is a result (``passed`` is False), not an error: the
pipeline branches on it.
"""

from __future__ import annotations

import json
import logging
import zipfile
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from components.evaluate.data import EvaluationInputError
from components.evaluate.evaluator import EvaluateConfig
from components.evaluate.promotion import PromotionConfig
from components.registry.registry import CHAMPION, DEFAULT_MODEL_NAME, Registry, RegistryError
from components.step import Lineage, StepIO, timed

if TYPE_CHECKING:
    from components.train.artifact import ModelArtifact

log = logging.getLogger(__name__)


class EvaluateParams(BaseModel):
    """The candidate, the split to judge it on, where the champion is, and the thresholds."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str  # the candidate's folder (or URL), as training saved it
    train: str  # TRAIN interactions: fit popularity; their positives are never recommended
    test: str  # TEST interactions: the positives to retrieve
    report: str | None = None  # where the JSON report goes (a file path or URL); None: not written
    champion: str | None = None  # the champion's folder (or URL); None: the registry's alias, if any
    registry: str | None = None  # the registry to find the champion in (when champion is None)
    model_name: str = DEFAULT_MODEL_NAME  # the registered model's name
    champion_alias: str = CHAMPION  # the alias the candidate must beat
    config: EvaluateConfig = Field(default_factory=EvaluateConfig)  # K, chunking, device, cold users
    promotion: PromotionConfig = Field(default_factory=PromotionConfig)  # the offline promotion rule
    upstream: list[Lineage] = []  # the lineage of the model and the split, handed on


class EvaluateResult(BaseModel):
    """The verdict, the report's location and its headline figures."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    passed: bool  # the offline promotion rule's verdict
    reason: str  # why, with the figures
    report: str | None  # the JSON report, when written
    evaluation: dict[str, Any]  # the whole report: metric blocks, protocol, promotion decision
    model_version: str  # the candidate artifact's version
    champion_version: int | None  # the registry version it was compared with, if any
    metrics: dict[str, Any]  # the candidate's metric block
    lineage: Lineage


_LOAD_ERRORS = (OSError, ValueError, KeyError, RuntimeError, EOFError, ImportError, zipfile.BadZipFile)
"""What reading a damaged or absent model folder can raise."""


def _load(location: str, role: str, io: StepIO) -> ModelArtifact:
    """The model at ``location``, or an EvaluationInputError naming its role and where it was looked for."""
    from components.train.artifact import load_model

    try:
        return load_model(location, storage=io.storage)
    except _LOAD_ERRORS as error:
        raise EvaluationInputError(f"cannot load the {role} model at {location}: {error}") from None


def _champion(params: EvaluateParams, io: StepIO) -> tuple[int | None, str] | None:
    """The champion's registry version (None for a folder given directly) and folder, if any."""
    if params.champion is not None:
        return None, str(io.root(params.champion))
    if params.registry is None:
        return None
    registry = Registry(str(io.root(params.registry)), storage=io.storage)
    try:
        number = registry.resolve(params.model_name, params.champion_alias)
    except RegistryError as error:
        log.info("no champion to compare with: %s", error)
        return None
    return number, registry.get(params.model_name, number)


def _family(model: ModelArtifact) -> str:
    """The model family its metadata names (artifacts from before families were two-towers) and any popularity term."""
    family = str(model.metadata.get("family", "two-tower"))
    weight = model.metadata.get("popularity", {}).get("weight")
    return f"{family} + popularity x{weight:g}" if weight else family


def run(params: EvaluateParams, io: StepIO) -> EvaluateResult:
    """Evaluate (and write the report); EvaluationInputError / InteractionsError for unusable inputs or models."""
    from components.evaluate.evaluator import evaluate
    from components.split.run import read_split_summary
    from components.split.table import read_interactions

    train_url, test_url = str(io.root(params.train)), str(io.root(params.test))
    with timed() as elapsed:
        io.progress("loading", 0.0)
        candidate = _load(str(io.root(params.model)), "candidate", io)
        found = _champion(params, io)
        champion = _load(found[1], "champion", io) if found else None
        train = read_interactions(train_url, columns=(), storage=io.storage)
        test = read_interactions(test_url, columns=(), storage=io.storage)
        split = read_split_summary(test_url, storage=io.storage) or {"train": train_url, "test": test_url}
        io.progress("ranking", 0.3)
        report = evaluate(candidate, train, test, params.config, champion, params.promotion, split)
        report.protocol["model"] = {
            "path": str(io.root(params.model)),
            "version": candidate.version,
            "family": _family(candidate),
        }
        if found is not None and champion is not None:
            report.protocol["champion"] = {
                "path": found[1],
                "version": champion.version,
                "registry_version": found[0],
                "family": _family(champion),
            }
        destination = io.root(params.report) if params.report else None
        if destination is not None:
            destination.write_text(json.dumps(report.to_dict(), indent=2))
        io.progress("done", 1.0)
    decision = report.promotion
    assert decision is not None  # evaluate() always decides
    inputs = {"model": str(io.root(params.model)), "train": train_url, "test": test_url}
    if found is not None:
        inputs["champion"] = found[1]
    return EvaluateResult(
        passed=decision.promote,
        reason=decision.reason,
        report=destination.url if destination else None,
        evaluation=report.to_dict(),
        model_version=candidate.version,
        champion_version=found[0] if found else None,
        metrics=report.model.model_dump(),
        lineage=Lineage(
            step="evaluate",
            inputs=inputs,
            outputs={"report": destination.url} if destination else {},
            params=params.model_dump(mode="json", exclude={"upstream"}),
            seconds=elapsed(),
            upstream=params.upstream,
        ),
    )
