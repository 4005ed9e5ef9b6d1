"""Fixtures for the feature store's unit tests: no Feast apply, just objects, files and rendering."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from components.etl.tables import CREATOR_FEATURES, ITEM_FEATURES, USER_FEATURES
from components.features.synthetic import synthetic_table, write_table

FEATURE_REPO = Path(__file__).resolve().parents[4] / "feature_repo"
"""The source repository under test."""

STAMPS = (datetime(2026, 1, 2, tzinfo=UTC), datetime(2026, 1, 3, tzinfo=UTC))


@pytest.fixture(autouse=True)
def _no_tinyworld_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Isolate each test from TINYWORLD_* variables set in the developer's shell."""
    for key in list(os.environ):
        if key.upper().startswith("TINYWORLD_"):
            monkeypatch.delenv(key)


@pytest.fixture
def etl_out(tmp_path: Path) -> Path:
    """A small ETL output: the three feature tables over two days."""
    root = tmp_path / "etl"
    write_table(root, USER_FEATURES, synthetic_table(USER_FEATURES, [1, 2, 3], STAMPS))
    write_table(root, ITEM_FEATURES, synthetic_table(ITEM_FEATURES, [10, 11], STAMPS))
    write_table(root, CREATOR_FEATURES, synthetic_table(CREATOR_FEATURES, [0, 1], STAMPS))
    return root
