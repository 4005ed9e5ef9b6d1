"""ETL: Spark against DuckDB over windows of 1, 3, 7... simulated days (about 4M events a day at 100k users).

Generates one lake of ``max(--days)`` days with SimNet (or reuses one, ``--lake``), then for
each window length, in the same run (windows end on the last simulated day: the lake's first day
+ the longest window - 1, or ``--day``; the lake's last partition only holds the few events of
sessions that ran past midnight):

Per window, both engines run the same job ``--repeat`` times, alternated (Spark, DuckDB,
Spark, DuckDB, ...) so that whatever else the machine does weighs on both alike, each run
starting with the other's files flushed to disk:

1. Spark: ``components.etl.job.run_etl`` over the window, every table, in one session started
   once (its start-up is reported apart). Windows run in the order given, so the first run of
   the first window also pays the JVM's JIT warm-up.
2. DuckDB: every table of ``components.etl.tables`` with the same definitions, written as
   Parquet too. The content features go through the same numpy batches as Spark's
   ``mapInArrow`` and the experiments' statistics through the same driver code, so both
   engines do the same work; ``--check`` compares their tables row for row (not timed).

    .venv/bin/python benchmarks/etl.py                     # 100k users, 1 day
    .venv/bin/python benchmarks/etl.py --days 1,3,7 --json # one 7-day lake, three windows
    .venv/bin/python benchmarks/etl.py --lake /tmp/lake_full/events --check
    .venv/bin/python benchmarks/etl.py --users 2000 --days 1,3 --repeat 1 --json

Per window ``spark_s`` and ``duckdb_s`` are the medians of the runs (each run's seconds are
listed too), ``ratio`` is spark_s / duckdb_s and ``ratios`` the ratio of each alternated pair;
``first_window_cold_s`` adds the session start-up to the first window's first run (the cold
figure of a one-window run). Nothing here asserts a time: the figures are printed.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path; drop it so nothing here shadows a package,
# and put the repository root there instead, for the peer next to this file.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from datetime import date, timedelta  # noqa: E402
from typing import Any  # noqa: E402

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from benchmarks.etl_duckdb import run_duckdb  # noqa: E402


def make_lake(users: int, out: Path, days: int = 1) -> Path:
    """Simulate ``days`` days of ``users`` users (popularity policy, seed 7) under ``out``; returns the events."""
    from simnet.config import WorldConfig
    from simnet.runner import RunSpec, simulate

    simulate(RunSpec(WorldConfig.load(None).with_users(users), "popularity", days, 7), out=out, progress=False)
    return out / "events"


def windows(lengths: list[int], end: date) -> list[tuple[int, date, date]]:
    """``(length, start, end)`` of each window of ``length`` days ending on ``end``, in the order given."""
    return [(n, end - timedelta(days=n - 1), end) for n in lengths]


def window_dir(out: Path, days: int, engine: str) -> Path:
    """Where ``engine`` (spark or duckdb) writes the tables of the ``days``-day window under ``out``."""
    return out / f"{days}d" / engine


def run_both(
    lake: str, spans: list[tuple[int, date, date]], out: Path, master: str, repeat: int, half_life: float
) -> tuple[float, list[dict[str, Any]]]:
    """Start one Spark session (timed), then per window run Spark and DuckDB ``repeat`` times, alternated.

    Returns the start-up seconds and, per window, ``spark`` (per run: ``seconds``, the job's
    wall time, and ``result``, its EtlResult as a dict) and ``duckdb`` (per run: the peer's
    seconds per step and ``total``). Each engine's tables of the window (the last run's) are
    left in :func:`window_dir`.
    """
    from rich.progress import Progress

    started = time.perf_counter()
    from components.etl.job import run_etl
    from components.etl.session import build_session

    spark = build_session(master)
    startup = time.perf_counter() - started
    runs: list[dict[str, Any]] = []
    with Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("ETL runs", total=2 * repeat * len(spans))
        for days, start, end in spans:
            window: dict[str, Any] = {"spark": [], "duckdb": []}
            for _ in range(repeat):
                bar.update(task, description=f"{days}-day window: Spark")
                began = time.perf_counter()
                result = run_etl(spark, lake, start, end, str(window_dir(out, days, "spark")))
                window["spark"].append({"seconds": time.perf_counter() - began, "result": result.to_dict()})
                os.sync()  # untimed: the files one engine wrote are flushed before the other runs
                bar.update(task, advance=1, description=f"{days}-day window: DuckDB")
                window["duckdb"].append(run_duckdb(lake, start, end, window_dir(out, days, "duckdb"), half_life))
                os.sync()
                bar.advance(task)
            runs.append(window)
    spark.stop()
    return startup, runs


def middle(values: list[float]) -> int:
    """Index of the median of ``values`` (the lower middle one for an even count)."""
    return sorted(range(len(values)), key=values.__getitem__)[(len(values) - 1) // 2]


def window_figures(spark_runs: list[dict[str, Any]], duckdb_runs: list[dict[str, float]]) -> dict[str, Any]:
    """Medians, every run's seconds and each alternated pair's ratio of one window's runs."""
    spark_s = [run["seconds"] for run in spark_runs]
    duckdb_s = [run["total"] for run in duckdb_runs]
    spark_mid, duckdb_mid = statistics.median(spark_s), statistics.median(duckdb_s)
    return {
        "spark_s": round(spark_mid, 2),
        "duckdb_s": round(duckdb_mid, 2),
        "ratio": round(spark_mid / duckdb_mid, 2),
        "spark_runs_s": [round(x, 2) for x in spark_s],
        "duckdb_runs_s": [round(x, 2) for x in duckdb_s],
        "ratios": [round(x / y, 2) for x, y in zip(spark_s, duckdb_s, strict=True)],
        "spark_table_s": spark_runs[middle(spark_s)]["result"]["seconds"],
        "duckdb_step_s": duckdb_runs[middle(duckdb_s)],
    }


