"""SimNet's real-time mode: an open-loop HTTP load generator driven by SimNet users.

Arrival ``i`` is due at ``t0 + i / rps`` (uniform) or after seeded exponential gaps (poisson),
whatever happened to earlier ones: every arrival is sent when due even if others are still
outstanding, and its latency runs from when it was DUE, not from when it was sent, so neither a
slow server nor a client that falls behind can hide latency (no coordinated omission). An
arrival finding ``max_in_flight`` requests outstanding is not sent and counts as an error
(``client_overflow``).

Each arrival is a user of a :class:`~simnet.traffic_users.Crowd` asking ``POST /recommendations``
for ``k`` items. When events are on, answered slates are collected and, every ``flush_s`` or
once ``event_batch`` events wait, the crowd reacts to them (off the event loop, in a thread) and
the events go to ``POST /events`` in batches, concurrently with the request schedule.

:func:`run_traffic` runs one spec; build the crowd once with
:func:`~simnet.traffic_users.build_crowd` and pass it to every run of a sweep.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import time
from collections import Counter
from collections.abc import Callable, Coroutine
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import httpx
import numpy as np

from simnet.protocol import MAX_SLATE
from simnet.runner import RunSpec
from simnet.traffic_events import OUTCOMES, TIMEOUT, EventStream, failure, new_pool, post_json, quick_imports
from simnet.traffic_users import Crowd, Served, build_crowd

Arrivals = Literal["uniform", "poisson"]

# Outcomes of an arrival beyond those of any HTTP exchange (a status is kept as itself).
BAD_RESPONSE, OVERFLOW = -4, -5
REASONS = {**OUTCOMES, BAD_RESPONSE: "bad_response", OVERFLOW: "client_overflow"}
MAX_ITEM_ID = 2**63 - 1
# Connections per httpx transport: httpcore's pool scans all its connections (quadratically when
# idle) on every request, so the connections are spread over transports of this many each.
SHARD = 8


@dataclass(frozen=True)
class TrafficSpec:
    """One run of real-time traffic."""

    url: str  # the recommendation API's base URL (POST {url}/recommendations)
    rps: float = 50.0  # target arrivals per second
    duration_s: float = 60.0  # measured seconds of arrivals, after the warm-up
    k: int = 10  # items asked for per request
    timeout_s: float = 1.0  # a request not answered this long after it was sent is an error
    events: bool = True  # send the users' reactions to POST {events_url}/events
    arrivals: Arrivals = "uniform"  # evenly spaced, or a seeded Poisson process
    warmup_s: float = 0.0  # seconds of arrivals sent first and left out of the statistics
    max_in_flight: int = 256  # client-side bound on outstanding requests (and the pool's size)
    seed: int = 7  # seeds the arrival times, the users drawn and their reactions
    world: RunSpec | None = None  # the SimNet world whose users ask; None for synthetic users
    synthetic_users: int = 100_000  # user ids 0..n-1 when there is no world
    events_url: str | None = None  # the ingest API's base URL; None for the same as url
    event_batch: int = 500  # events per POST /events, at most; a flush starts once this many wait
    flush_s: float = 0.2  # longest wait between flushes of the reactions
    events_in_flight: int = 4  # concurrent POST /events
    events_timeout_s: float = 10.0  # a batch not acknowledged within this is retried or lost
    event_retries: int = 2  # resends of a batch refused with 503 or lost in transit (ids dedup)

    def __post_init__(self) -> None:
        if not self.url.startswith(("http://", "https://")):
            raise ValueError(f"url must start with http:// or https://, got {self.url!r}")
        positive = {"rps": self.rps, "duration_s": self.duration_s, "timeout_s": self.timeout_s}
        positive |= {"flush_s": self.flush_s, "events_timeout_s": self.events_timeout_s}
        for name, value in positive.items():
            if not value > 0:
                raise ValueError(f"{name} must be > 0, got {value}")
        if not 1 <= self.k <= MAX_SLATE:
            raise ValueError(f"k must be in 1..{MAX_SLATE}, got {self.k}")
        if self.warmup_s < 0 or self.event_retries < 0:
            raise ValueError("warmup_s and event_retries must be >= 0")
        if min(self.max_in_flight, self.event_batch, self.events_in_flight, self.synthetic_users) < 1:
            raise ValueError("max_in_flight, event_batch, events_in_flight and synthetic_users must be >= 1")
        if self.arrivals not in ("uniform", "poisson"):
            raise ValueError(f"arrivals must be uniform or poisson, got {self.arrivals!r}")


@dataclass
class TrafficResult:
    """What a run measured; latencies in milliseconds over the measured arrivals that were sent."""

    target_rps: float
    achieved_rps: float  # answered (2xx) measured requests per second of the measured span
    duration_s: float  # the measured span: its arrivals' window, or to its last answer if later
    requests: int  # arrivals due in the measured window
    completed: int  # ... answered with 2xx and a well-formed body
    errors: int  # ... that failed: non-2xx, timeout, transport, bad body, client overflow
    timeouts: int
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    max_ms: float | None
    mean_ms: float | None
    send_lag_p99_ms: float | None  # how late the client sent: high means the client is the limit
    send_lag_max_ms: float | None
    status_codes: dict[str, int]
    error_reasons: dict[str, int]
    fallbacks: int
    arms: dict[str, int]
    model_versions: dict[str, int]
    crowd: str
    arrivals: str
    warmup_s: float
    events: bool
    events_sent: int = 0  # events in batches acknowledged with 2xx (whole run, warm-up included)
    events_accepted: int = 0  # ... that the server reported new
    event_duplicates: int = 0  # ... that it had seen before
    events_failed: int = 0  # events in batches refused or lost after every retry
    event_batches: int = 0
    event_errors: int = 0  # batches refused or lost after every retry
    event_retries: int = 0
    events_p50_ms: float | None = None
    events_p99_ms: float | None = None
    event_status_codes: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The result as one JSON-ready object."""
        return asdict(self)


