"""The loop's child processes (the platform, the reference runs): started so none outlives the run.

Each child gets its own process group (so stopping it stops what it started), a pid file in the
run's folder, and, on Linux, a parent-death signal: if the loop itself is killed, its children
get SIGTERM and stop cleanly (the platform flushes what it acknowledged). A resumed run first
ends any child a previous attempt left behind, found by its pid file.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Literal

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1


def _on_start(niceness: int) -> Callable[[], None]:
    def prepare() -> None:
        if sys.platform == "linux":
            libc = ctypes.CDLL("libc.so.6", use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        if niceness:
            os.nice(niceness)

    return prepare


def spawn(
    command: list[str], log_file: Path, pid_file: Path, env: dict[str, str] | None = None, niceness: int = 0
) -> subprocess.Popen[bytes]:
    """Start ``command`` with its output in ``log_file`` and its pid in ``pid_file``."""
    reap(pid_file)
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as output:
        process = subprocess.Popen(  # noqa: S603 (our own interpreter and CLIs)
            command,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_on_start(niceness),  # noqa: PLW1509 (no threads touch state before the fork's exec)
        )
    pid_file.parent.mkdir(parents=True, exist_ok=True)
    pid_file.write_text(str(process.pid))
    return process


def await_ready(
    process: subprocess.Popen[bytes], ready: Callable[[], bool], timeout_s: float, interval_s: float
) -> Literal["ready", "exited", "timeout"]:
    """Poll ``ready`` every ``interval_s`` until it says yes, the child exits, or ``timeout_s`` pass.

    ``ready`` may raise ``httpx.TransportError`` while the child is not listening yet: that is a no.
    """
    import httpx

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return "exited"
        try:
            if ready():
                return "ready"
        except httpx.TransportError:
            pass
        time.sleep(interval_s)
    return "timeout"


def stop(
    process: subprocess.Popen[bytes], pid_file: Path, first: signal.Signals, timeout_s: float, *, group: bool = True
) -> int:
    """Send ``first`` to the child's group (or the child alone), wait up to ``timeout_s``, then kill the group.

    ``group=False`` is for a child that stops what it started itself, in order (the platform stops
    Serve, then Ray): a signal that reached those processes too would pull them out from under it.
    Returns the child's exit code.
    """
    if process.poll() is None:
        if group:
            _signal_group(process.pid, first)
        else:
            process.send_signal(first)
        try:
            process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            log.warning("%s did not stop within %s s; killing it", process.args, timeout_s)
    _signal_group(process.pid, signal.SIGKILL)  # whatever it started and left behind
    code = process.wait()
    pid_file.unlink(missing_ok=True)
    return code


def reap(pid_file: Path) -> None:
    """End the process group a previous attempt left running (named by ``pid_file``), if any."""
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return
    if _signal_group(pid, signal.SIGTERM):
        log.warning("ended process group %s left by an earlier attempt (%s)", pid, pid_file)
        deadline = time.monotonic() + 30.0
        while _signal_group(pid, 0) and time.monotonic() < deadline:
            time.sleep(0.2)
        _signal_group(pid, signal.SIGKILL)
    pid_file.unlink(missing_ok=True)


def _signal_group(pid: int, signal_number: int) -> bool:
    """Signal the group ``pid`` leads; False when it no longer exists."""
    try:
        os.killpg(pid, signal_number)
    except (ProcessLookupError, PermissionError):
        return False
    return True
