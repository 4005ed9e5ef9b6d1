"""The daily pipeline: kfp.local against the same tasks called directly in one process.

Simulates a SimNet lake (100,000 users by default, the night's day and the day before it, so
the date split has a day to train on), then runs the night of the last day twice, each with
its own artifacts and registry:

1. directly: :func:`tinyworld.pipelines.direct.daily`, every task in this process (the peer);
2. under kfp.local: ``daily`` through ``SubprocessRunner(use_venv=False)``, one subprocess per
   task, exactly as ``tinyworld pipeline run daily`` runs it.

It prints each step's seconds for both (the kfp column is the step's own time as its result
records it; the difference to the total is KFP's orchestration: a process, imports and I/O per
task), both totals and ``ratio = kfp_s / direct_s``. Nothing asserts a time.

    .venv/bin/python benchmarks/pipeline.py                      # 100k users
    .venv/bin/python benchmarks/pipeline.py --users 5000 --json
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path, where benchmarks/simnet.py would
# shadow the simnet package: drop it.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse  # noqa: E402
import contextlib  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from datetime import date, timedelta  # noqa: E402
from typing import Any  # noqa: E402

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

TASKS = ("etl", "validate", "features", "split", "train", "evaluate", "refit", "register")
START = date(2026, 1, 1)
"""SimNet's first day."""


def make_lake(users: int, days: int, seed: int, out: Path) -> Path:
    """Simulate ``days`` days of ``users`` users under the popularity policy; returns the lake root."""
    from simnet.config import WorldConfig
    from simnet.runner import RunSpec, simulate

    simulate(RunSpec(WorldConfig.load(None).with_users(users), "popularity", days, seed), out=out, progress=True)
    return out / "events"


def use_roots(root: Path, lake: Path, master: str) -> None:
    """Point this process (and the subprocesses it starts) at roots under ``root``."""
    os.environ.update(
        {
            "TINYWORLD_LAKE_ROOT": str(lake),
            "TINYWORLD_ARTIFACTS_ROOT": str(root / "artifacts"),
            "TINYWORLD_REGISTRY_ROOT": str(root / "registry"),
            "TINYWORLD_SPARK_MASTER": master,
            "TINYWORLD_LOG_LEVEL": "WARNING",
        }
    )


def run_direct(day: str, options: str) -> tuple[dict[str, float], float]:
    """Every task in this process; returns seconds per task and in all."""
    from tinyworld.pipelines.direct import daily

    started = time.perf_counter()
    _, seconds = daily("local", day, options)
    return seconds, round(time.perf_counter() - started, 3)


def run_kfp(day: str, options: str, pipeline_root: Path) -> tuple[dict[str, float], float]:
    """The pipeline under kfp.local; returns each step's own seconds (from its result) and the total."""
    from tinyworld.pipelines.local import run_local, task_output

    total = run_local("daily", {"day": day, "env": "local", "options": options}, pipeline_root)
    seconds: dict[str, float] = {}
    for task in TASKS:
        output = task_output(pipeline_root, "daily", task)
        if output is not None:
            seconds[task] = float(json.loads(output)["lineage"]["seconds"])
    return seconds, total


def report(figures: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(figures, indent=2))
        return
    table = Table(title=f"daily pipeline, {figures['users']:,} users, night of {figures['day']}")
    table.add_column("step")
    table.add_column("direct s", justify="right")
    table.add_column("kfp.local s (step's own)", justify="right")
    for task in TASKS:
        row = figures["steps"].get(task, {})
        table.add_row(task, f"{row.get('direct_s', 0):.1f}", f"{row.get('kfp_s', 0):.1f}")
    table.add_row("total", f"{figures['direct_s']:.1f}", f"{figures['kfp_s']:.1f}")
    Console().print(table)
    print(f"ratio kfp/direct: {figures['ratio']:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000, help="SimNet users (default 100,000)")
    parser.add_argument("--seed", type=int, default=7, help="SimNet's seed")
    parser.add_argument("--master", default="local[*]", help="Spark master for the ETL")
    parser.add_argument("--lake", type=Path, help="reuse a lake (dt=2026-01-01 and 02) instead of simulating")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()

    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    work = Path(tempfile.mkdtemp(prefix="tinyworld-bench-pipeline-"))
    lake = args.lake or make_lake(args.users, 2, args.seed, work / "simnet")
    day = (START + timedelta(days=1)).isoformat()
    options = json.dumps({"history_days": 2})

    use_roots(work / "direct", lake, args.master)
    direct_steps, direct_total = run_direct(day, options)
    use_roots(work / "kfp", lake, args.master)
    with contextlib.redirect_stdout(sys.stderr):  # kfp.local streams every task's log to stdout
        kfp_steps, kfp_total = run_kfp(day, options, work / "kfp" / "root")

    figures = {
        "users": args.users,
        "day": day,
        "steps": {
            task: {"direct_s": direct_steps.get(task, 0.0), "kfp_s": kfp_steps.get(task, 0.0)}
            for task in TASKS
            if task in direct_steps or task in kfp_steps
        },
        "direct_s": direct_total,
        "kfp_s": kfp_total,
        "ratio": round(kfp_total / direct_total, 3),
        "work": str(work),
    }
    report(figures, args.json)


if __name__ == "__main__":
    main()