@dataclass(frozen=True)
class TrafficProgress:
    """A run's state, reported about once a second."""

    elapsed_s: float
    total_s: float
    sent: int
    completed: int
    errors: int


ProgressFn = Callable[[TrafficProgress], None]


def schedule(spec: TrafficSpec, rng: np.random.Generator) -> np.ndarray:
    """Due times of every arrival, seconds from the start, warm-up included."""
    total = spec.warmup_s + spec.duration_s
    if spec.arrivals == "uniform":
        return np.arange(int(np.ceil(total * spec.rps - 1e-9))) / spec.rps
    expected = total * spec.rps
    gaps = rng.exponential(1 / spec.rps, size=int(expected + 6 * np.sqrt(expected) + 16))
    due = np.cumsum(gaps) - gaps[0]  # the first arrival at the start
    while due[-1] < total:
        due = np.concatenate([due, due[-1] + np.cumsum(rng.exponential(1 / spec.rps, size=gaps.size))])
    return due[due < total]


def run_traffic(spec: TrafficSpec, crowd: Crowd | None = None, progress: ProgressFn | None = None) -> TrafficResult:
    """Run ``spec`` on a fresh event loop (uvloop when installed); see :func:`run_traffic_async`."""
    return _run_loop(run_traffic_async(spec, crowd, progress))


async def run_traffic_async(
    spec: TrafficSpec, crowd: Crowd | None = None, progress: ProgressFn | None = None
) -> TrafficResult:
    """Send ``spec``'s traffic and measure it; ``crowd`` defaults to one built from ``spec.world``."""
    crowd = crowd or build_crowd(spec.world, spec.synthetic_users)
    run = _Run(spec, crowd, progress)
    # A full collection over the process's long-lived objects (numpy, pandas, pydantic, the world)
    # stalls the loop for tens of ms: collect once now, and keep them out of collections meanwhile.
    gc.collect()
    gc.freeze()
    try:
        return await run.main()
    finally:
        gc.unfreeze()


