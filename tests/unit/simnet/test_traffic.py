"""SimNet's real-time traffic against a tiny real HTTP platform on 127.0.0.1.

The platform is a plain ASGI app served by uvicorn in a thread on a free port: it answers
``POST /recommendations`` and ``POST /events`` as told (status, delay, items, body) and records
what it received and when. Runs are one or two seconds long; rates and tolerances are chosen to
hold on a busy two-core machine.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pytest
import uvicorn
from typer.testing import CliRunner

from simnet.cli import app
from simnet.config import WorldConfig
from simnet.protocol import Event, EventType
from simnet.runner import RunSpec
from simnet.traffic import TrafficProgress, TrafficSpec, run_traffic, schedule
from simnet.traffic_users import Served, SyntheticCrowd, WorldCrowd, build_crowd, encode_events, replay

UNKNOWN_ITEM = 10**9  # an id no small world has


@dataclass
class FakePlatform:
    """An ASGI platform that answers as configured and records every request."""

    url: str = ""
    status: int = 200  # of /recommendations
    delay_s: float = 0.0  # before answering /recommendations
    items: list[int] = field(default_factory=lambda: list(range(10)))
    body: bytes | None = None  # answer this instead of a recommendation
    event_status: int = 200
    requests: list[tuple[float, dict[str, Any]]] = field(default_factory=list)
    batches: list[list[dict[str, Any]]] = field(default_factory=list)
    issued: dict[str, tuple[str, str, list[int]]] = field(default_factory=dict)  # request_id -> arm, version, items
    counter: Iterator[int] = field(default_factory=itertools.count)

    def reset(self, **settings: Any) -> FakePlatform:
        fresh = FakePlatform(url=self.url)
        for name, value in vars(fresh).items():
            setattr(self, name, settings.get(name, value))
        return self

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        chunks, more = [], True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        payload = json.loads(b"".join(chunks))
        if scope["path"] == "/events":
            self.batches.append(payload)
            status, body = self.event_status, json.dumps({"accepted": len(payload), "duplicates": 0}).encode()
        else:
            self.requests.append((time.perf_counter(), payload))
            n = next(self.counter)
            arm = "A" if n % 2 else "B"
            request_id, version = f"req-{n}", f"model-{arm}"
            self.issued[request_id] = (arm, version, list(self.items))
            if self.delay_s:
                await asyncio.sleep(self.delay_s)
            answer = {
                "request_id": request_id,
                "items": [{"item_id": i, "score": 1.0 / (1 + r)} for r, i in enumerate(self.items)],
                "arm": arm,
                "model_version": version,
                "fallback": n % 5 == 0,
            }
            status, body = self.status, self.body or json.dumps(answer).encode()
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def events(self) -> list[dict[str, Any]]:
        return [e for batch in self.batches for e in batch]


@contextmanager
def serve(app: Any, lifespan: Literal["on", "off"] = "off") -> Iterator[str]:
    """Serve the ASGI ``app`` with uvicorn in a thread on a free port of 127.0.0.1; yields its URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    uv = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan=lifespan))
    thread = threading.Thread(target=uv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 15
        while not uv.started:
            assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
            time.sleep(0.02)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        uv.should_exit = True
        thread.join(15)
        sock.close()


@pytest.fixture(scope="module")
def server() -> Iterator[FakePlatform]:
    """The fake platform, served for the module's tests."""
    fake = FakePlatform()
    with serve(fake) as url:
        fake.url = url
        yield fake


@pytest.fixture
def platform(server: FakePlatform) -> FakePlatform:
    """The fake platform, answering 200 with items 0..9 and with nothing recorded yet."""
    return server.reset()


def _spec(platform: FakePlatform, **kw: Any) -> TrafficSpec:
    settings: dict[str, Any] = {"rps": 50.0, "duration_s": 1.0, "events": False, "synthetic_users": 1000}
    return TrafficSpec(url=platform.url, **(settings | kw))


def test_schedule_is_paced_and_seeded() -> None:
    """Uniform arrivals are exactly 1/rps apart; Poisson ones are seeded, with mean gap near 1/rps."""
    uniform = schedule(TrafficSpec(url="http://x", rps=100, duration_s=2, warmup_s=1), np.random.default_rng(0))
    assert uniform.size == 300
    assert np.allclose(np.diff(uniform), 0.01)
    spec = TrafficSpec(url="http://x", rps=200, duration_s=20, arrivals="poisson")
    a, b = (schedule(spec, np.random.default_rng(3)) for _ in range(2))
    assert np.array_equal(a, b)
    assert abs(a.size - 4000) < 5 * np.sqrt(4000)
    assert a.max() < 20 and np.all(np.diff(a) >= 0)
    assert abs(np.diff(a).mean() - 0.005) < 0.0005


def test_spec_refuses_nonsense() -> None:
    """A spec with a non-positive rate, a bad URL, k beyond the protocol or an unknown arrival kind is refused."""
    for bad in ({"rps": 0}, {"url": "localhost:8000"}, {"k": 101}, {"arrivals": "bursty"}, {"max_in_flight": 0}):
        with pytest.raises(ValueError):
            TrafficSpec(**({"url": "http://x"} | bad))


def test_arrivals_are_paced_at_the_target_rate(platform: FakePlatform) -> None:
    """100 req/s for 2 s sends 200 requests, spread evenly over the 2 s, all answered."""
    result = run_traffic(_spec(platform, rps=100, duration_s=2))
    assert result.requests == 200 and len(platform.requests) == 200
    assert result.completed == 200 and result.errors == 0
    assert result.achieved_rps == pytest.approx(100, rel=0.1)
    times = np.array([t for t, _ in platform.requests])
    times -= times[0]
    assert times[-1] == pytest.approx(1.99, abs=0.15)
    per_half_second = np.histogram(times, bins=4, range=(0, 2))[0]
    assert per_half_second.min() >= 35, per_half_second
    assert all(0 <= body["user_id"] < 1000 and body["k"] == 10 and body["ts"] for _, body in platform.requests)
    assert result.arms == {"A": 100, "B": 100} and sum(result.model_versions.values()) == 200
    assert result.fallbacks == 40


def test_open_loop_keeps_sending_while_the_server_is_slow(platform: FakePlatform) -> None:
    """With every answer taking 300 ms, 50 req/s for 1 s still sends all 50 requests within about 1 s."""
    platform.delay_s = 0.3
    result = run_traffic(_spec(platform))
    times = sorted(t for t, _ in platform.requests)
    assert len(times) == 50 and times[-1] - times[0] < 1.2
    assert result.completed == 50
    assert result.p50_ms is not None and result.p50_ms >= 300


def test_latency_includes_the_server_delay(platform: FakePlatform) -> None:
    """A server that sleeps 50 ms gives p50 >= 50 ms and p99 >= p95 >= p50."""
    platform.delay_s = 0.05
    result = run_traffic(_spec(platform))
    assert result.p50_ms is not None and result.p95_ms is not None and result.p99_ms is not None
    assert 50 <= result.p50_ms <= result.p95_ms <= result.p99_ms <= (result.max_ms or 0)


def test_latency_runs_from_the_due_time_when_the_client_falls_behind(platform: FakePlatform) -> None:
    """A client stalled for 300 ms sends late, and those requests' latency includes the stall."""
    stalled: list[bool] = []

    def stall(_: TrafficProgress) -> None:
        if not stalled:
            stalled.append(True)
            time.sleep(0.3)  # blocks the event loop, as a busy client would

    result = run_traffic(_spec(platform, rps=100, duration_s=1), progress=stall)
    assert result.send_lag_max_ms is not None and result.send_lag_max_ms >= 200
    assert result.max_ms is not None and result.max_ms >= 200
    assert result.requests == 100 and result.errors == 0


@pytest.mark.parametrize("status", [500, 503])
def test_server_errors_are_counted(platform: FakePlatform, status: int) -> None:
    """Every non-2xx answer is an error, under its status code; nothing counts as achieved."""
    platform.status = status
    result = run_traffic(_spec(platform, duration_s=0.5))
    assert result.requests == 25 and result.errors == 25 and result.completed == 0
    assert result.status_codes == {str(status): 25}
    assert result.error_reasons == {f"status_{status}": 25}
    assert result.achieved_rps == 0


def test_timeouts_are_errors_with_their_latency(platform: FakePlatform) -> None:
    """An answer later than the timeout is a timeout error, and its latency is at least the timeout."""
    platform.delay_s = 0.4
    result = run_traffic(_spec(platform, duration_s=0.4, timeout_s=0.1))
    assert result.requests == 20 and result.timeouts == 20 and result.errors == 20
    assert result.error_reasons == {"timeout": 20}
    assert result.p50_ms is not None and result.p50_ms >= 100


def test_malformed_answers_and_refused_connections_are_errors(platform: FakePlatform) -> None:
    """A 200 whose body breaks the contract is a bad_response; a closed port is a connect error."""
    platform.body = b'{"items": "none"}'
    bad = run_traffic(_spec(platform, duration_s=0.4))
    assert bad.error_reasons == {"bad_response": 20} and bad.status_codes == {"200": 20}
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    refused = run_traffic(TrafficSpec(url=f"http://127.0.0.1:{port}", rps=50, duration_s=0.4, events=False))
    assert refused.errors == 20 and refused.error_reasons == {"connect": 20}


def test_arrivals_beyond_max_in_flight_are_errors_not_dropped(platform: FakePlatform) -> None:
    """With one request allowed in flight and 100 ms answers, most arrivals are client_overflow errors."""
    platform.delay_s = 0.1
    result = run_traffic(_spec(platform, max_in_flight=1))
    overflow = result.error_reasons.get("client_overflow", 0)
    assert overflow >= 30
    assert result.completed + result.errors == result.requests == 50
    assert len(platform.requests) == 50 - overflow


def test_warmup_is_sent_but_not_measured(platform: FakePlatform) -> None:
    """Warm-up arrivals reach the server but are left out of the statistics."""
    result = run_traffic(_spec(platform, warmup_s=0.5))
    assert len(platform.requests) == 75
    assert result.requests == 50 and sum(result.arms.values()) == 50


def test_events_echo_the_answers_and_have_unique_ids(platform: FakePlatform) -> None:
    """Every answered slate yields one valid impression per item echoing its request, arm and version."""
    result = run_traffic(_spec(platform, rps=100, events=True))
    events = [Event.model_validate(e) for e in platform.events()]
    assert len(events) == result.events_sent == result.events_accepted > 0
    assert result.event_errors == 0 and result.event_batches == len(platform.batches)
    assert len({e.event_id for e in events}) == len(events)
    impressions = [e for e in events if e.type is EventType.IMPRESSION]
    assert len(impressions) == 10 * result.completed
    for e in events:
        if e.type is EventType.FOLLOW:
            continue
        assert e.request_id is not None and e.position is not None
        arm, version, items = platform.issued[e.request_id]
        assert (e.arm, e.model_version, e.item_id) == (arm, version, items[e.position])
    clicks = Counter(e.request_id for e in events if e.type is EventType.CLICK)
    dwells = Counter(e.request_id for e in events if e.type is EventType.DWELL)
    assert clicks and clicks == dwells and max(clicks.values()) == 1
    again = run_traffic(_spec(platform, duration_s=0.2, events=True))
    assert again.events_sent > 0
    assert len({e["event_id"] for e in platform.events()}) == len(platform.events())  # unique across runs too


@pytest.mark.parametrize(("status", "retries"), [(422, 0), (503, 1)])
def test_refused_event_batches_are_counted(platform: FakePlatform, status: int, retries: int) -> None:
    """A refused batch is an event error: a 422 is not resent, a 503 is (once here); requests are unaffected."""
    platform.event_status = status
    result = run_traffic(_spec(platform, duration_s=0.5, events=True, event_retries=1))
    assert result.errors == 0 and result.event_batches > 0
    assert result.event_errors == result.event_batches and result.events_sent == 0
    assert result.event_retries == retries * result.event_batches
    assert len(platform.batches) == (1 + retries) * result.event_batches
    assert result.event_status_codes == {str(status): len(platform.batches)}
    assert result.events_failed * (1 + retries) == len(platform.events())


def _clicky_world(users: int = 300) -> RunSpec:
    """A small world whose users always click something (no-click is hopeless)."""
    cfg = WorldConfig.load(behaviour={"no_click_utility": -30.0}).with_users(users)
    return RunSpec(config=cfg, policy="popularity", days=0, seed=3)


def test_world_users_react_by_the_behaviour_model(platform: FakePlatform) -> None:
    """World users are alive world ids; items the world does not know get an impression and nothing more."""
    crowd = build_crowd(_clicky_world())
    assert isinstance(crowd, WorldCrowd)
    known = crowd.world.items.n
    platform.items = [*range(9), UNKNOWN_ITEM]
    result = run_traffic(_spec(platform, events=True), crowd)
    assert result.crowd == "world" and result.completed == 50
    assert all(body["user_id"] < crowd.world.users.n for _, body in platform.requests)
    events = [Event.model_validate(e) for e in platform.events()]
    shown = Counter(e.item_id for e in events if e.type is EventType.IMPRESSION)
    assert shown[UNKNOWN_ITEM] == 50 and len(shown) == 10
    reacted = [e for e in events if e.type is not EventType.IMPRESSION]
    assert reacted and all(e.item_id is not None and e.item_id < known for e in reacted)
    clicks = Counter(e.request_id for e in events if e.type is EventType.CLICK)
    assert clicks == Counter(dict.fromkeys(platform.issued, 1))


def test_world_reactions_follow_the_choice_model() -> None:
    """Slates of unknown items are never clicked; a hopeless no-click option means every slate is; memory updates."""
    world = replay(_clicky_world(200))
    crowd, rng = WorldCrowd(world), np.random.default_rng(0)
    users = crowd.draw(rng, 40)
    assert users.min() >= 0 and users.max() < world.users.n and world.users.alive[users].all()
    now = time.time()
    unknown = [Served(int(u), [UNKNOWN_ITEM, -1], "r", "a", "v", now) for u in users]
    assert (crowd.react(unknown, rng).position == -1).all()
    slates = [Served(int(u), list(range(j % 20, j % 20 + 10)), f"r{j}", "a", "v", now) for j, u in enumerate(users)]
    reactions = crowd.react(slates, rng)
    assert (reactions.position >= 0).all() and (reactions.dwell_ms >= 1000).all()
    assert (world.users.seen[users] != -1).any(axis=1).all()
    lines = encode_events(slates, reactions, "t", 0)
    events = [Event.model_validate_json(line) for line in lines]
    assert [e.event_id for e in events] == [f"t-{i}" for i in range(len(events))]
    assert sum(e.type is EventType.CLICK for e in events) == len(slates)


def test_synthetic_crowd_draws_uniform_ids() -> None:
    """Synthetic users are uniform over 0..n-1 and click about click_p of their slates."""
    crowd, rng = SyntheticCrowd(50, click_p=0.5), np.random.default_rng(1)
    users = crowd.draw(rng, 5000)
    assert users.min() == 0 and users.max() == 49
    served = [Served(0, list(range(10)), "r", "a", "v", 0.0) for _ in range(2000)]
    clicked = (crowd.react(served, rng).position >= 0).mean()
    assert clicked == pytest.approx(0.5, abs=0.05)


def test_cli_prints_one_json_object(platform: FakePlatform) -> None:
    """`simnet traffic --json` prints exactly one JSON object with the latency and error figures."""
    args = ["traffic", "--url", platform.url, "--rps", "40", "--duration", "0.5", "--users", "200", "--json"]
    result = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1, result.stdout
    summary = json.loads(lines[0])
    for key in ("achieved_rps", "p50_ms", "p95_ms", "p99_ms", "errors", "requests", "status_codes", "arms"):
        assert key in summary
    assert summary["requests"] == 20 and summary["errors"] == 0 and summary["crowd"] == "world"
    assert summary["events_sent"] > 0


def test_cli_table_and_refusals(platform: FakePlatform) -> None:
    """Without --json the CLI prints a table; a bad URL is refused with a one-line reason."""
    runner = CliRunner()
    args = ["traffic", "--url", platform.url, "--rps", "20", "--duration", "0.3", "--synthetic", "--no-events"]
    shown = runner.invoke(app, args, env={"COLUMNS": "200"})
    assert shown.exit_code == 0, shown.output
    assert "achieved_rps" in shown.stdout and "p99_ms" in shown.stdout
    refused = runner.invoke(app, ["traffic", "--url", "localhost:1", "--synthetic"], env={"COLUMNS": "200"})
    assert refused.exit_code == 1 and isinstance(refused.exception, SystemExit)
    assert "http://" in refused.output
