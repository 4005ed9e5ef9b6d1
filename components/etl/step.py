"""The ETL step: a window of the event lake in, every table of :mod:`components.etl.tables` out.

``run(EtlParams(...), StepIO(...))`` starts a Spark session on ``params.spark_master``, runs
:func:`components.etl.job.run_etl` and stops the session. With ``experiment_log`` (a registry
root and model name) it reads the serving experiments' log first, so the experiments table names
the experiment of each day and arm. The CLI (``tinyworld etl``), the
``daily`` pipeline's component, the closed loop and ``benchmarks/`` all call this function.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from components.etl.job import EtlOptions, run_etl
from components.etl.session import DEFAULT_MASTER
from components.registry.registry import DEFAULT_MODEL_NAME
from components.step import Lineage, StepIO, Window, timed

log = logging.getLogger(__name__)


class ExperimentLogLocation(BaseModel):
    """Where the experiment log lives: under a registered model in the registry."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    registry_root: str  # the registry: a folder or an object-store URL
    model_name: str = DEFAULT_MODEL_NAME  # the model whose experiments serving logged


class EtlParams(BaseModel):
    """One ETL run: which days of which lake, where the tables go, and how to compute them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    lake: str  # the event lake root (dt=/hour= partitions): a path or an object-store URL
    out: str  # the output root: one Parquet folder per table
    start: date  # first UTC day reported
    end: date  # last UTC day reported (inclusive)
    # local[*] embeds Spark in this process; k8s:// or spark:// runs it on a cluster
    spark_master: str = DEFAULT_MASTER
    options: EtlOptions = Field(default_factory=EtlOptions)  # lookback, half-life, arms, tables
    # the experiment log naming each event's experiment in the experiments table; None: "default"
    experiment_log: ExperimentLogLocation | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        return self


class EtlStepResult(BaseModel):
    """What the ETL wrote: rows and seconds per table, the events read, and its lineage."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    out: str  # the output root (each table under <out>/<name>)
    events: int  # events of the reported days
    rows: dict[str, int]  # rows written per table
    seconds: dict[str, float]  # seconds per table ("read" for the lake scan)
    lineage: Lineage

    def table(self, name: str) -> str:
        """The location of one output table."""
        return f"{self.out.rstrip('/')}/{name}"


def run(params: EtlParams, io: StepIO) -> EtlStepResult:
    """Run the ETL over ``params.start..params.end``; ValueError for an empty window or unknown table."""
    from components.etl.session import build_session
    from components.registry.experiments import EXPERIMENTS_DIR, ExperimentLog

    lake, out = str(io.root(params.lake)), str(io.root(params.out))
    inputs = {"lake": lake}
    timeline = None
    with timed() as elapsed:
        if params.experiment_log is not None:
            io.progress("reading the experiment log", 0.0)
            where = io.root(params.experiment_log.registry_root)
            experiment_log = ExperimentLog(where, params.experiment_log.model_name)
            timeline = experiment_log.timeline()
            inputs["experiment_log"] = where.join(params.experiment_log.model_name, EXPERIMENTS_DIR).url
            log.info("experiment log %s: %s records", inputs["experiment_log"], len(timeline.records))
        io.progress("starting Spark", 0.0)
        spark = build_session(params.spark_master, storage=io.storage)
        wanted = params.options.tables
        from components.etl.tables import TABLES

        total = len(wanted) if wanted else len(TABLES)
        done: list[str] = []

        def step(name: str) -> None:
            io.progress(f"writing {name}", len(done) / total)
            done.append(name)

        try:
            result = run_etl(
                spark,
                lake,
                params.start,
                params.end,
                out,
                params.options,
                on_step=step,
                storage=io.storage,
                timeline=timeline,
            )
        finally:
            spark.stop()
        io.progress("done", 1.0)
    lineage = Lineage(
        step="etl",
        inputs=inputs,
        outputs={name: f"{out}/{name}" for name in result.rows},
        window=Window(start=params.start, end=params.end),
        params=params.model_dump(mode="json"),
        seconds=elapsed(),
    )
    return EtlStepResult(out=out, events=result.events, rows=result.rows, seconds=result.seconds, lineage=lineage)
