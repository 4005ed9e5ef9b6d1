"""The HTTP side of real-time traffic, and the users' reactions on their way to ``POST /events``.

:func:`post_json` is the one way traffic talks HTTP. :class:`EventStream` collects the answered
slates of a run; every ``flush_s``, or as soon as ``batch`` events wait, the crowd reacts to them
in a worker thread (so the request schedule never waits on it) and the events go out in batches,
at most ``in_flight`` at a time, each resent on 503 or a lost connection: ingestion is
idempotent on event ids, so a resend is never stored twice.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import sys
import time
import uuid
from collections import Counter
from typing import Any

import httpx
import numpy as np

from simnet.traffic_users import Crowd, Served, encode_events

# Outcomes of an HTTP exchange that got no status (a status is kept as itself).
TIMEOUT, CONNECT, TRANSPORT = -1, -2, -3
OUTCOMES = {TIMEOUT: "timeout", CONNECT: "connect", TRANSPORT: "transport"}
RETRY = frozenset({503, TIMEOUT, CONNECT, TRANSPORT})  # event batches worth sending again
HEADERS = {"content-type": "application/json"}


def new_pool(connections: int, tls: Any) -> httpx.AsyncHTTPTransport:
    """An HTTP/1.1 keep-alive pool of at most ``connections`` connections."""
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    return httpx.AsyncHTTPTransport(verify=tls, limits=limits, trust_env=False)


async def post_json(pool: httpx.AsyncHTTPTransport, url: httpx.URL, body: bytes) -> tuple[int, bytes]:
    """POST a JSON body; the status and the body of the answer.

    This is :meth:`httpx.AsyncClient.post` without the client's per-request work that traffic
    does not need (cookies, auth, redirects, merging URLs and headers): a third less CPU.
    """
    response = await pool.handle_async_request(httpx.Request("POST", url, content=body, headers=HEADERS))
    try:
        return response.status_code, await response.aread()
    finally:
        await response.aclose()


def quick_imports() -> None:
    """Take the import work off the requests' path.

    httpx's first request imports anyio's asyncio backend (~25 ms, done here, before the clock
    starts); httpcore tries ``import sniffio`` on every connection lock, and where sniffio is not
    installed each miss scans sys.path (~0.2 ms); marking it absent in sys.modules makes the
    miss immediate (an import of it fails the same way, only faster).
    """
    importlib.import_module("anyio._backends._asyncio")
    try:
        importlib.import_module("sniffio")
    except ImportError:
        sys.modules.setdefault("sniffio", None)  # type: ignore[arg-type]


def failure(error: BaseException) -> int:
    """The outcome code of an exchange that raised ``error``: timeout, connect or (any other) transport."""
    if isinstance(error, TimeoutError | httpx.TimeoutException):
        return TIMEOUT
    return CONNECT if isinstance(error, httpx.ConnectError) else TRANSPORT


class EventStream:
    """Answered slates in; the crowd's reactions out as event batches, concurrently."""

    def __init__(
        self,
        url: httpx.URL,
        crowd: Crowd,
        rng: np.random.Generator,
        batch: int,
        flush_s: float,
        in_flight: int,
        timeout_s: float,
        retries: int,
    ) -> None:
        self.url, self.crowd, self.rng = url, crowd, rng
        self.batch, self.flush_s, self.timeout_s, self.retries = batch, flush_s, timeout_s, retries
        self.slots = asyncio.Semaphore(in_flight)  # batches being sent at most
        self.flush_now, self.stopping = asyncio.Event(), False
        self.prefix = f"rt{uuid.uuid4().hex[:12]}"  # event ids unique across runs: ingestion dedups on them
        self.seq = 0
        self.pending: list[Served] = []
        self.pending_events = 0
        self.tasks: set[asyncio.Task[None]] = set()
        self.latency: list[float] = []
        self.codes: Counter[int] = Counter()
        self.count: Counter[str] = Counter()

    def add(self, served: Served) -> None:
        """Queue an answered slate; a full batch starts a flush."""
        self.pending.append(served)
        self.pending_events += len(served.items)
        if self.pending_events >= self.batch:
            self.flush_now.set()

    async def run(self, pool: httpx.AsyncHTTPTransport) -> None:
        """Flush until :meth:`stop`, then send what is left, wait for every batch and close ``pool``."""
        async with pool:
            self.pool = pool
            await self._flush_until_stopped()
            if self.tasks:
                await asyncio.wait(self.tasks)

    async def _flush_until_stopped(self) -> None:
        while True:
            try:
                async with asyncio.timeout(self.flush_s):
                    await self.flush_now.wait()
            except TimeoutError:
                pass
            self.flush_now.clear()
            batch, self.pending, self.pending_events = self.pending, [], 0
            if batch:
                lines = await asyncio.to_thread(self._events_of, batch, self.seq)
                self.seq += len(lines)
                for start in range(0, len(lines), self.batch):
                    chunk = lines[start : start + self.batch]
                    task = asyncio.create_task(self._send(("[" + ",".join(chunk) + "]").encode(), len(chunk)))
                    self.tasks.add(task)
                    task.add_done_callback(self.tasks.discard)
            elif self.stopping:
                return

    def stop(self) -> None:
        """No more slates will come: flush the rest and end :meth:`run`."""
        self.stopping = True
        self.flush_now.set()

    def _events_of(self, batch: list[Served], first: int) -> list[str]:
        """The crowd's reactions to ``batch`` as JSON events (runs in a worker thread)."""
        return encode_events(batch, self.crowd.react(batch, self.rng), self.prefix, first)

    async def _send(self, body: bytes, count: int) -> None:
        """Send one batch, resending it on 503 or a lost connection."""
        self.count["batches"] += 1
        for attempt in range(self.retries + 1):
            async with self.slots:
                started = time.perf_counter()
                try:
                    async with asyncio.timeout(self.timeout_s):
                        code, content = await post_json(self.pool, self.url, body)
                except (TimeoutError, httpx.HTTPError, OSError) as error:
                    code = failure(error)
                self.latency.append(time.perf_counter() - started)
            self.codes[code] += 1
            if 200 <= code < 300:
                self.count["sent"] += count
                try:
                    answer = json.loads(content)
                    self.count["accepted"] += int(answer.get("accepted", 0))
                    self.count["duplicates"] += int(answer.get("duplicates", 0))
                except (ValueError, TypeError, AttributeError):
                    pass
                return
            if code not in RETRY or attempt == self.retries:
                break
            self.count["retries"] += 1
            await asyncio.sleep(0.25 * 2**attempt)
        self.count["errors"] += 1
        self.count["failed"] += count

    def summary(self) -> dict[str, Any]:
        """The events' figures, as :class:`~simnet.traffic.TrafficResult` names them."""
        latency, c = np.asarray(self.latency), self.count
        quantile = {q: round(float(np.percentile(latency, q)) * 1000, 3) if latency.size else None for q in (50, 99)}
        return {
            "events_sent": c["sent"],
            "events_accepted": c["accepted"],
            "event_duplicates": c["duplicates"],
            "events_failed": c["failed"],
            "event_batches": c["batches"],
            "event_errors": c["errors"],
            "event_retries": c["retries"],
            "events_p50_ms": quantile[50],
            "events_p99_ms": quantile[99],
            "event_status_codes": {str(k) if k > 0 else OUTCOMES[k]: n for k, n in sorted(self.codes.items())},
        }
