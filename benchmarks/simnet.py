"""SimNet throughput: events simulated per second, against the random policy as the peer.

Times ``simnet.runner.simulate`` (world genesis, the hourly loop, the policy's
answers and learning, the day's metrics and the report, no lake) for one
policy, then the same world, seed and days under the ``random`` policy. Random
is the cheapest policy, so its events/s is the simulator's own cost floor, and
the ratio ``events_per_s / peer_events_per_s`` says how much of the time the
policy under test adds. The two runs produce different events (a better policy
means longer sessions), so compare rates, not times.

    .venv/bin/python benchmarks/simnet.py                      # 100k users, 1 day, popularity
    .venv/bin/python benchmarks/simnet.py --users 20000 --days 3 --policy oracle
    .venv/bin/python benchmarks/simnet.py --json               # one JSON object, for make bench

Nothing here asserts a time: the figures are printed, not judged.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path and the file itself would shadow
# the simnet package; drop that folder before importing it.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402
from dataclasses import asdict, dataclass  # noqa: E402

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from simnet.config import WorldConfig  # noqa: E402
from simnet.policies import POLICIES  # noqa: E402
from simnet.runner import RunSpec, simulate  # noqa: E402

PEER = "random"


@dataclass(frozen=True)
class Measurement:
    policy: str
    events: int
    seconds: float
    events_per_s: float
    events_per_day: float
    score: float
    ctr: float


def measure(config: WorldConfig, policy: str, days: int, seed: int) -> Measurement:
    """One timed run of ``simulate`` without a lake or a progress bar."""
    spec = RunSpec(config, policy, days, seed)
    started = time.perf_counter()
    _, summary = simulate(spec, out=None, progress=False)
    seconds = time.perf_counter() - started
    events = int(summary["events"] or 0)
    return Measurement(
        policy=policy,
        events=events,
        seconds=seconds,
        events_per_s=events / seconds if seconds > 0 else 0.0,
        events_per_day=events / days,
        score=float(summary["score"] or 0.0),
        ctr=float(summary["ctr"] or 0.0),
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--users", type=int, default=100_000, help="users at the start (default 100000)")
    parser.add_argument("--days", type=int, default=1, help="simulated days (default 1)")
    parser.add_argument("--policy", choices=POLICIES, default="popularity", help="policy under test")
    parser.add_argument("--seed", type=int, default=7, help="seed of the world (default 7)")
    parser.add_argument("--skip-peer", action="store_true", help=f"do not measure the {PEER} peer")
    parser.add_argument("--json", action="store_true", help="print one JSON object and nothing else")
    args = parser.parse_args(argv)
    if args.users < 1 or args.days < 1:
        parser.error("--users and --days must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    config = WorldConfig.load().with_users(args.users)
    main_run = measure(config, args.policy, args.days, args.seed)
    peer = None if args.skip_peer else measure(config, PEER, args.days, args.seed)
    ratio = main_run.events_per_s / peer.events_per_s if peer and peer.events_per_s else None

    if args.json:
        result: dict[str, object] = {
            "benchmark": "simnet",
            "users": args.users,
            "days": args.days,
            "seed": args.seed,
            "policy": main_run.policy,
            "events": main_run.events,
            "seconds": round(main_run.seconds, 3),
            "events_per_s": round(main_run.events_per_s, 1),
            "events_per_day": round(main_run.events_per_day, 1),
            "peer_policy": PEER if peer else None,
            "peer_events": peer.events if peer else None,
            "peer_seconds": round(peer.seconds, 3) if peer else None,
            "peer_events_per_s": round(peer.events_per_s, 1) if peer else None,
            "ratio": round(ratio, 4) if ratio is not None else None,
            "runs": [asdict(m) for m in (main_run, peer) if m],
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
        }
        print(json.dumps(result))
        return 0

    table = Table(
        title=f"SimNet: {args.users:,} users, {args.days} day(s), seed {args.seed}",
        caption=f"{PEER} is the cheapest policy: the simulator's own cost floor",
    )
    for column in ("policy", "events", "seconds", "events/s", "events/day", "score", "CTR"):
        table.add_column(column, justify="left" if column == "policy" else "right")
    for m in (main_run, peer):
        if m is None:
            continue
        name = f"{m.policy} (peer)" if m is peer else m.policy
        table.add_row(
            name,
            f"{m.events:,}",
            f"{m.seconds:.1f}",
            f"{m.events_per_s:,.0f}",
            f"{m.events_per_day:,.0f}",
            f"{m.score:.1f}",
            f"{m.ctr:.4f}",
        )
    console = Console()
    console.print(table)
    if ratio is not None:
        console.print(f"ratio {main_run.policy} / {PEER} events/s: {ratio:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
