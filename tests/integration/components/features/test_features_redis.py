"""The cluster's online store, Redis, rendered from Settings: materialise and look up through a real server.

Starts ``redis-server`` on a free port for the module; skipped where it is not installed.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest

from components.features.apply import apply
from components.features.materialize import materialize
from components.features.online import lookup, missing_ids
from components.features.repo import open_repo
from components.features.synthetic import marker
from tests.integration.components.features.conftest import FEATURE_REPO, ITEMS
from tinyworld.settings import Settings


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A throwaway redis-server (no persistence) for the module; its URL."""
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    import redis

    port = _free_port()
    folder = tmp_path_factory.mktemp("redis")
    args = [
        server,
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(folder),
    ]
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        client = redis.Redis(host="127.0.0.1", port=port)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline or process.poll() is not None:
                    pytest.fail("redis-server did not start")
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_materialise_and_look_up_through_redis(redis_url: str, etl_out: Path, tmp_path: Path) -> None:
    """With online_store: redis the same repository serves day 3's values from Redis."""
    settings = Settings(
        artifacts_root=str(tmp_path / "artifacts"),
        feature_repo=str(FEATURE_REPO),
        online_store="redis",
        redis_url=redis_url,
    )
    repo = open_repo(settings)
    assert repo.online_store == "redis" and repo.online_store_path is None
    apply(repo, str(etl_out))
    assert materialize(repo).rows == 4 + 5 + 3
    users = lookup(repo, "user", [3, 404])
    assert users.loc[0, "user_features__clicks_7d"] == marker(3, 2)
    assert len(cast(Any, users.loc[0, "user_features__content_profile"])) == 32
    assert missing_ids(users, "user_id") == [404]
    items = lookup(repo, "item", list(ITEMS))
    assert list(items["item_features__ctr_7d"]) == [marker(i, 2) + 0.5 for i in ITEMS]
