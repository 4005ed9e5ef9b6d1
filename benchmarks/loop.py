"""The closed loop: minutes per simulated day, and where they go, beside SimNet living the day alone.

Runs ``tinyworld up`` (the loop of ``make run``, its reference runs of SimNet's popularity and
oracle policies beside it, as ``make run`` does) for ``--days`` days of ``--users`` users, then
splits each day's wall time into its parts: the world (SimNet's own simulation), serving (the
platform answering the world's feeds), event delivery (in the background, overlapping the
world; shown, not added) and each nightly step (promote's and daily's, as their results record
them). The peer is SimNet's own popularity policy living the same days in one process (no
platform, no HTTP, no nights): ``ratio = minutes_per_day / peer_minutes_per_day`` is what the
platform costs a day. The platform's start-up (Ray, the warm Spark) is reported apart, once.

    .venv/bin/python benchmarks/loop.py                       # 100,000 users, 3 days (make run's)
    .venv/bin/python benchmarks/loop.py --users 20000 --days 2 --json
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path, where benchmarks/simnet.py would
# shadow the simnet package: drop it.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse  # noqa: E402
import json  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections import defaultdict  # noqa: E402
from typing import Any  # noqa: E402

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402


def peer_seconds(users: int, days: int, seed: int) -> float:
    """SimNet's popularity policy living the same days in this process, no lake: seconds."""
    from simnet.config import WorldConfig
    from simnet.runner import RunSpec, simulate

    started = time.perf_counter()
    simulate(RunSpec(WorldConfig.load(None).with_users(users), "popularity", days, seed), progress=True, events=False)
    return time.perf_counter() - started


def measure(users: int, days: int, seed: int, ray: bool, references: bool = True) -> dict[str, Any]:
    """Run the loop and the peer; return the figures."""
    from tinyworld.loop.run import up
    from tinyworld.loop.state import UpOptions

    peer = peer_seconds(users, days, seed)
    with tempfile.TemporaryDirectory(prefix="tinyworld-loop-") as runs:
        options = UpOptions(users=users, days=days, seed=seed, ray=ray, peers=references)
        state = up(options, Path(runs), progress=True)
    parts: dict[str, float] = defaultdict(float)
    for record in state.days:
        for part in ("world", "serving"):
            parts[part] += record.seconds[part]
        parts["delivery (overlapping)"] += record.seconds["delivery"]
    for night in state.nights:
        for step, seconds in night.seconds.items():
            parts[f"night: {step}"] += seconds
        for pipeline, seconds in night.pipeline_seconds.items():
            steps = sum(v for k, v in night.seconds.items() if (k.startswith("promote:")) == (pipeline == "promote"))
            parts[f"night: {pipeline} orchestration"] += max(seconds - steps, 0.0)
    setup = sum(state.setup_seconds.values())
    minutes_per_day = (state.seconds - setup) / 60.0 / days
    return {
        "users": users,
        "days": days,
        "minutes": round(state.seconds / 60.0, 2),
        "setup_minutes": round(setup / 60.0, 2),
        "minutes_per_day": round(minutes_per_day, 2),
        "parts": {k: round(v / 60.0 / days, 3) for k, v in parts.items()},
        "peer_minutes_per_day": round(peer / 60.0 / days, 3),
        "ratio": round(minutes_per_day / (peer / 60.0 / days), 1),
        "failures": [n.failure for n in state.nights if n.failure],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-ray", dest="ray", action="store_false", help="serve with uvicorn alone")
    parser.add_argument(
        "--no-references",
        dest="references",
        action="store_false",
        help="skip the loop's own reference runs (SimNet's popularity and oracle beside it): not make run's loop",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    result = measure(args.users, args.days, args.seed, args.ray, args.references)
    if args.json:
        print(json.dumps(result))
        return
    table = Table(title=f"the loop: {args.users:,} users x {args.days} day(s), minutes per simulated day")
    table.add_column("part")
    table.add_column("minutes / day", justify="right")
    for part, minutes in result["parts"].items():
        table.add_row(part, f"{minutes:.2f}")
    table.add_row("loop (all parts, KFP and waits included)", f"{result['minutes_per_day']:.2f}", style="bold")
    table.add_row("peer: SimNet's popularity alone", f"{result['peer_minutes_per_day']:.2f}")
    console = Console()
    console.print(table)
    console.print(f"ratio {result['ratio']}; start-up {result['setup_minutes']} min; failures {result['failures']}")


if __name__ == "__main__":
    main()
