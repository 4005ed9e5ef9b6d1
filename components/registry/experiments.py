"""Online experiments: how users are split between arms, and the log of every split that was served.

An :class:`ExperimentConfig` names an experiment and its arms; each :class:`ArmConfig` names
the model it serves by a registry reference (an alias such as ``champion``, or a version
number), or :data:`POPULARITY_MODEL` for an arm that serves the popularity ranking on purpose.

The :class:`ExperimentLog` keeps every experiment the platform started, with when and by whom,
under the registry (``<root>/<model>/experiments/<time>-<name>.json``, one small document each,
so object stores need no append). It is the one record of "which experiment was live when":

- serving replicas apply the newest record (no restart), and an admin call writes one;
- the ETL names each event's experiment by the record in force at the event's time
  (:meth:`ExperimentLog.timeline`), so the experiments table can say experiment and date per arm.
"""

from __future__ import annotations

from bisect import bisect_right
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from components.registry.decision import CHAMPION_ARM
from components.registry.registry import CHAMPION
from components.registry.store import Store
from components.storage import Root, StorageOptions

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
"""Experiment, arm and registry-reference names: they appear in hashes, events and file names."""

POPULARITY_MODEL = "popularity"
"""An arm's model that is not a registry reference: the popularity ranking, served on purpose."""

EXPERIMENTS_DIR = "experiments"
"""The folder of the log under a model's folder in the registry."""


class ArmConfig(BaseModel):
    """One arm of an experiment: its share of users and the model it serves."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # the arm's name, echoed in responses and events (e.g. control, treatment)
    name: str = Field(pattern=NAME_PATTERN)
    # the share of users assigned to it; shares are normalised over the arms
    weight: float = Field(default=1.0, gt=0)
    # what it serves: a registry reference (an alias such as champion, or a version number), or "popularity"
    model: str = Field(default=CHAMPION, pattern=NAME_PATTERN)


class ExperimentConfig(BaseModel):
    """An A/B experiment: users split between arms by a hash of (experiment name, user_id)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # the experiment's name: part of the hash, so a new experiment reshuffles users
    name: str = Field(default="default", pattern=NAME_PATTERN)
    arms: tuple[ArmConfig, ...] = (ArmConfig(name=CHAMPION_ARM),)

    @model_validator(mode="after")
    def _unique_arms(self) -> ExperimentConfig:
        names = [arm.name for arm in self.arms]
        if not names:
            raise ValueError("an experiment needs at least one arm")
        if len(set(names)) != len(names):
            raise ValueError(f"arm names must be unique, got {names}")
        return self

    def shares(self) -> dict[str, float]:
        """arm -> its share of users (weights normalised to sum to 1)."""
        total = sum(arm.weight for arm in self.arms)
        return {arm.name: arm.weight / total for arm in self.arms}


class ExperimentRecord(BaseModel):
    """One experiment as it went live: from when, set by whom."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    at: datetime  # when it took effect (UTC)
    experiment: ExperimentConfig
    by: str = Field(default="", max_length=200)  # who set it: admin, the loop, a pipeline run
    reason: str = Field(default="", max_length=2000)

    @field_validator("at")
    @classmethod
    def _utc(cls, at: datetime) -> datetime:
        if at.tzinfo is None:
            raise ValueError("at must carry a timezone (e.g. 2026-01-01T00:00:00Z)")
        return at.astimezone(UTC)

    @property
    def file_name(self) -> str:
        """Sortable by time: ``<UTC time, microseconds>-<name>.json``."""
        return f"{self.at.strftime('%Y%m%dT%H%M%S%fZ')}-{self.experiment.name}.json"


class ExperimentLog:
    """The experiments of one registered model, oldest first; see the module doc."""

    def __init__(self, root: str | Root, model_name: str, storage: StorageOptions | None = None) -> None:
        self.store = Store(root, storage)
        self.model_name = model_name

    def record(
        self, experiment: ExperimentConfig, *, at: datetime | None = None, by: str = "", reason: str = ""
    ) -> ExperimentRecord:
        """Add ``experiment`` to the log as live from ``at`` (now by default); returns the record."""
        entry = ExperimentRecord(at=at or datetime.now(UTC), experiment=experiment, by=by, reason=reason)
        self.store.write_json(entry.model_dump(mode="json"), self.model_name, EXPERIMENTS_DIR, entry.file_name)
        return entry

    def records(self) -> list[ExperimentRecord]:
        """Every record, oldest first (a file that is not a record is skipped)."""
        found = []
        for name in self.store.listdir(self.model_name, EXPERIMENTS_DIR):
            if name.endswith(".json") and not name.startswith("."):
                found.append(
                    ExperimentRecord.model_validate(self.store.read_json(self.model_name, EXPERIMENTS_DIR, name))
                )
        return sorted(found, key=lambda r: r.at)

    def latest(self) -> ExperimentRecord | None:
        """The record in force now (the newest), or None if the log is empty."""
        records = self.records()
        return records[-1] if records else None

    def timeline(self) -> Timeline:
        """The log as a lookup from a time to the experiment live then."""
        return Timeline(self.records())


class Timeline:
    """Which experiment was live at a given time, from the log's records."""

    def __init__(self, records: list[ExperimentRecord]) -> None:
        self.records = sorted(records, key=lambda r: r.at)
        self._starts = [r.at for r in self.records]

    def at(self, when: datetime) -> ExperimentRecord | None:
        """The record in force at ``when`` (the last that started at or before it), or None."""
        index = bisect_right(self._starts, when.astimezone(UTC)) - 1
        return self.records[index] if index >= 0 else None

    def spans(self) -> list[tuple[str, datetime, datetime | None]]:
        """(experiment name, start, end or None for the live one) of each record, oldest first."""
        ends: list[datetime | None] = [*self._starts[1:], None] if self.records else []
        return [(r.experiment.name, r.at, end) for r, end in zip(self.records, ends, strict=True)]
