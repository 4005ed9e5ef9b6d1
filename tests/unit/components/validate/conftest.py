"""Fixtures for the validation gate: a clean two-day lake, a corrupted copy, valid ETL tables."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from components.validate.results import SuiteResult
from components.validate.run import validate_events
from simnet.protocol import EVENT_SCHEMA
from tests.unit.components.validate.builders import (
    BAD,
    DAY1,
    DAY2,
    NOW,
    at,
    clean_events,
    corrupt_rows,
    write_etl,
    write_lake,
)


@pytest.fixture(scope="module")
def clean_lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two clean days, DAY1 and DAY2."""
    root = tmp_path_factory.mktemp("clean") / "events"
    return write_lake(root, clean_events(DAY1, seed=1), clean_events(DAY2, seed=2))


@pytest.fixture(scope="module")
def corrupted_lake(clean_lake: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The clean lake plus one file of bad rows in DAY2 and one row filed under the wrong day."""
    root = tmp_path_factory.mktemp("corrupted") / "events"
    shutil.copytree(clean_lake, root)
    folder = root / f"dt={DAY2}" / "hour=05"
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(corrupt_rows(duplicate_of=f"{DAY2}-0"), folder / "corrupt.parquet")
    stray = pa.Table.from_pylist(
        [{"event_id": BAD["outside"], "ts": at(DAY1, 12), "user_id": 2, "type": "signup"}], schema=EVENT_SCHEMA
    )
    pq.write_table(stray, folder / "stray.parquet")
    return root


@pytest.fixture(scope="module")
def etl_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every ETL table, valid, under one output folder."""
    return write_etl(tmp_path_factory.mktemp("etl") / "out")


@pytest.fixture(scope="module")
def clean(clean_lake: Path) -> SuiteResult:
    """The clean two-day lake, validated once."""
    return validate_events(str(clean_lake), DAY1, DAY2, NOW)


@pytest.fixture(scope="module")
def corrupted(corrupted_lake: Path) -> SuiteResult:
    """The corrupted lake, validated once."""
    return validate_events(str(corrupted_lake), DAY1, DAY2, NOW)
