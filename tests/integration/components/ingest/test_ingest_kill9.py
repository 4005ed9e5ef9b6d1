"""The real server under kill -9: every acknowledged event is in the lake exactly once.

Starts ``tinyworld ingest serve`` as a subprocess (uvicorn on 127.0.0.1, a free port), streams
batches from a thread (with repeats, as retrying clients send), kills the server with SIGKILL
mid-stream and while it flushes, restarts it on the same state, retries the batch that was in
flight, lets it flush and stops it; then reads the lake back.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pyarrow.dataset as ds
import pytest

BATCH = 100


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Server:
    """One ``ingest serve`` process on a state file and a lake."""

    def __init__(self, state: Path, lake: Path, log: Path) -> None:
        self.state, self.lake, self.log = state, lake, log
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("TINYWORLD_")}
        command = [sys.executable, "-m", "tinyworld.commands.ingest", "serve", "--state", str(state)]
        command += ["--lake", str(lake), "--port", str(self.port), "--flush-interval", "0.05", "--flush-rows", "300"]
        with open(log, "ab") as sink:
            self.process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, env=env)
        self._wait_ready()

    def _wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited with {self.process.returncode}:\n{self.log.read_text()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1.0).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.05)
        raise TimeoutError(f"the server did not start:\n{self.log.read_text()}")

    def health(self) -> dict[str, Any]:
        result: dict[str, Any] = httpx.get(f"{self.url}/healthz", timeout=5.0).json()
        return result

    def kill9(self) -> None:
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=30)


def batch(number: int) -> list[dict[str, Any]]:
    """Batch ``number``: fresh events, plus five repeats of the previous batch (retries)."""
    hour = number % 3
    fresh = [
        {
            "event_id": f"b{number}-{i}",
            "ts": f"2026-02-0{1 + number % 2}T{hour:02d}:{i % 60:02d}:00.{number:06d}Z",
            "user_id": i,
            "type": "click",
            "item_id": number,
            "request_id": f"r{number}",
            "position": i % 10,
            "arm": "control",
            "model_version": "v1",
        }
        for i in range(BATCH)
    ]
    return fresh + (batch(number - 1)[:5] if number else [])


class Sender(threading.Thread):
    """Posts batches until told to stop or the server goes away; remembers what was acknowledged."""

    def __init__(self, url: str, first: int) -> None:
        super().__init__(daemon=True)
        self.url, self.next = url, first
        self.acked: set[str] = set()
        self.accepted = 0
        self.in_flight: list[dict[str, Any]] | None = None
        self.stop = threading.Event()

    def run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=10.0) as client:
            while not self.stop.is_set():
                events = batch(self.next)
                self.in_flight = events
                try:
                    response = client.post("/events", json=events)
                except httpx.TransportError:
                    return  # killed: this batch is in doubt
                assert response.status_code == 200, response.text
                self.accepted += response.json()["accepted"]
                self.acked.update(e["event_id"] for e in events)
                self.in_flight = None
                self.next += 1


def wait_for(condition: Any, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[list[Server]]:
    """Started servers, all stopped (SIGKILL if need be) at the end."""
    started: list[Server] = []
    yield started
    for server in started:
        if server.process.poll() is None:
            server.process.kill()
            server.process.wait(timeout=10)


@pytest.mark.slow
def test_acknowledged_events_survive_kill9_exactly_once(tmp_path: Path, servers: list[Server]) -> None:
    """Through two kill -9s mid-stream: acknowledged ids == lake ids, each stored once."""
    state, lake, log = tmp_path / "state" / "ingest.sqlite", tmp_path / "lake", tmp_path / "server.log"
    acked: set[str] = set()
    accepted = 0
    first = 0
    servers.append(server := Server(state, lake, log))
    for _ in range(2):
        sender = Sender(server.url, first)
        sender.start()
        wait_for(lambda s=sender, f=first: s.next >= f + 15)  # batches acknowledged, flushes running
        server.kill9()
        sender.join(timeout=10)
        acked |= sender.acked
        accepted += sender.accepted
        first = sender.next + 1
        servers.append(server := Server(state, lake, log))  # restart on the same state
        if sender.in_flight is not None:  # the client retries the batch it got no answer for
            response = httpx.post(f"{server.url}/events", json=sender.in_flight, timeout=10.0).json()
            assert response["accepted"] + response["duplicates"] == len(sender.in_flight)
            accepted += response["accepted"]
            acked.update(e["event_id"] for e in sender.in_flight)
    wait_for(lambda: server.health()["pending"] == 0)  # the restart flushed the backlog by itself
    server.stop()
    assert server.process.returncode in (0, -signal.SIGTERM), log.read_text()  # uvicorn re-raises it

    stored = ds.dataset(lake, format="parquet", partitioning="hive").to_table()
    ids = stored["event_id"].to_pylist()
    assert len(ids) == len(set(ids)), "an event landed twice"
    assert set(ids) == acked, "an acknowledged event is missing (or an unacknowledged one appeared)"
    assert accepted <= len(ids) <= accepted + 2 * (BATCH + 5)  # in-flight batches may be stored unanswered
    assert not [p for p in lake.rglob("*") if p.name.startswith(".")], "a temporary file was left"
