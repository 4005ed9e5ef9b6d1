"""A KFP backend: upload the compiled pipelines and create their recurring runs.

The same YAML files that ``make pipelines`` checks in are uploaded (a new version when the
pipeline exists already); a recurring run is created per pipeline with its cron schedule and
the environment's name as a parameter. The client is handed in, so tests use a fake one.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Any, Protocol

from tinyworld import __version__
from tinyworld.pipelines.compile import compiled_path, pipeline

log = logging.getLogger(__name__)

EXPERIMENT = "tinyworld"
"""The KFP experiment that holds TinyWorld's recurring runs."""

SCHEDULES = {"daily": "0 30 2 * * *", "promote": "0 0 2 * * *"}
"""Default cron schedules (KFP's six fields, UTC): promote decides on yesterday's experiment at
02:00, then daily learns from yesterday's events at 02:30."""


class KfpClient(Protocol):
    """The part of ``kfp.Client`` this module uses."""

    def get_pipeline_id(self, name: str) -> str | None: ...
    def upload_pipeline(self, pipeline_package_path: str, pipeline_name: str, description: str) -> Any: ...
    def upload_pipeline_version(
        self, pipeline_package_path: str, pipeline_version_name: str, pipeline_id: str
    ) -> Any: ...
    def list_pipeline_versions(self, pipeline_id: str, page_size: int) -> Any: ...
    def create_experiment(self, name: str) -> Any: ...
    def create_recurring_run(self, **kwargs: Any) -> Any: ...


def connect(host: str) -> KfpClient:
    """A client of the KFP API at ``host`` (e.g. http://127.0.0.1:8080 through a port forward)."""
    import kfp

    client: KfpClient = kfp.Client(host=host)
    return client


def version_name(name: str, path: Path) -> str:
    """``<name>-<package version>-<digest of the YAML>``: one KFP version per distinct compiled file."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:10]
    return f"{name}-{__version__}-{digest}"


def upload(client: KfpClient, name: str, directory: Path | None = None) -> tuple[str, str]:
    """Upload pipeline ``name`` (a new version if it exists and the YAML changed); return (pipeline, version) ids."""
    pipeline(name)  # a clear error for an unknown name
    path = compiled_path(name, directory)
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist: run `make pipelines` first")
    wanted = version_name(name, path)
    pipeline_id = client.get_pipeline_id(name)
    if pipeline_id is None:
        created = client.upload_pipeline(str(path), pipeline_name=name, description=f"TinyWorld's {name} pipeline")
        pipeline_id = str(created.pipeline_id)
        # KFP creates the pipeline with one version of this very file
        listed = client.list_pipeline_versions(pipeline_id, page_size=1).pipeline_versions
        return pipeline_id, str(listed[0].pipeline_version_id)
    listed = client.list_pipeline_versions(pipeline_id, page_size=100).pipeline_versions or []
    existing = {v.display_name: str(v.pipeline_version_id) for v in listed}
    if wanted in existing:
        version_id = existing[wanted]
    else:
        version_id = str(client.upload_pipeline_version(str(path), wanted, pipeline_id=pipeline_id).pipeline_version_id)
    log.info("pipeline %s: id %s, version %s", name, pipeline_id, version_id)
    return pipeline_id, version_id


def schedule(client: KfpClient, name: str, env: str, cron: str | None = None, directory: Path | None = None) -> str:
    """Upload pipeline ``name`` and create its recurring run in environment ``env``; return the run's id."""
    pipeline_id, version_id = upload(client, name, directory)
    experiment = client.create_experiment(EXPERIMENT)
    run = client.create_recurring_run(
        experiment_id=str(experiment.experiment_id),
        job_name=f"{name}-{env}",
        pipeline_id=pipeline_id,
        version_id=version_id,
        cron_expression=cron or SCHEDULES[name],
        params={"env": env},
        max_concurrency=1,
        no_catchup=True,
    )
    run_id = str(getattr(run, "recurring_run_id", run))
    log.info("recurring run %s of %s: %s", run_id, name, cron or SCHEDULES[name])
    return run_id
