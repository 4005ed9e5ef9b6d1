"""Fixtures for the launchers' tests: a cluster environment's settings and the CRD schemas."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from tinyworld.settings import SOURCE_ROOT, Settings

SCHEMAS = SOURCE_ROOT.parent / "shared" / "schemas"
"""The CRD schemas beside the repository (../shared/schemas)."""


@pytest.fixture
def schemas() -> Path:
    """The CRD schemas' folder, or a skip naming where it was looked for."""
    if not SCHEMAS.is_dir():
        pytest.skip(f"no CRD schemas at {SCHEMAS} (../shared/schemas beside the repository)")
    return SCHEMAS


@pytest.fixture
def cluster() -> Settings:
    """A cluster environment that launches both steps, its artifacts in an in-memory object store."""
    return Settings(
        name="kind",
        lake_root=f"memory://lake-{secrets.token_hex(4)}",
        artifacts_root=f"memory://artifacts-{secrets.token_hex(4)}",
        train_launcher="trainjob",
        etl_launcher="spark-operator",
        namespace="tinyworld",
        runtime_secret="tinyworld-runtime",
        spark_service_account="tinyworld-spark",
        train_service_account="tinyworld-trainer",
        launch_timeout_s=600,
    )