def _run_loop(coro: Coroutine[Any, Any, TrafficResult]) -> TrafficResult:
    try:
        import uvloop

        factory: Callable[[], asyncio.AbstractEventLoop] | None = uvloop.new_event_loop
    except ImportError:  # pragma: no cover - uvloop comes with uvicorn[standard]
        factory = None
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(coro)


def _item(value: object) -> int:
    """An item id as sent back, or -1 for one the protocol cannot carry."""
    return value if type(value) is int and 0 <= value <= MAX_ITEM_ID else -1


def _ms(values: np.ndarray, q: float) -> float | None:
    return round(float(np.percentile(values, q)) * 1000, 3) if values.size else None


class _Run:
    """One run's clients, schedule and counters."""

    def __init__(self, spec: TrafficSpec, crowd: Crowd, progress: ProgressFn | None) -> None:
        self.spec, self.crowd, self.progress = spec, crowd, progress
        draws, react_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(spec.seed).spawn(2))
        self.due = schedule(spec, draws)
        self.users: list[int] = crowd.draw(draws, self.due.size).tolist()
        n = self.due.size
        self.status = np.zeros(n, dtype=np.int32)  # the outcome: an HTTP status or one of REASONS
        self.http = np.zeros(n, dtype=np.int32)  # the HTTP status received, 0 for none
        self.latency = np.full(n, np.nan)
        self.lag = np.full(n, np.nan)
        self.done = np.full(n, np.nan)
        self.measured = self.due >= spec.warmup_s
        self.arms: Counter[str] = Counter()
        self.versions: Counter[str] = Counter()
        self.fallbacks = self.in_flight = self.sent = self.completed = self.failed = 0
        base = spec.url.rstrip("/")
        self.rec_url = httpx.URL(f"{base}/recommendations")
        events_url = httpx.URL(f"{(spec.events_url or base).rstrip('/')}/events")
        self.events = EventStream(
            events_url,
            crowd,
            react_rng,
            spec.event_batch,
            spec.flush_s,
            spec.events_in_flight,
            spec.events_timeout_s,
            spec.event_retries,
        )

    async def main(self) -> TrafficResult:
        spec = self.spec
        self.loop = asyncio.get_running_loop()
        quick_imports()
        shards = -(-spec.max_in_flight // SHARD)
        self.load = [0] * shards  # requests in flight on each transport
        tls = httpx.create_ssl_context()  # one for all transports: building one takes ~40 ms
        async with contextlib.AsyncExitStack() as stack:
            self.pools = [await stack.enter_async_context(new_pool(SHARD, tls)) for _ in range(shards)]
            events = None
            if spec.events:
                await asyncio.to_thread(int)  # start the reactions' worker thread before the clock
                events = asyncio.create_task(self.events.run(new_pool(spec.events_in_flight, tls)))
            self.t0 = time.perf_counter() + 0.05
            self.wall0 = time.time() + 0.05
            ticker = asyncio.create_task(self._ticker()) if self.progress else None
            requests = await self._send_all()
            if requests:
                await asyncio.wait(requests)
            if ticker:
                ticker.cancel()
            if events:
                self.events.stop()
                await events
        return self._result()

    async def _send_all(self) -> set[asyncio.Task[None]]:
        """Start every arrival when it is due; returns the tasks still running."""
        loop, clock, t0, cap = self.loop, time.perf_counter, self.t0, self.spec.max_in_flight
        due = (t0 + self.due).tolist()
        tasks: set[asyncio.Task[None]] = set()
        i, n = 0, len(due)
        while i < n:
            delay = due[i] - clock()
            if delay > 0:
                await asyncio.sleep(delay)
            now = clock()
            while i < n and due[i] <= now:
                if self.in_flight >= cap:
                    self.status[i] = OVERFLOW
                    self.failed += 1
                else:
                    self.in_flight += 1
                    task = loop.create_task(self._ask(i, due[i]))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
                i += 1
        return tasks

    async def _ask(self, i: int, due: float) -> None:
        """Send arrival ``i`` and record its outcome; latency runs from ``due``."""
        clock, spec = time.perf_counter, self.spec
        sent = clock()
        self.lag[i] = sent - due
        self.sent += 1
        user = self.users[i]
        ts = datetime.fromtimestamp(self.wall0 + (due - self.t0), UTC).isoformat()
        body = b'{"user_id":%d,"k":%d,"ts":"%s"}' % (user, spec.k, ts.encode())
        load, shard = self.load, 0
        while load[shard] >= SHARD:  # one has room: the schedule keeps in_flight <= SHARD * len(load)
            shard += 1
        load[shard] += 1
        try:
            async with asyncio.timeout(spec.timeout_s):
                code, content = await post_json(self.pools[shard], self.rec_url, body)
            self.http[i] = code
            if 200 <= code < 300:
                self._answered(i, user, content)
        except (TimeoutError, httpx.HTTPError, OSError) as error:
            code = failure(error)
        except (ValueError, KeyError, TypeError, AttributeError):
            code = BAD_RESPONSE
        finally:
            self.in_flight -= 1
            load[shard] -= 1
        now = clock()
        self.latency[i], self.done[i], self.status[i] = now - due, now, code
        if 200 <= code < 300:
            self.completed += 1
        else:
            self.failed += 1

    def _answered(self, i: int, user: int, content: bytes) -> None:
        """Read a 2xx answer (raising on a malformed one) and queue it for the users to react."""
        data = json.loads(content)
        items = [_item(x["item_id"]) for x in data["items"][: self.spec.k]]
        request_id, arm, version = data["request_id"], data["arm"], data["model_version"]
        if not (isinstance(request_id, str) and isinstance(arm, str) and isinstance(version, str)):
            raise TypeError("request_id, arm and model_version must be strings")
        if self.measured[i]:
            self.arms[arm] += 1
            self.versions[version] += 1
            self.fallbacks += data.get("fallback") is True
        if self.spec.events:
            at = self.wall0 + (time.perf_counter() - self.t0)
            self.events.add(Served(user, items, request_id, arm, version, at))

    async def _ticker(self) -> None:
        assert self.progress is not None
        total = self.spec.warmup_s + self.spec.duration_s
        while True:
            elapsed = max(0.0, time.perf_counter() - self.t0)
            self.progress(TrafficProgress(min(elapsed, total), total, self.sent, self.completed, self.failed))
            await asyncio.sleep(1.0)

    def _result(self) -> TrafficResult:
        spec, m = self.spec, self.measured
        status = self.status[m]
        sent = m & (self.status != OVERFLOW)
        latency, lag = self.latency[sent], self.lag[sent]
        ok = int(((status >= 200) & (status < 300)).sum())
        start = self.t0 + spec.warmup_s
        last = float(np.nanmax(self.done[sent])) - start if sent.any() else 0.0
        span = max(spec.duration_s, last)
        codes = Counter(int(c) for c in status)
        http = Counter(int(c) for c in self.http[m] if c)
        reasons = {f"status_{c}" if c > 0 else REASONS[c]: n for c, n in codes.items() if not 200 <= c < 300}
        return TrafficResult(
            target_rps=spec.rps,
            achieved_rps=round(ok / span, 3),
            duration_s=round(span, 3),
            requests=int(m.sum()),
            completed=ok,
            errors=int(m.sum()) - ok,
            timeouts=codes.get(TIMEOUT, 0),
            p50_ms=_ms(latency, 50),
            p95_ms=_ms(latency, 95),
            p99_ms=_ms(latency, 99),
            max_ms=_ms(latency, 100),
            mean_ms=round(float(latency.mean()) * 1000, 3) if latency.size else None,
            send_lag_p99_ms=_ms(lag, 99),
            send_lag_max_ms=_ms(lag, 100),
            status_codes={str(c): n for c, n in sorted(http.items())},
            error_reasons=dict(sorted(reasons.items())),
            fallbacks=self.fallbacks,
            arms=dict(self.arms.most_common()),
            model_versions=dict(self.versions.most_common()),
            crowd=self.crowd.name,
            arrivals=spec.arrivals,
            warmup_s=spec.warmup_s,
            events=spec.events,
            **(self.events.summary() if spec.events else {}),
        )
