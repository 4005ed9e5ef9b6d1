"""A throwaway Redis for this machine: tests and benchmarks of the Redis online store use it.

``redis-server`` (Debian's package) runs on a free loopback port without persistence and is
stopped when the context ends.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path


class RedisUnavailableError(RuntimeError):
    """redis-server is not installed, or did not start."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def redis_server(workdir: Path, timeout_s: float = 10.0) -> Iterator[str]:
    """Run redis-server with its files under ``workdir``; yields its URL (``redis://127.0.0.1:PORT/0``)."""
    import redis

    server = shutil.which("redis-server")
    if server is None:
        raise RedisUnavailableError("redis-server is not installed (apt-get install redis-server)")
    port = free_port()
    args = [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    process = subprocess.Popen([*args, "--dir", str(workdir)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        client = redis.Redis(host="127.0.0.1", port=port)
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RedisUnavailableError(f"redis-server did not start on port {port}") from None
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)
