"""A run of the loop on disk: its options, folders and what each day and night did (``state.json``).

Layout of ``runs/<id>/``::

    state.json          the options and every day and night so far (rewritten atomically)
    result.json         the summary ``--json`` prints; report.html: the page with the plots
    lake/ artifacts/ registry/   the platform's roots for this run (TINYWORLD_* for its processes)
    world/              SimNet's checkpoint and journal (a stopped run resumes from them)
    peers/<policy>/     SimNet's reference runs of the same days and seed
    logs/               the platform's log and each night's pipeline logs
    monitor/            with --monitor: Prometheus' config and data
"""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from tinyworld.loop.nights import NightResult
from tinyworld.loop.slo import SloReport
from tinyworld.steps import NightlyOptions

RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class UpOptions(BaseModel):
    """What ``tinyworld up`` runs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    users: int = Field(100_000, ge=100)  # SimNet users at the start
    days: int = Field(3, ge=1, le=365)  # days lived (a night follows each)
    seed: int = Field(7, ge=0)  # the world's seed, shared with the reference runs
    world_config: Path | None = None  # a SimNet world YAML; None: the calibrated default
    # each night's options: history (at most; a young run reports the days it has), training, offline gate
    nightly: NightlyOptions = Field(default_factory=NightlyOptions)
    batch_users: int = Field(1_000, ge=1)  # users per recommendation request
    ray: bool = True  # serve on Ray Serve (else uvicorn in one process)
    peers: bool = True  # run SimNet's popularity and oracle policies on the same days
    # keep one Spark (a Spark Connect server) alive for the whole run, so the nights' ETL runs
    # connect to a warm JVM instead of starting and warming up their own
    warm_spark: bool = True
    port: int | None = Field(None, ge=1, le=65535)  # the platform's port on 127.0.0.1; None: serve_port
    monitor: bool = False  # a local Prometheus with the chart's alert rules; the report shows the SLOs


class DayRecord(BaseModel):
    """One lived day: what the world measured, overall and per arm, and where the time went."""

    model_config = ConfigDict(extra="forbid")

    day: int  # 1-based
    date: str
    experiment: str  # the experiment live that day
    arms: dict[str, str]  # arm -> the model version it served
    world: dict[str, float | int | str | None]  # SimNet's row for the day (score, ctr, dau, ...)
    by_arm: list[dict[str, float | int | str | None]]  # SimNet's per-arm rows for the day
    seconds: dict[str, float]  # day (wall), world, serving, delivery (in the background), flush


class RunState(BaseModel):
    """Everything a run did so far."""

    model_config = ConfigDict(extra="forbid")

    run_id: str
    options: UpOptions
    started_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    seconds: float = 0.0  # wall time spent so far, over every resume
    days: list[DayRecord] = Field(default_factory=list)
    nights: list[NightResult] = Field(default_factory=list)
    setup_seconds: dict[str, float] = Field(default_factory=dict)  # platform start-up, reference runs
    slo: SloReport | None = None  # with --monitor: the SLO figures and alerts of the run, from Prometheus


class RunFolder:
    """The folder of one run and its state file."""

    def __init__(self, runs_root: Path, run_id: str) -> None:
        if not RUN_ID.match(run_id):
            raise ValueError(f"bad run id {run_id!r}: letters, digits, '.', '_' and '-' only")
        self.run_id = run_id
        self.root = (runs_root / run_id).resolve()

    @classmethod
    def new_id(cls, options: UpOptions) -> str:
        """A fresh id: ``<UTC time>-<users>u-<days>d-s<seed>``."""
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        return f"{stamp}-{options.users}u-{options.days}d-s{options.seed}"

    @property
    def state_file(self) -> Path:
        return self.root / "state.json"

    def path(self, *parts: str) -> Path:
        return self.root.joinpath(*parts)

    def environment(self) -> dict[str, str]:
        """The ``TINYWORLD_*`` overrides that point the platform's processes at this run's roots."""
        return {
            "TINYWORLD_LAKE_ROOT": str(self.path("lake")),
            "TINYWORLD_ARTIFACTS_ROOT": str(self.path("artifacts")),
            "TINYWORLD_REGISTRY_ROOT": str(self.path("registry")),
        }

    def load(self) -> RunState:
        if not self.state_file.is_file():
            raise FileNotFoundError(f"no run at {self.root} (no state.json): start one with `tinyworld up`")
        return RunState.model_validate_json(self.state_file.read_text(encoding="utf-8"))

    def save(self, state: RunState) -> None:
        """Replace state.json atomically."""
        self.root.mkdir(parents=True, exist_ok=True)
        temporary = self.state_file.with_suffix(".tmp")
        temporary.write_text(state.model_dump_json(indent=2), encoding="utf-8")
        os.replace(temporary, self.state_file)
