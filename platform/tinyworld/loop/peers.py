"""SimNet's own reference policies living the same days with the same seed: the loop's yardsticks.

Each runs as ``simnet run --policy NAME`` in a child process at low priority, so it uses the
cores the platform leaves idle (a world waiting for the platform, a pipeline's I/O). Its report
folder holds ``daily.csv`` and ``arms.csv``; a finished peer is not run again on resume.
"""

from __future__ import annotations

import json
import logging
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from tinyworld.loop.children import spawn, stop

log = logging.getLogger(__name__)

PEERS = ("popularity", "oracle")


@dataclass
class Peer:
    """One reference run: its policy, folder and process."""

    policy: str
    out: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def done(self) -> bool:
        return (self.out / "summary.json").is_file() and (self.out / "daily.csv").is_file()

    def daily(self) -> pd.DataFrame:
        """Its rows per day (score, ctr, dau, ...)."""
        return pd.read_csv(self.out / "daily.csv")

    def summary(self) -> dict[str, object]:
        loaded: dict[str, object] = json.loads((self.out / "summary.json").read_text(encoding="utf-8"))
        return loaded


def start_peers(out: Path, users: int, days: int, seed: int, config: Path | None = None) -> list[Peer]:
    """Start the reference runs that have not finished yet (each in ``out/<policy>``)."""
    peers = []
    for policy in PEERS:
        peer = Peer(policy, out / policy)
        if not peer.done:
            command = [
                sys.executable,
                "-m",
                "simnet.cli",
                "run",
                "--policy",
                policy,
                "--users",
                str(users),
                "--days",
                str(days),
                "--seed",
                str(seed),
                "--out",
                str(peer.out),
                "--json",
                "--no-progress",
                "--no-events",
                *(["--config", str(config)] if config else []),
            ]
            peer.process = spawn(command, peer.out / "run.log", peer.out / "run.pid", niceness=10)
        peers.append(peer)
    return peers


def finish_peers(peers: list[Peer]) -> None:
    """Wait for the reference runs; raise if one failed (its log says why)."""
    for peer in peers:
        if peer.process is None:
            continue
        code = peer.process.wait()
        (peer.out / "run.pid").unlink(missing_ok=True)
        peer.process = None
        if code != 0 or not peer.done:
            raise RuntimeError(f"the {peer.policy} reference run failed (exit {code}); see {peer.out / 'run.log'}")


def stop_peers(peers: list[Peer]) -> None:
    """Stop reference runs still going (the loop was interrupted)."""
    for peer in peers:
        if peer.process is not None:
            stop(peer.process, peer.out / "run.pid", signal.SIGTERM, 10.0)
            peer.process = None
