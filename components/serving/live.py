"""What a recommender serves now: the experiment in force, its arms' assignment and models, as one object.

Arms and their weights change while the server runs (an admin call, or a newer record in the
registry's :class:`~components.registry.experiments.ExperimentLog`). A request reads the
recommender's :class:`Live` once and ranks every user with it, so it runs wholly on the old
experiment or wholly on the new one: the assigner, the arm -> model map and the models
themselves are replaced together by one assignment, after any new model has been loaded.

:class:`Applied` is one experiment as this process applied it (when, and from where); the
recommender keeps the last :data:`HISTORY_LIMIT` of them for ``GET /admin/experiment``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from components.registry.experiments import POPULARITY_MODEL, ExperimentConfig, ExperimentRecord
from components.serving.experiments import Assigner
from components.serving.models import LoadedModel, Problem

Source = Literal["config", "registry", "admin"]
"""Where an applied experiment came from: ServingConfig at start-up, the registry's log, the admin API."""

HISTORY_LIMIT = 100
"""Experiments applied by this process that ``GET /admin/experiment`` lists (newest last)."""

CONFIG_BY = "config"
"""The ``by`` of the record made from ServingConfig.experiment at start-up."""


def now() -> datetime:
    """The current time, UTC."""
    return datetime.now(UTC)


def config_record(experiment: ExperimentConfig) -> ExperimentRecord:
    """The record of the experiment a recommender starts with when the registry's log has none."""
    return ExperimentRecord(at=now(), experiment=experiment, by=CONFIG_BY, reason="ServingConfig.experiment")


@dataclass(frozen=True)
class Applied:
    """One experiment as this process applied it: the record, when it took effect here, and from where."""

    record: ExperimentRecord
    source: Source
    applied_at: datetime = field(default_factory=now)

    def to_json(self) -> dict[str, object]:
        return {"record": self.record.model_dump(mode="json"), "source": self.source, "applied_at": self.applied_at}


@dataclass(frozen=True)
class ArmHealth:
    """What one arm serves now, and what is wrong with it."""

    arm: str
    model: str  # the arm's configured model: a registry reference or "popularity"
    serves: str  # the model_version its users get
    error: str | None = None  # it serves the popularity fallback by accident: say why and what to do
    warning: str | None = None  # it serves, but not what the registry designates now


@dataclass(frozen=True)
class Live:
    """The experiment in force with its assigner and its arms' models; replaced whole, never changed."""

    applied: Applied
    assigner: Assigner
    arm_refs: Mapping[str, str]  # arm -> its model: a registry reference or "popularity"
    models: Mapping[str, LoadedModel]  # registry reference -> the model it designates

    @classmethod
    def of(cls, applied: Applied, models: Mapping[str, LoadedModel]) -> Live:
        experiment = applied.record.experiment
        arm_refs = {arm.name: arm.model for arm in experiment.arms}
        return cls(applied, Assigner(experiment), arm_refs, models)

    def with_models(self, models: Mapping[str, LoadedModel]) -> Live:
        """The same experiment over another set of models (after a refresh)."""
        return Live(self.applied, self.assigner, self.arm_refs, models)

    def model(self, arm: str) -> LoadedModel | None:
        """The model behind ``arm`` (None for popularity or an unresolved reference)."""
        return self.models.get(self.arm_refs[arm])

    def health(self, problems: Mapping[str, Problem], fallback: str) -> list[ArmHealth]:
        """Each arm's state; ``problems`` are the model set's, ``fallback`` the fallback's model_version."""
        arms = []
        for arm, ref in self.arm_refs.items():
            if ref == POPULARITY_MODEL:
                arms.append(ArmHealth(arm, ref, fallback))
                continue
            model, problem = self.models.get(ref), problems.get(ref)
            if model is None:
                why = problem.message if problem is not None else "is not loaded yet"
                error = (
                    f"arm {arm!r} serves the popularity fallback: its model {ref!r} does not resolve ({why}). "
                    f"Point {ref!r} at a version in the registry, or give the arm another model "
                    "(PUT /admin/experiment)"
                )
                arms.append(ArmHealth(arm, ref, fallback, error=error))
            else:
                warning = f"arm {arm!r}: {problem.message}" if problem is not None else None
                arms.append(ArmHealth(arm, ref, model.label, warning=warning))
        return arms
