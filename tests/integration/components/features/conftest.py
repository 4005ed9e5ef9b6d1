"""Fixtures for the feature store's Feast tests: synthetic ETL tables over three days, applied repositories.

Feast's apply takes seconds, so a module shares one applied repository; tests that change the data
or the registry build their own with :func:`make_repo`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from components.etl.tables import CREATOR_FEATURES, ITEM_FEATURES, USER_FEATURES
from components.features.config import FeatureStoreConfig
from components.features.repo import FeatureRepo, open_repo
from components.features.synthetic import synthetic_table, write_table

FEATURE_REPO = Path(__file__).resolve().parents[4] / "feature_repo"
"""The source repository under test."""

STAMPS = (
    datetime(2026, 1, 2, tzinfo=UTC),
    datetime(2026, 1, 3, tzinfo=UTC),
    datetime(2026, 1, 4, tzinfo=UTC),
)
"""Feature rows of days 1, 2 and 3, each stamped at the midnight closing its day."""

USERS = (1, 2, 3, 4)
ITEMS = (10, 11, 12, 13, 14)
CREATORS = (100, 101, 102)


def creator_of(item: int) -> int:
    """Each synthetic item's creator."""
    return CREATORS[item % len(CREATORS)]


def write_etl(root: Path, stamps: tuple[datetime, ...] = STAMPS, part: str = "part-00000") -> Path:
    """The three feature tables under ``root`` (an ETL output), one row per entity per stamp."""
    write_table(root, USER_FEATURES, synthetic_table(USER_FEATURES, USERS, stamps), part)
    write_table(root, ITEM_FEATURES, synthetic_table(ITEM_FEATURES, ITEMS, stamps, creator_of), part)
    write_table(root, CREATOR_FEATURES, synthetic_table(CREATOR_FEATURES, CREATORS, stamps), part)
    return root


def store_config(base: Path, source_dir: Path = FEATURE_REPO) -> FeatureStoreConfig:
    """The default (local) feature store with its state under ``base``: SQLite online, Dask offline."""
    return FeatureStoreConfig(source_dir=str(source_dir), state=str(base / "artifacts" / "features"))


def make_repo(base: Path, source_dir: Path = FEATURE_REPO) -> FeatureRepo:
    """A repository whose state lives under ``base`` (the default config: SQLite online store)."""
    return open_repo(store_config(base, source_dir))


@pytest.fixture(scope="module")
def etl_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Synthetic ETL output: days 1 to 3 of every feature table."""
    return write_etl(tmp_path_factory.mktemp("etl"))


@pytest.fixture(scope="module")
def applied(tmp_path_factory: pytest.TempPathFactory, etl_out: Path) -> FeatureRepo:
    """The repository applied over :func:`etl_out` (not materialised)."""
    from components.features.apply import apply

    repo = make_repo(tmp_path_factory.mktemp("state"))
    apply(repo, str(etl_out))
    return repo
