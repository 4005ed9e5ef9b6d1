"""An exclusive, advisory lock on a state file, so that one process at a time owns it.

Two ingest processes on one state file would hand out the same flush ranges and break dedup.
The lock is ``flock`` on ``<state>.lock``: the kernel drops it when its holder dies, even by
``kill -9``, so a restart never finds a stale lock.
"""

from __future__ import annotations

import fcntl
from pathlib import Path


class StateLockedError(RuntimeError):
    """Another process holds the state file."""


class StateLock:
    """Holds ``<path>.lock`` exclusively from construction until :meth:`release`."""

    def __init__(self, path: Path) -> None:
        self.path = path.with_name(path.name + ".lock")
        self._file = open(self.path, "a")
        try:
            fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._file.close()
            raise StateLockedError(f"{path} is in use by another ingest process") from None

    def release(self) -> None:
        """Let another process take the state file; idempotent."""
        if not self._file.closed:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
