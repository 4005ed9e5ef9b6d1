"""Ingest throughput: events/s from HTTP clients into the lake, JSON and Arrow, against the bare store.

Runs a tiny SimNet world to get realistic events (its hourly traffic: impressions, clicks, dwells,
likes, posts with their text and image...), then starts ``tinyworld ingest serve`` as a
subprocess on 127.0.0.1 and posts them as JSON batches from a few client threads (httpx,
keep-alive) for a while. Every batch carries fresh event ids, so everything sent is new. When
the clients stop, it waits until the server has flushed everything, stops it and counts the rows
in the lake: the sustained rate is ``rows in the lake / (first request .. last flush)``, and the
count must equal the events acknowledged (exactly once). The server flushes every second here
(``--flush-interval``), so the wait for the last flush is short. Then it does the same again
with the same events as Arrow IPC streams (``Content-Type: application/vnd.apache.arrow.stream``)
against a fresh server, state and lake: the ``arrow_*`` figures, and
``arrow_json_ratio = arrow_events_per_s / events_per_s``.

The peer, measured in the same run before the server starts, is the store's own
``EventStore.append`` on already validated events (durable SQLite commits, no HTTP, no JSON);
``ratio = events_per_s / store_events_per_s``. It also reports parsing alone and parse+append
(``IngestService.ingest``), for each form, to show where the time goes.

    .venv/bin/python benchmarks/ingest.py                      # 20 s, 4 clients, batches of 1000
    .venv/bin/python benchmarks/ingest.py --seconds 5 --clients 2
    .venv/bin/python benchmarks/ingest.py --json               # one JSON object, for make bench

Nothing here asserts a figure: they are printed, not judged.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path; drop it before importing packages.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402

import httpx  # noqa: E402
import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.compute as pc  # noqa: E402
import pyarrow.dataset as ds  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from components.ingest import ArrowBatchParser, BatchParser, EventStore, IngestConfig, IngestService  # noqa: E402
from components.ingest.columnar import events_table, to_ipc  # noqa: E402
from simnet.config import WorldConfig  # noqa: E402
from simnet.events import EventLog  # noqa: E402
from simnet.policies import make_policy  # noqa: E402
from simnet.protocol import ARROW_STREAM, Event, table_to_events  # noqa: E402
from simnet.world import World  # noqa: E402


def world_events(users: int, count: int, seed: int) -> list[Event]:
    """``count`` events of a small world's hourly traffic."""
    world = World(WorldConfig.load().with_users(users), seed)
    policy = make_policy("popularity", world)
    world.begin(EventLog())  # genesis (the whole population signing up at once) is not traffic
    tables, seq, hour = [], 0, 0
    while seq < count:
        log = EventLog()
        world.hour(hour % 24, policy, log)
        table = log.table("bench", seq)
        policy.observe(table)
        tables.append(table)
        seq, hour = seq + len(table), hour + 1
        if hour % 24 == 0:
            world.end_day(EventLog())
    return table_to_events(pa.concat_tables(tables).slice(0, count))


def json_templates(events: list[Event]) -> list[tuple[str, str]]:
    """Each event as (id prefix, JSON after the id), to splice fresh ids in."""
    templates = []
    for event in events:
        text = event.model_dump_json()
        head = f'{{"event_id":"{event.event_id}'
        assert text.startswith(head)
        templates.append((head, text[len(head) :]))
    return templates


