"""The world served by a platform over HTTP: feeds from ``POST /recommendations``, events to ``POST /events``.

:class:`RemotePolicy` asks the platform's batch form for every round of slates, splitting a
round into requests of at most ``batch_users`` users. The platform echoes arm and model version
per slate, and the world puts them in its events. :class:`PlatformSink` sends the events as
Arrow IPC streams of at most ``batch_events`` rows, from a background thread so the world lives
the next hour while the last one is delivered, and its ``flush`` is the platform's flush barrier:
it returns once the platform says every event is durable in its lake.

Both retry what a busy or restarting platform answers (503 and the other gateway errors, and
connection failures) with exponential back-off, honouring ``Retry-After``, for up to
``retry_for_s``; a refusal (4xx) is an error at once, with the platform's reason. Retrying an
events batch is safe: the platform drops event ids it has seen.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pyarrow as pa

from simnet.protocol import (
    ARROW_STREAM,
    EVENTS_FLUSH_PATH,
    EVENTS_PATH,
    RECOMMENDATIONS_PATH,
    RecommendationBatchRequest,
    RecommendationBatchResponse,
)

log = logging.getLogger(__name__)

RETRYABLE = frozenset({502, 503, 504})


class PlatformError(RuntimeError):
    """The platform refused a request, or stayed unavailable for longer than the retry budget."""


@dataclass(frozen=True)
class PlatformOptions:
    """How the world talks to a platform."""

    url: str  # base URL, e.g. http://127.0.0.1:8000
    batch_users: int = 1_000  # users per recommendation request (the platform bounds it too)
    batch_events: int = 10_000  # events per POST /events
    timeout_s: float = 120.0  # one request's timeout
    retry_for_s: float = 300.0  # how long 503s and connection failures are retried before giving up
    backoff_s: float = 0.1  # first wait between retries; doubles up to backoff_max_s
    backoff_max_s: float = 5.0


class PlatformClient:
    """POSTs with retries; see the module doc."""

    def __init__(
        self,
        options: PlatformOptions,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.options = options
        self.http = httpx.Client(base_url=options.url.rstrip("/"), timeout=options.timeout_s, transport=transport)
        self.sleep = sleep
        self.retries = 0

    def post(self, path: str, **kwargs: Any) -> dict[str, Any]:
        options = self.options
        deadline = time.monotonic() + options.retry_for_s
        wait = options.backoff_s
        while True:
            try:
                response = self.http.post(path, **kwargs)
            except httpx.TransportError as error:
                problem = f"{type(error).__name__}: {error}"
                retry_after = None
            else:
                if response.status_code < 300:
                    body: dict[str, Any] = response.json()
                    return body
                if response.status_code not in RETRYABLE:
                    raise PlatformError(
                        f"POST {path} refused with {response.status_code}: {_detail(response)} (nothing was retried)"
                    )
                problem = f"{response.status_code}: {_detail(response)}"
                retry_after = _seconds(response.headers.get("retry-after"))
            if time.monotonic() >= deadline:
                raise PlatformError(
                    f"POST {path} still failing after {options.retry_for_s:g} s of retries ({problem}); "
                    f"is the platform at {options.url} up?"
                )
            self.retries += 1
            log.debug("POST %s: %s; retrying", path, problem)
            self.sleep(min(max(wait, retry_after or 0.0), options.backoff_max_s))
            wait = min(wait * 2, options.backoff_max_s)

    def close(self) -> None:
        self.http.close()


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300]
    return str(body.get("detail", body))[:300] if isinstance(body, dict) else str(body)[:300]


def _seconds(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


class RemotePolicy:
    """Feeds from a platform's batch ``POST /recommendations``."""

    name = "platform"
    deterministic = False  # the platform's answers depend on its state: a resumed run replays them

    def __init__(self, options: PlatformOptions, client: PlatformClient | None = None) -> None:
        self.options = options
        self.client = client or PlatformClient(options)
        self.requests = 0
        self.seconds = 0.0

    def recommend(self, request: RecommendationBatchRequest) -> RecommendationBatchResponse:
        """Slates for every user of ``request``, asked in requests of at most ``batch_users`` users."""
        started = time.perf_counter()
        users, size = request.user_ids, self.options.batch_users
        columns: dict[str, list[Any]] = {
            k: [] for k in ("request_ids", "item_ids", "scores", "arms", "model_versions", "fallback")
        }
        ts = request.ts.isoformat()
        for start in range(0, len(users), size):
            body = self.client.post(
                RECOMMENDATIONS_PATH, json={"user_ids": users[start : start + size], "k": request.k, "ts": ts}
            )
            part = RecommendationBatchResponse.model_validate(body)
            for key, values in columns.items():
                values.extend(getattr(part, key))
            self.requests += 1
        self.seconds += time.perf_counter() - started
        return RecommendationBatchResponse(**columns)

    def observe(self, events: pa.Table) -> None:
        """Nothing to do: the platform learns from the events it ingests."""

    def __getstate__(self) -> dict[str, Any]:
        raise TypeError("a remote policy is not checkpointed: its state lives on the platform")


class PlatformSink:
    """Events to a platform's ``POST /events`` as Arrow IPC streams, delivered in the background."""

    def __init__(self, options: PlatformOptions, client: PlatformClient | None = None, depth: int = 4) -> None:
        self.options = options
        self.client = client or PlatformClient(options)
        self.accepted = 0
        self.duplicates = 0
        self.seconds = 0.0
        self._queue: queue.Queue[pa.Table | None] = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._deliver, name="event-delivery", daemon=True)
        self._thread.start()

    def write(self, table: pa.Table, name: str) -> None:
        """Queue the events for delivery (blocks while ``depth`` batches wait)."""
        self._raise()
        if len(table):
            self._queue.put(table)

    def flush(self) -> None:
        """Wait until every queued event is acknowledged, then until the platform has them in its lake."""
        self._queue.join()
        self._raise()
        started = time.perf_counter()
        self.client.post(EVENTS_FLUSH_PATH)
        self.seconds += time.perf_counter() - started

    def close(self) -> None:
        """Deliver what is queued and stop the delivery thread."""
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()
        self._raise()

    def _raise(self) -> None:
        if self._error is not None:
            raise PlatformError(f"event delivery failed: {self._error}") from self._error

    def _deliver(self) -> None:
        while (table := self._queue.get()) is not None:
            try:
                if self._error is None:
                    started = time.perf_counter()
                    for start in range(0, len(table), self.options.batch_events):
                        self._post(table.slice(start, self.options.batch_events))
                    self.seconds += time.perf_counter() - started
            except BaseException as error:  # noqa: BLE001 (handed to the world's thread)
                self._error = error
            finally:
                self._queue.task_done()
        self._queue.task_done()

    def _post(self, table: pa.Table) -> None:
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
        body = self.client.post(
            EVENTS_PATH, content=sink.getvalue().to_pybytes(), headers={"content-type": ARROW_STREAM}
        )
        self.accepted += int(body.get("accepted", 0))
        self.duplicates += int(body.get("duplicates", 0))
