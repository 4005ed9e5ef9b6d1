"""Builds and closes what the API serves: the recommender and, if configured, its ingest service.

Shared by both hosts: uvicorn in one process (:func:`serve_uvicorn`) and a Ray Serve replica
(:mod:`components.serving.deployment`).
"""

from __future__ import annotations

import gc
import logging
from dataclasses import dataclass

import torch
from fastapi import FastAPI

from components.ingest.config import IngestConfig
from components.ingest.service import IngestService
from components.serving.app import create_app
from components.serving.config import ServingConfig
from components.serving.recommender import Recommender

log = logging.getLogger(__name__)


@dataclass
class Services:
    """A started recommender and its ingest service (None if events are not taken here)."""

    recommender: Recommender
    ingest: IngestService | None

    def app(self) -> FastAPI:
        """The API over these services."""
        return create_app(self.recommender, self.ingest)

    def close(self) -> None:
        """Stop reloading models; flush pending events to the lake and release the state file."""
        self.recommender.stop()
        if self.ingest is not None:
            self.ingest.close()


def replica_ingest(config: IngestConfig, rank: int) -> IngestConfig:
    """The ingest config of replica ``rank``: its own state file and lake file prefix.

    A replacement replica gets the rank of the one it replaces, so it reopens the same state file
    and flushes whatever its predecessor acknowledged but had not yet written to the lake.
    """
    if rank == 0:
        return config
    state = config.state_path.with_name(f"{config.state_path.stem}-{rank}{config.state_path.suffix}")
    return config.model_copy(update={"state_path": state, "writer_id": f"{config.writer_id}-{rank}"})


def open_services(config: ServingConfig, rank: int = 0) -> Services:
    """Load the models, open the ingest service (replica ``rank``'s state) and start both."""
    torch.set_num_threads(config.ranking_threads)
    recommender = Recommender.from_config(config)
    ingest = None
    if config.ingest is not None:
        ingest = IngestService(replica_ingest(config.ingest, rank))
        ingest.start()
    recommender.start()
    log.info("serving arms %s", recommender.served())
    # What is loaded now lives as long as the process: keep the collector from rescanning it
    # (a full collection over the models and imports stalls requests for tens of milliseconds).
    gc.collect()
    gc.freeze()
    return Services(recommender, ingest)


def serve_uvicorn(config: ServingConfig, host: str, port: int, *, access_log: bool = False) -> None:
    """Serve the API with uvicorn in this process until interrupted (then flush and stop)."""
    import uvicorn

    services = open_services(config)
    try:
        uvicorn.run(services.app(), host=host, port=port, access_log=access_log, log_level="warning")
    finally:
        services.close()
