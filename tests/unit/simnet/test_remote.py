"""The world served over HTTP: batch splitting, retries on 503 and lost connections, refusals, delivery."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime

import httpx
import pyarrow as pa
import pytest

from simnet.config import WorldConfig
from simnet.protocol import ARROW_STREAM, EVENTS_FLUSH_PATH, EVENTS_PATH, RECOMMENDATIONS_PATH
from simnet.protocol import RecommendationBatchRequest as Request
from simnet.remote import PlatformClient, PlatformError, PlatformOptions, PlatformSink, RemotePolicy
from simnet.simulation import Simulation
from simnet.spec import RunSpec

OPTIONS = PlatformOptions(url="http://platform", batch_users=1_000, batch_events=500, retry_for_s=30)
TS = datetime(2026, 1, 1, tzinfo=UTC)


class Platform:
    """A fake platform: answers feeds of the first 10 items, stores events, and misbehaves on cue."""

    def __init__(self, fail_every: int = 0, drop_every: int = 0) -> None:
        self.fail_every, self.drop_every = fail_every, drop_every
        self.calls = 0
        self.batch_sizes: list[int] = []
        self.ids: list[str] = []
        self.flushes = 0
        self.lock = threading.Lock()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        with self.lock:
            self.calls += 1
            call = self.calls
        if self.drop_every and call % self.drop_every == 0:
            raise httpx.ConnectError("connection reset", request=request)
        if self.fail_every and call % self.fail_every == 0:
            return httpx.Response(503, json={"detail": "overloaded"}, headers={"Retry-After": "0"})
        if request.url.path == RECOMMENDATIONS_PATH:
            body = json.loads(request.content)
            n = len(body["user_ids"])
            self.batch_sizes.append(n)
            return httpx.Response(
                200,
                json={
                    "request_ids": [f"q{call}-{i}" for i in range(n)],
                    "item_ids": [list(range(body["k"]))] * n,
                    "scores": [[1.0] * body["k"]] * n,
                    "arms": ["control"] * n,
                    "model_versions": ["two-tower:v1"] * n,
                    "fallback": [False] * n,
                },
            )
        if request.url.path == EVENTS_PATH:
            assert request.headers["content-type"] == ARROW_STREAM
            table = pa.ipc.open_stream(request.content).read_all()
            with self.lock:
                fresh = [i for i in table["event_id"].to_pylist() if i not in set(self.ids)]
                self.ids.extend(fresh)
            return httpx.Response(200, json={"accepted": len(fresh), "duplicates": len(table) - len(fresh)})
        if request.url.path == EVENTS_FLUSH_PATH:
            self.flushes += 1
            return httpx.Response(200, json={"flushed": 0, "pending": 0})
        return httpx.Response(404, json={"detail": "no such route"})


def _client(platform: Platform, waits: list[float] | None = None, **options: float) -> PlatformClient:
    chosen = PlatformOptions(**{**OPTIONS.__dict__, **options})
    return PlatformClient(
        chosen, transport=httpx.MockTransport(platform), sleep=(waits if waits is not None else []).append
    )


def test_a_round_is_split_into_bounded_requests_and_answered_in_order() -> None:
    platform = Platform()
    policy = RemotePolicy(OPTIONS, _client(platform))
    response = policy.recommend(Request(user_ids=list(range(2_500)), k=10, ts=TS))
    assert platform.batch_sizes == [1_000, 1_000, 500]
    assert len(response.request_ids) == 2_500 and response.arms[-1] == "control"
    assert response.model_versions[0] == "two-tower:v1"


def test_503s_and_lost_connections_are_retried_with_back_off() -> None:
    platform, waits = Platform(fail_every=2, drop_every=3), list[float]()
    client = _client(platform, waits)
    policy = RemotePolicy(OPTIONS, client)
    for _ in range(4):
        assert len(policy.recommend(Request(user_ids=[1, 2], k=3, ts=TS)).item_ids) == 2
    assert client.retries >= 3 and len(waits) == client.retries
    assert all(0 < w <= OPTIONS.backoff_max_s for w in waits)


def test_a_refusal_is_an_error_at_once_with_the_platforms_reason() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        return httpx.Response(413, json={"detail": "at most 4096 users per request: split it"})

    client = PlatformClient(OPTIONS, transport=httpx.MockTransport(refuse), sleep=lambda s: None)
    with pytest.raises(PlatformError, match="413: at most 4096 users"):
        RemotePolicy(OPTIONS, client).recommend(Request(user_ids=[1], k=3, ts=TS))
    assert client.retries == 0


def test_a_platform_that_stays_down_ends_the_run_with_a_clear_error() -> None:
    def down(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503, json={"detail": "starting"})

    client = PlatformClient(
        PlatformOptions(url="http://platform", retry_for_s=0.0),
        transport=httpx.MockTransport(down),
        sleep=lambda s: None,
    )
    with pytest.raises(
        PlatformError, match="still failing after 0 s of retries .*is the platform at http://platform up"
    ):
        RemotePolicy(OPTIONS, client).recommend(Request(user_ids=[1], k=3, ts=TS))


def test_a_day_against_a_flaky_platform_completes_with_every_event_delivered_once() -> None:
    """503s on every 5th call and a dropped connection on every 7th: the day still completes,
    the platform holds each event exactly once and was asked to flush after the genesis and at the day's end."""
    platform = Platform(fail_every=5, drop_every=7)
    sink = PlatformSink(OPTIONS, _client(platform))
    sim = Simulation(
        RunSpec(WorldConfig.load().with_users(300), "platform", 1, 3, tag="x"),
        RemotePolicy(OPTIONS, _client(platform)),
        sink,
    )
    sim.live_day()
    sink.close()
    assert platform.flushes == 2  # the genesis before the first feed, then the day's end
    assert len(platform.ids) == len(set(platform.ids)) == sim.tally.events == sink.accepted
    assert sim.tally.arm_frame()["arm"].tolist() == ["control"]
