"""The Ray Serve application: served over direct ingress; a killed replica is replaced and loses nothing.

Starts a local Ray (bound to 127.0.0.1), runs the app with a toy champion and an ingest state file,
acknowledges events, kills the replica before it flushed them, and checks that the replacement
(same rank, same state file) writes every acknowledged event to the lake exactly once.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from components.ingest.config import IngestConfig
from components.serving.config import ServingConfig
from tests.lake import read_lake
from tests.unit.components.serving.toys import ranked_model, register

pytestmark = pytest.mark.slow

TOKEN = "ray-replica-admin-token"


def free_base_port() -> int:
    """A port p such that p .. p+100 look free (direct ingress range and the proxy)."""
    for base in range(21000, 29000, 137):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", base))
                s2 = socket.socket()
                s2.bind(("127.0.0.1", base + 100))
                s2.close()
                return base
            except OSError:
                continue
    raise RuntimeError("no free port range")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    import ray

    from components.serving.deployment import serve_ray

    root = tmp_path_factory.mktemp("ray-serving")
    register(root, ranked_model(20, 100))
    config = ServingConfig(
        registry_root=str(root / "registry"),
        reload_interval_s=0,
        ingest=IngestConfig(lake_root=str(root / "lake"), state_path=root / "state.sqlite", flush_interval_s=3600),
        admin_token=TOKEN,
    )
    url = serve_ray(config, "127.0.0.1", free_base_port(), blocking=False)
    try:
        yield url, root / "lake"
    finally:
        ray.shutdown()  # stops Serve with it; a graceful serve.shutdown() waits out its timeouts


def events(prefix: str, n: int) -> list[dict[str, object]]:
    return [
        {"event_id": f"{prefix}-{i}", "ts": "2026-01-01T00:00:00Z", "user_id": i, "type": "click", "item_id": i}
        for i in range(n)
    ]


def lake_ids(lake: Path) -> list[str]:
    return [str(v) for v in read_lake(lake)["event_id"].to_pylist()]


def kill_replica() -> None:
    import ray

    names = [a["name"] for a in ray.util.list_named_actors(all_namespaces=True) if "SERVE_REPLICA" in a["name"]]
    assert len(names) == 1, names
    ray.kill(ray.get_actor(names[0], namespace="serve"), no_restart=True)


def wait_until(check: object, timeout_s: float = 90.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if check():  # type: ignore[operator]
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise AssertionError("timed out waiting")


def test_recommendations_over_direct_ingress(served: tuple[str, Path]) -> None:
    url, _ = served
    response = httpx.post(f"{url}/recommendations", json={"user_id": 3, "k": 4}, timeout=10)
    assert response.status_code == 200
    assert [i["item_id"] for i in response.json()["items"]] == [0, 1, 2, 3]
    assert "tinyworld_serving_recommendations_total" in httpx.get(f"{url}/metrics", timeout=10).text


def test_the_replica_has_the_admin_token(served: tuple[str, Path]) -> None:
    """The token travels to the replica as itself (a JSON dump of the config would mask it)."""
    url, _ = served
    admin = f"{url}/admin/experiment"
    assert httpx.get(admin, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10).status_code == 200
    assert httpx.get(admin, headers={"Authorization": "Bearer **********"}, timeout=10).status_code == 401


def test_a_killed_replica_is_replaced_and_no_acknowledged_event_is_lost(served: tuple[str, Path]) -> None:
    url, lake = served
    acknowledged: list[str] = []
    for round_ in ("a", "b"):
        batch = events(round_, 50)
        reply = httpx.post(f"{url}/events", json=batch, timeout=10)
        assert reply.json() == {"accepted": 50, "duplicates": 0}
        acknowledged += [str(e["event_id"]) for e in batch]
        assert httpx.get(f"{url}/healthz", timeout=10).json()["ingest"]["pending"] == 50  # not yet in the lake
        kill_replica()
        # the replacement reopens the state file and flushes what its predecessor acknowledged
        expected = sorted(acknowledged)
        wait_until(lambda expected=expected: sorted(lake_ids(lake)) == expected)
        wait_until(lambda: httpx.get(f"{url}/healthz", timeout=5).status_code == 200)
    assert len(lake_ids(lake)) == len(set(lake_ids(lake))) == 100


def test_the_replicas_run_at_the_servers_priority(served: tuple[str, Path]) -> None:
    """Ray's default would start its workers at niceness 15, below the loop's reference runs (10)."""
    import ray

    @ray.remote(num_cpus=0)
    def niceness() -> int:
        return os.nice(0)

    assert ray.get(niceness.remote(), timeout=60) == os.nice(0)