class Batches:
    """JSON batch bodies with fresh ids: round ``r`` of the templates gets the id suffix ``~r``."""

    content_type = "application/json"

    def __init__(self, templates: list[tuple[str, str]], size: int) -> None:
        self.templates, self.size = templates, size
        self.per_round = max(1, len(templates) // size)
        self._next = 0
        self._lock = threading.Lock()

    def body(self, number: int) -> bytes:
        round_, index = divmod(number, self.per_round)
        chunk = self.templates[index * self.size : (index + 1) * self.size]
        return ("[" + ",".join(f"{head}~{round_}{rest}" for head, rest in chunk) + "]").encode()

    def count(self, body: bytes) -> int:
        return body.count(b'"event_id"')

    def take(self) -> bytes:
        with self._lock:
            number, self._next = self._next, self._next + 1
        return self.body(number)


class ArrowBatches(Batches):
    """The same batches as Arrow IPC streams: the same rows, the same fresh ids."""

    content_type = ARROW_STREAM

    def __init__(self, table: pa.Table, size: int) -> None:
        super().__init__([], size)
        self.table = table
        self.per_round = max(1, len(table) // size)

    def body(self, number: int) -> bytes:
        round_, index = divmod(number, self.per_round)
        chunk = self.table.slice(index * self.size, self.size)
        ids = pc.binary_join_element_wise(chunk["event_id"], f"~{round_}", "")
        return to_ipc(chunk.set_column(0, "event_id", ids))

    def count(self, body: bytes) -> int:
        return len(pa.ipc.open_stream(body).read_all())


@dataclass
class ClientStats:
    latencies: list[float] = field(default_factory=list)
    accepted: int = 0
    errors: int = 0


def client(url: str, batches: Batches, until: float, stats: ClientStats) -> None:
    with httpx.Client(base_url=url, timeout=60.0, headers={"content-type": batches.content_type}) as http:
        while time.perf_counter() < until:
            body = batches.take()
            started = time.perf_counter()
            response = http.post("/events", content=body)
            if response.status_code != 200:
                stats.errors += 1
                continue
            stats.latencies.append(time.perf_counter() - started)
            stats.accepted += response.json()["accepted"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_server(work: Path, port: int, args: argparse.Namespace) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "tinyworld.commands.ingest", "serve", "--state", str(work / "state.sqlite")]
    command += ["--lake", str(work / "lake"), "--port", str(port), "--max-batch", str(max(args.batch, 10_000))]
    command += ["--flush-interval", str(args.flush_interval)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("TINYWORLD_")}
    with open(work / "server.log", "wb") as log:
        server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            time.sleep(0.1)
        if server.poll() is not None:
            break
    server.kill()
    raise RuntimeError(f"the ingest server did not start; see {work / 'server.log'}")


def measure_http(batches: Batches, args: argparse.Namespace, work: Path) -> dict[str, float]:
    """Clients against the real server; the lake counted after the final flush."""
    work.mkdir(parents=True, exist_ok=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = start_server(work, port, args)
    try:
        stats = [ClientStats() for _ in range(args.clients)]
        started = time.perf_counter()
        threads = [threading.Thread(target=client, args=(url, batches, started + args.seconds, s)) for s in stats]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        sent = time.perf_counter()
        while httpx.get(f"{url}/healthz", timeout=10).json()["pending"] > 0:
            time.sleep(0.02)
        flushed = time.perf_counter()
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
    landed = ds.dataset(work / "lake", format="parquet", partitioning="hive").count_rows()
    latencies = np.array([x for s in stats for x in s.latencies]) * 1000
    accepted = sum(s.accepted for s in stats)
    return {
        "events": landed,
        "acknowledged": accepted,
        "exactly_once": landed == accepted,
        "errors": sum(s.errors for s in stats),
        "batches": len(latencies),
        "send_seconds": sent - started,
        "seconds": flushed - started,
        "events_per_s": landed / (flushed - started),
        "acked_events_per_s": accepted / (sent - started),
        "p50_ms": float(np.percentile(latencies, 50)) if len(latencies) else float("nan"),
        "p99_ms": float(np.percentile(latencies, 99)) if len(latencies) else float("nan"),
    }


def measure_peers(batches: Batches, arrow: ArrowBatches, args: argparse.Namespace, work: Path) -> dict[str, float]:
    """Without HTTP: parsing alone, the store's append alone, and both (the service's ingest), per form."""
    bodies = [batches.body(n) for n in range(args.peer_batches)]
    n_events = sum(batches.count(body) for body in bodies)
    parser = BatchParser(max(args.batch, 10_000))
    started = time.perf_counter()
    parsed = [parser.parse(body) for body in bodies]
    parse_s = time.perf_counter() - started
    with EventStore(work / "peer-store.sqlite") as store:
        started = time.perf_counter()
        for events in parsed:
            store.append(events)
        store_s = time.perf_counter() - started
    config = IngestConfig(lake_root=str(work / "peer-lake"), state_path=work / "peer-service.sqlite")
    with IngestService(config) as service:
        started = time.perf_counter()
        for body in bodies:
            service.ingest(body)
        service_s = time.perf_counter() - started
    arrow_bodies = [arrow.body(n) for n in range(args.peer_batches)]
    arrow_parser = ArrowBatchParser(max(args.batch, 10_000))
    started = time.perf_counter()
    for body in arrow_bodies:
        arrow_parser.parse(body)
    arrow_parse_s = time.perf_counter() - started
    config = IngestConfig(lake_root=str(work / "peer-arrow-lake"), state_path=work / "peer-arrow-service.sqlite")
    with IngestService(config) as service:
        started = time.perf_counter()
        for body in arrow_bodies:
            service.ingest(body, ARROW_STREAM)
        arrow_service_s = time.perf_counter() - started
    return {
        "peer_events": n_events,
        "store_events_per_s": n_events / store_s,
        "parse_events_per_s": n_events / parse_s,
        "service_events_per_s": n_events / service_s,
        "arrow_parse_events_per_s": n_events / arrow_parse_s,
        "arrow_service_events_per_s": n_events / arrow_service_s,
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=20.0, help="how long the clients send (default 20)")
    parser.add_argument("--clients", type=int, default=4, help="concurrent client threads (default 4)")
    parser.add_argument("--batch", type=int, default=1000, help="events per POST (default 1000)")
    parser.add_argument("--events", type=int, default=50_000, help="distinct world events to cycle (default 50000)")
    parser.add_argument("--users", type=int, default=5000, help="users of the world that makes them (default 5000)")
    parser.add_argument("--seed", type=int, default=7, help="seed of that world (default 7)")
    parser.add_argument("--peer-batches", type=int, default=50, help="batches for the no-HTTP peers (default 50)")
    parser.add_argument(
        "--flush-interval", type=float, default=1.0, help="server flush interval, s (default 1: the lake lags ~1 s)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object and nothing else")
    args = parser.parse_args(argv)
    if args.seconds <= 0 or args.clients < 1 or args.batch < 1 or args.events < args.batch:
        parser.error("--seconds, --clients and --batch must be positive and --events at least --batch")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    load_before = os.getloadavg()[0]  # a busy machine lowers every figure: say how busy it was
    events = world_events(args.users, args.events, args.seed)
    batches, arrow = Batches(json_templates(events), args.batch), ArrowBatches(events_table(events), args.batch)
    with tempfile.TemporaryDirectory(prefix="ingest-bench-") as tmp:
        peers = measure_peers(batches, arrow, args, Path(tmp))
        http = measure_http(batches, args, Path(tmp) / "json")
        arrow_http = {f"arrow_{k}": v for k, v in measure_http(arrow, args, Path(tmp) / "arrow").items()}
    ratio = http["events_per_s"] / peers["store_events_per_s"]
    arrow_json_ratio = arrow_http["arrow_events_per_s"] / http["events_per_s"]
    result: dict[str, object] = {
        "benchmark": "ingest",
        "clients": args.clients,
        "batch": args.batch,
        **{k: round(v, 3) if isinstance(v, float) else v for k, v in {**http, **arrow_http, **peers}.items()},
        "ratio": round(ratio, 4),
        "arrow_json_ratio": round(arrow_json_ratio, 4),
        "flush_interval_s": args.flush_interval,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load_avg_1m": round(load_before, 2),
    }
    if args.json:
        print(json.dumps(result))
        return 0
    table = Table(
        title=f"Ingest: {args.clients} clients, batches of {args.batch}, {args.seconds:g} s",
        caption="peer: EventStore.append on validated events (durable commits, no HTTP, no JSON)",
    )
    for column in ("path", "events", "events/s", "p50 ms", "p99 ms"):
        table.add_column(column, justify="left" if column == "path" else "right")
    for name, prefix in (("HTTP -> lake", ""), ("HTTP -> lake (Arrow)", "arrow_")):
        figures = {**http, **arrow_http}
        table.add_row(
            name,
            f"{figures[f'{prefix}events']:,}",
            f"{figures[f'{prefix}events_per_s']:,.0f}",
            f"{figures[f'{prefix}p50_ms']:.1f}",
            f"{figures[f'{prefix}p99_ms']:.1f}",
        )
    for name, key in (
        ("store append (peer)", "store"),
        ("parse only", "parse"),
        ("parse + append", "service"),
        ("parse only (Arrow)", "arrow_parse"),
        ("parse + append (Arrow)", "arrow_service"),
    ):
        table.add_row(name, f"{peers['peer_events']:,}", f"{peers[f'{key}_events_per_s']:,.0f}", "-", "-")
    console = Console()
    console.print(table)
    console.print(f"exactly once: {http['exactly_once']} ({http['acknowledged']:,} acknowledged)")
    console.print(
        f"exactly once (Arrow): {arrow_http['arrow_exactly_once']} ({arrow_http['arrow_acknowledged']:,} acknowledged)"
    )
    console.print(f"ratio HTTP / store: {ratio:.3f}")
    console.print(f"ratio Arrow / JSON over HTTP: {arrow_json_ratio:.3f}")
    console.print(f"{os.cpu_count()} CPUs, load average {load_before:.2f} before the run")
    return 0


if __name__ == "__main__":
    sys.exit(main())