def compare_outputs(spark_out: Path, duck_out: Path, tables: tuple[str, ...] | None = None) -> list[str]:
    """Tables whose Spark and DuckDB outputs differ (rows sorted by key; floats to 1e-9, vectors to 1e-6).

    ``tables``: only these (names); None compares every table.
    """
    import numpy as np
    import pandas as pd

    from components.etl.tables import TABLES

    bad = []
    for table in TABLES:
        if tables is not None and table.name not in tables:
            continue
        a, b = (pd.read_parquet(root / table.name) for root in (spark_out, duck_out))
        if list(a.columns) != list(b.columns) or len(a) != len(b):
            bad.append(f"{table.name}: shape {a.shape} vs {b.shape}")
            continue
        order = [*table.key, *(c.name for c in table.columns if c.dtype != "array<float>" and c.name not in table.key)]
        a, b = (x.sort_values(order).reset_index(drop=True) for x in (a, b))
        for col in table.columns:
            x, y = a[col.name], b[col.name]
            if col.dtype == "array<float>":
                same = np.allclose(np.stack(list(x)), np.stack(list(y)), rtol=1e-6, atol=1e-6)
            elif col.dtype in ("double", "float"):
                same = np.allclose(x.to_numpy(float), y.to_numpy(float), rtol=1e-9, atol=1e-12, equal_nan=True)
            else:
                same = x.astype(str).equals(y.astype(str))
            if not same:
                bad.append(f"{table.name}.{col.name}")
    return bad


def lake_days(lake: str) -> tuple[date, date]:
    """First and last dt partition of the lake."""
    from simnet.protocol import lake_day_of

    days = sorted(d for p in Path(lake).iterdir() if (d := lake_day_of(p.name)) is not None)
    if not days:
        raise SystemExit(f"no day partitions (dt=YYYY-MM-DD) under {lake}")
    return days[0], days[-1]


def count_events(lake: str, start: date, end: date) -> int:
    """Events of the lake in [start, end] (DuckDB, not timed)."""
    import duckdb

    src = f"read_parquet('{lake}/*/*/*.parquet', hive_partitioning = true)"
    row = (
        duckdb.connect()
        .execute(f"SELECT count(*) FROM {src} WHERE dt BETWEEN DATE '{start}' AND DATE '{end}'")
        .fetchone()
    )
    return int(row[0]) if row else 0


