"""The loop's platform process on Ray: it stops when asked, however it was started, and loses nothing.

A process started in the background inherits SIGINT ignored; the server must still stop on the
loop's signal, drain its replica (which writes what it acknowledged to the lake) and take Ray's
processes with it, so that the next run finds the port free.
"""

from __future__ import annotations

import signal
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pyarrow.dataset as ds
import pytest

from tinyworld.loop.platform import LocalPlatform, PlatformUnavailable, wait_until_bindable

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def session_processes(leader: int) -> list[str]:
    """The processes still in the session ``leader`` started (Ray's workers lead process groups of their own)."""
    table = subprocess.run(["ps", "-eo", "pid=,sid=,args="], capture_output=True, text=True, check=True).stdout
    return [line for line in table.splitlines() if line.split()[1] == str(leader)]


@pytest.fixture
def sigint_ignored() -> Iterator[None]:
    """Start children as a background job's are started: with SIGINT ignored, which exec keeps."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def test_the_ray_platform_stops_on_its_own_and_flushes_what_it_acknowledged(
    tmp_path: Path, sigint_ignored: None
) -> None:
    environment = {
        "TINYWORLD_LAKE_ROOT": str(tmp_path / "lake"),
        "TINYWORLD_ARTIFACTS_ROOT": str(tmp_path / "artifacts"),
        "TINYWORLD_REGISTRY_ROOT": str(tmp_path / "registry"),
        "RAY_USAGE_STATS_ENABLED": "0",
    }
    platform = LocalPlatform(environment, free_port(), tmp_path / "platform.log", ray=True)
    platform.start()
    leader = platform.pid
    events = [
        {"event_id": f"stop-{i}", "ts": "2026-01-01T00:00:00Z", "user_id": i, "type": "click", "item_id": i}
        for i in range(50)
    ]
    assert platform.http.post("/events", json=events).json() == {"accepted": 50, "duplicates": 0}
    code = platform.stop()
    assert code == 0, (tmp_path / "platform.log").read_text()[-2000:]  # not killed after the timeout
    assert session_processes(leader) == []
    ids = ds.dataset(tmp_path / "lake", format="parquet", partitioning="hive").to_table()["event_id"].to_pylist()
    assert sorted(ids) == sorted(str(e["event_id"]) for e in events)
    platform.close()


def test_a_port_in_use_is_named_before_anything_starts() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(PlatformUnavailable, match="taken by another server"):
            wait_until_bindable(taken.getsockname()[1])


def test_a_port_left_in_time_wait_is_waited_for() -> None:
    """A server that closed its connections first leaves them in TIME_WAIT: a bind without SO_REUSEADDR fails."""
    with socket.socket() as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        client = socket.create_connection(("127.0.0.1", port))
        accepted, _ = server.accept()
        accepted.close()  # the server side closes first: its end waits in TIME_WAIT
        client.recv(1)
        client.close()
    with pytest.raises(PlatformUnavailable, match="could not be bound for 1 s"):
        wait_until_bindable(port, timeout_s=1.0)
