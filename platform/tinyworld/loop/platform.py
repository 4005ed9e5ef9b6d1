"""The local platform of a run: ``tinyworld serve`` (recommendations and ingest) in a child process.

The child gets the run's roots through ``TINYWORLD_*`` variables (the settings' one override
mechanism), an admin token for the experiment API, and its own process group, so stopping it
stops whatever it started (Ray's processes included). The loop talks to it over HTTP only:
``PUT /admin/experiment`` to set the day's arms, ``GET /healthz`` to wait until each arm serves
the model version the registry names.
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from components.registry.experiments import ExperimentConfig
from components.serving.admin import ROUTE_EXPERIMENT
from tinyworld.loop.children import await_ready, spawn, stop

log = logging.getLogger(__name__)

HEALTH_PATH = "/healthz"


class PlatformUnavailable(RuntimeError):
    """The local platform did not start, or stopped answering."""


def wait_until_bindable(port: int, timeout_s: float = 90.0) -> None:
    """Return once ``port`` can be bound on 127.0.0.1 the way a Ray Serve replica binds it.

    The replica binds without SO_REUSEADDR, so for about a minute after a server on the port stopped
    its closed connections (TIME_WAIT) make the bind fail, and Ray then quietly takes the next free
    port while the loop would wait on this one. Raises PlatformUnavailable when another process
    listens on the port, or when it stays unbindable for ``timeout_s``.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                raise PlatformUnavailable(f"port {port} is taken by another server: stop it, or give --port")
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
                return
            except OSError:
                pass
        if time.monotonic() > deadline:
            raise PlatformUnavailable(f"port {port} could not be bound for {timeout_s:g} s: give another --port")
        log.info("port %s still holds closed connections; waiting until it can be bound", port)
        time.sleep(2.0)


class LocalPlatform:
    """``tinyworld serve`` for one run; a context manager that starts and stops it."""

    def __init__(
        self,
        environment: dict[str, str],
        port: int,
        log_file: Path,
        *,
        ray: bool = True,
        start_timeout_s: float = 300.0,
    ) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.token = secrets.token_urlsafe(24)
        self.environment = {**os.environ, **environment, "TINYWORLD_ADMIN_TOKEN": self.token}
        self.log_file = log_file
        self.pid_file = log_file.with_suffix(".pid")
        self.ray = ray
        self.start_timeout_s = start_timeout_s
        self.http = httpx.Client(base_url=self.url, timeout=120.0)
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> LocalPlatform:
        self.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    def start(self) -> None:
        """Start the server and wait until ``/healthz`` answers (it may say an arm is degraded)."""
        if self.ray:
            wait_until_bindable(self.port)
        command = [
            sys.executable,
            "-m",
            "tinyworld.cli",
            "serve",
            "--port",
            str(self.port),
            "--host",
            "127.0.0.1",
            "--reload-interval",
            "2",
            "--no-features",
            "--ray" if self.ray else "--no-ray",
        ]
        self._process = spawn(command, self.log_file, self.pid_file, self.environment)
        outcome = await_ready(
            self._process, lambda: self.http.get(HEALTH_PATH).status_code in (200, 503), self.start_timeout_s, 0.5
        )
        if outcome == "exited":
            raise PlatformUnavailable(
                f"the platform exited with code {self._process.returncode} while starting; see {self.log_file}"
            )
        if outcome == "ready":
            log.info("platform up at %s", self.url)
            return
        self.stop()
        raise PlatformUnavailable(f"the platform did not answer within {self.start_timeout_s:g} s; see {self.log_file}")

    @property
    def pid(self) -> int:
        """The server's process id (it leads the process group and session of what it started)."""
        if self._process is None:
            raise PlatformUnavailable("the platform is not running")
        return self._process.pid

    def stop(self, timeout_s: float = 60.0) -> int | None:
        """Ask the server to stop (SIGTERM: it drains Serve, flushing pending events, then Ray); then end its group.

        Returns its exit code (negative: the signal that ended it, -9 when it had to be killed), None
        when it was not running.
        """
        process, self._process = self._process, None
        if process is None:
            return None
        return stop(process, self.pid_file, signal.SIGTERM, timeout_s, group=False)

    def health(self) -> dict[str, Any]:
        """The ``/healthz`` document (status ok or degraded, what each arm serves)."""
        body: dict[str, Any] = self.http.get(HEALTH_PATH).json()
        return body

    def set_experiment(self, experiment: ExperimentConfig, reason: str, at: datetime) -> dict[str, Any]:
        """Put ``experiment`` live from ``at`` on the world's clock (the server records it in the registry's log)."""
        response = self.http.put(
            ROUTE_EXPERIMENT,
            json={
                "experiment": experiment.model_dump(mode="json"),
                "reason": reason,
                "by": "tinyworld up",
                "at": at.isoformat(),
            },
            headers={"Authorization": f"Bearer {self.token}"},
        )
        if response.status_code != 200:
            raise PlatformUnavailable(f"the platform refused the experiment ({response.status_code}): {response.text}")
        body: dict[str, Any] = response.json()
        return body

    def wait_for(self, serving: dict[str, str], timeout_s: float = 120.0) -> dict[str, Any]:
        """Wait until each arm serves the model version given (arm -> version label); returns /healthz."""
        deadline = time.monotonic() + timeout_s
        health: dict[str, Any] = {}
        while time.monotonic() < deadline:
            health = self.health()
            if all(health.get("arms", {}).get(arm) == label for arm, label in serving.items()):
                return health
            time.sleep(0.5)
        raise PlatformUnavailable(f"after {timeout_s:g} s the arms serve {health.get('arms')}, expected {serving}")

    def close(self) -> None:
        self.http.close()
