"""The cluster's online store, Redis, rendered from a FeatureStoreConfig: materialise and look up through a real server.

Starts ``redis-server`` on a free port for the module; skipped where it is not installed.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest

from components.features.apply import apply
from components.features.config import FeatureStoreConfig
from components.features.local_redis import redis_server
from components.features.materialize import materialize
from components.features.online import lookup, missing_ids
from components.features.repo import open_repo
from components.features.synthetic import marker
from tests.integration.components.features.conftest import FEATURE_REPO, ITEMS


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A throwaway redis-server (no persistence) for the module; its URL."""
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    with redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield url


def test_materialise_and_look_up_through_redis(redis_url: str, etl_out: Path, tmp_path: Path) -> None:
    """With online_store: redis the same repository serves day 3's values from Redis."""
    config = FeatureStoreConfig(
        source_dir=str(FEATURE_REPO), state=str(tmp_path / "features"), online_store="redis", redis_url=redis_url
    )
    repo = open_repo(config)
    assert repo.online_store == "redis" and repo.online_store_path is None
    apply(repo, str(etl_out))
    assert materialize(repo).rows == 4 + 5 + 3
    users = lookup(repo, "user", [3, 404])
    assert users.loc[0, "user_features__clicks_7d"] == marker(3, 2)
    assert len(cast(Any, users.loc[0, "user_features__content_profile"])) == 32
    assert missing_ids(users, "user_id") == [404]
    items = lookup(repo, "item", list(ITEMS))
    assert list(items["item_features__ctr_7d"]) == [marker(i, 2) + 0.5 for i in ITEMS]
