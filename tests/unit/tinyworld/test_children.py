"""Stopping the loop's children: the first signal goes to the group, or to its leader alone."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tinyworld.loop.children import spawn, stop

# A leader that starts a helper in its own process group; each writes a line when interrupted.
LEADER = """
import signal, subprocess, sys, time
marks = sys.argv[1]
helper = subprocess.Popen([sys.executable, "-c", sys.argv[2], marks])
def interrupted(*_):
    open(marks + ".leader", "w").write("interrupted")
    sys.exit(0)
signal.signal(signal.SIGINT, interrupted)
open(marks + ".ready", "w").write(str(helper.pid))
time.sleep(60)
"""
HELPER = """
import signal, sys, time
def interrupted(*_):
    open(sys.argv[1] + ".helper", "w").write("interrupted")
signal.signal(signal.SIGINT, interrupted)
time.sleep(60)
"""


def _started(tmp_path: Path) -> tuple[subprocess.Popen[bytes], Path]:
    marks = tmp_path / "marks"
    process = spawn([sys.executable, "-c", LEADER, str(marks), HELPER], tmp_path / "log", tmp_path / "pid")
    deadline = time.monotonic() + 30
    while not marks.with_suffix(".ready").exists():
        assert time.monotonic() < deadline, (tmp_path / "log").read_text()
        time.sleep(0.05)
    time.sleep(0.3)  # the helper installs its handler
    return process, marks


@pytest.mark.parametrize("leader", [True, False])
def test_the_first_signal_reaches_the_leader_alone_or_the_group(tmp_path: Path, leader: bool) -> None:
    process, marks = _started(tmp_path)
    helper = int(marks.with_suffix(".ready").read_text())
    code = stop(process, tmp_path / "pid", signal.SIGINT, 10.0, leader=leader)
    assert code == 0
    assert marks.with_suffix(".leader").read_text() == "interrupted"
    assert marks.with_suffix(".helper").exists() is not leader
    assert not _alive(helper)  # the group was killed after the leader stopped
    assert not (tmp_path / "pid").exists()


def _alive(pid: int) -> bool:
    """Running, not gone and not a zombie (killed, waiting for whoever adopted it to reap it)."""
    time.sleep(0.2)
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"
