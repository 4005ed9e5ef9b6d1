"""The cluster tier: a real deployment on kind (make deploy CLUSTER=kind), torn down afterwards.

Where Docker, kind or Terraform is missing, every test here skips and the reason is printed.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tinyworld.deploy import chart
from tinyworld.settings import SOURCE_ROOT

DEPLOY_TIMEOUT_S = 60 * 60
"""A laptop pulls every upstream image on the first deploy."""


def missing() -> str | None:
    """Why a kind deployment cannot run on this machine, or None when it can."""
    for tool in ("docker", "kind", "terraform"):
        if shutil.which(tool) is None:
            return f"no {tool} on PATH: the cluster tests deploy to kind with Docker, kind and Terraform"
    probe = subprocess.run(["docker", "info"], capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        return "Docker is installed but its daemon does not answer (`docker info` fails): no container engine"
    return None


def make(*targets: str, timeout: float = DEPLOY_TIMEOUT_S) -> None:
    subprocess.run(["make", *targets, "CLUSTER=kind"], cwd=SOURCE_ROOT, check=True, timeout=timeout)


def kubeconfig() -> Path:
    """The kind cluster's kubeconfig, as Terraform reports it."""
    done = subprocess.run(
        ["terraform", f"-chdir={SOURCE_ROOT / 'terraform' / 'envs' / 'kind'}", "output", "-raw", "kubeconfig_path"],
        capture_output=True,
        text=True,
        check=True,
    )
    return Path(done.stdout.strip()).expanduser()


def kubectl(*args: str, timeout: float = 60) -> str:
    """Run kubectl against the kind cluster; its stdout."""
    binary = str(SOURCE_ROOT / ".venv" / "bin" / "kubectl")
    done = subprocess.run(
        [binary, "--kubeconfig", str(kubeconfig()), *args], capture_output=True, text=True, check=True, timeout=timeout
    )
    return done.stdout


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def port_forward(namespace: str, service: str, port: int) -> Iterator[str]:
    """``kubectl port-forward`` to a Service; yields its base URL on 127.0.0.1."""
    local = free_port()
    binary = str(SOURCE_ROOT / ".venv" / "bin" / "kubectl")
    command = [binary, "--kubeconfig", str(kubeconfig()), "-n", namespace, "port-forward", f"svc/{service}"]
    process = subprocess.Popen([*command, f"{local}:{port}"], stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", local), timeout=1):
                break
            time.sleep(0.5)
        yield f"http://127.0.0.1:{local}"
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="session")
def deployed() -> Iterator[str]:
    """TinyWorld deployed on kind (make deploy CLUSTER=kind); torn down after the session. Yields the namespace."""
    reason = missing()
    if reason is not None:
        pytest.skip(reason)
    make("tools")
    make("deploy")
    try:
        yield chart.namespace("kind")
    finally:
        make("undeploy", timeout=30 * 60)