def _lengths(text: str) -> list[int]:
    try:
        lengths = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise SystemExit(f"--days {text!r}: give window lengths in days, e.g. 1,3,7") from None
    if not lengths or min(lengths) < 1:
        raise SystemExit(f"--days {text!r}: each window needs at least one day")
    return lengths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000, help="users to simulate when no --lake is given")
    parser.add_argument("--days", default="1", help="window lengths in days, comma-separated (e.g. 1,3,7)")
    parser.add_argument("--lake", help="an existing events lake (dt=/hour= folders); skips simulation")
    parser.add_argument(
        "--day", help="the last day of every window (default: the lake's first day + the longest window - 1)"
    )
    parser.add_argument("--master", default="local[*]", help="Spark master")
    parser.add_argument("--half-life", type=float, default=1.0, help="popularity half-life in days")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each engine per window (medians reported)")
    parser.add_argument("--check", action="store_true", help="compare DuckDB's tables with Spark's (not timed)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    args = parser.parse_args()
    lengths = _lengths(args.days)
    if args.repeat < 1:
        raise SystemExit(f"--repeat {args.repeat}: each engine needs at least one run per window")

    work = Path(tempfile.mkdtemp(prefix="bench-etl-"))
    lake = args.lake or str(make_lake(args.users, work / "sim", max(lengths)))
    first, last = lake_days(lake)
    # not the last dt partition: sessions of the last simulated day spill a few events past midnight
    end = date.fromisoformat(args.day) if args.day else first + timedelta(days=max(lengths) - 1)
    spans = windows(lengths, end)
    if min(start for _, start, _ in spans) < first:
        raise SystemExit(f"the lake starts on {first}: too short for windows of {lengths} days ending {end}")

    startup, runs = run_both(lake, spans, work / "out", args.master, args.repeat, args.half_life)
    per_window: list[dict[str, Any]] = []
    for (days, start, stop), window in zip(spans, runs, strict=True):
        figures: dict[str, Any] = {
            "days": days,
            "start": start.isoformat(),
            "end": stop.isoformat(),
            "events": count_events(lake, start, stop),
            "tables": len(window["spark"][0]["result"]["rows"]),
            **window_figures(window["spark"], window["duckdb"]),
        }
        if args.check:
            spark_out, duckdb_out = (window_dir(work / "out", days, engine) for engine in ("spark", "duckdb"))
            figures["mismatches"] = compare_outputs(spark_out, duckdb_out)
        per_window.append(figures)
    report = {
        "cpus": os.cpu_count(),
        "repeat": args.repeat,
        "lake_days": (last - first).days + 1,
        "end": end.isoformat(),
        "spark_startup_s": round(startup, 2),
        "first_window_cold_s": round(startup + runs[0]["spark"][0]["seconds"], 2),
        "windows": per_window,
    }
    if args.json:
        print(json.dumps(report))
        return
    title = (
        f"ETL, Spark vs DuckDB ({os.cpu_count()} CPUs, every table; median of {args.repeat} alternated runs each;"
        f" Spark start-up {startup:.1f} s)"
    )
    table = Table(title=title)
    for column in ("days", "events", "Spark s", "DuckDB s", "ratio", "ratio per pair"):
        table.add_column(column, justify="right")
    for w in per_window:
        pairs = ", ".join(f"{r}" for r in w["ratios"])
        table.add_row(
            f"{w['days']}", f"{w['events']:,}", f"{w['spark_s']:.1f}", f"{w['duckdb_s']:.1f}", f"{w['ratio']}", pairs
        )
    Console().print(table)
    if args.check:
        for w in per_window:
            differ = w["mismatches"]
            tail = f"; differ: {differ}" if differ else ""
            Console().print(f"{w['days']} day(s): DuckDB's tables equal Spark's: {not differ}{tail}")


if __name__ == "__main__":
    main()
