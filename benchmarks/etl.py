"""ETL: Spark against DuckDB over windows of 1, 3, 7... simulated days (about 4M events a day at 100k users).

Generates one lake of ``max(--days)`` days with SimNet (or reuses one, ``--lake``), then for
each window length, in the same run (windows end on the last simulated day: the lake's first day
+ the longest window - 1, or ``--day``; the lake's last partition only holds the few events of
sessions that ran past midnight):

1. Spark: ``components.etl.job.run_etl`` over the window, every table, in one session started
   once (its start-up is reported apart); then, unless ``--no-warm``, the same job again in the
   now JIT-warm JVM. Windows run in the order given, so the first also pays the JIT warm-up.
2. DuckDB: every table of ``components.etl.tables`` with the same definitions, written as
   Parquet too. The content features go through the same numpy batches as Spark's
   ``mapInArrow`` and the experiments' statistics through the same driver code, so both
   engines do the same work; ``--check`` compares their tables row for row (not timed).

    .venv/bin/python benchmarks/etl.py                     # 100k users, 1 day
    .venv/bin/python benchmarks/etl.py --days 1,3,7 --json # one 7-day lake, three windows
    .venv/bin/python benchmarks/etl.py --lake /tmp/lake_full/events --check
    .venv/bin/python benchmarks/etl.py --users 2000 --days 1,3 --no-warm --json

Per window ``ratio`` is spark_s / duckdb_s (the job in the started JVM) and ``ratio_warm`` uses
the warm rerun; ``first_window_cold_s`` adds the session start-up to the first window's job
(the cold figure of a one-window run). Nothing here asserts a time: the figures are printed.
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


def run_spark(
    lake: str, spans: list[tuple[int, date, date]], out: Path, master: str, warm: bool
) -> tuple[float, list[dict[str, Any]]]:
    """Start one session (timed), then run the job over each window, and again warm if asked.

    Returns the start-up seconds and, per window, ``spark_s`` (the job), ``result`` (its
    EtlResult as a dict) and ``spark_warm_s`` (the same job again, or None).
    """
    started = time.perf_counter()
    from components.etl.job import run_etl
    from components.etl.session import build_session

    spark = build_session(master)
    startup = time.perf_counter() - started
    runs = []
    for days, start, end in spans:
        began = time.perf_counter()
        result = run_etl(spark, lake, start, end, str(out / f"{days}d" / "cold"))
        job = time.perf_counter() - began
        warm_s = run_etl(spark, lake, start, end, str(out / f"{days}d" / "warm")).total_seconds if warm else None
        runs.append({"spark_s": job, "result": result.to_dict(), "spark_warm_s": warm_s})
    spark.stop()
    return startup, runs


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
    parser.add_argument("--no-warm", action="store_true", help="skip the second, warm-JVM Spark run per window")
    parser.add_argument("--check", action="store_true", help="compare DuckDB's tables with Spark's (not timed)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    args = parser.parse_args()
    lengths = _lengths(args.days)

    work = Path(tempfile.mkdtemp(prefix="bench-etl-"))
    lake = args.lake or str(make_lake(args.users, work / "sim", max(lengths)))
    first, last = lake_days(lake)
    # not the last dt partition: sessions of the last simulated day spill a few events past midnight
    end = date.fromisoformat(args.day) if args.day else first + timedelta(days=max(lengths) - 1)
    spans = windows(lengths, end)
    if min(start for _, start, _ in spans) < first:
        raise SystemExit(f"the lake starts on {first}: too short for windows of {lengths} days ending {end}")

    startup, spark_runs = run_spark(lake, spans, work / "spark", args.master, warm=not args.no_warm)
    per_window: list[dict[str, Any]] = []
    for (days, start, stop), spark in zip(spans, spark_runs, strict=True):
        duck = run_duckdb(lake, start, stop, work / "duckdb" / f"{days}d", args.half_life)
        spark_s, warm_s, duckdb_s = spark["spark_s"], spark["spark_warm_s"], duck["total"]
        figures: dict[str, Any] = {
            "days": days,
            "start": start.isoformat(),
            "end": stop.isoformat(),
            "events": count_events(lake, start, stop),
            "tables": len(spark["result"]["rows"]),
            "spark_s": round(spark_s, 2),
            "duckdb_s": round(duckdb_s, 2),
            "ratio": round(spark_s / duckdb_s, 2),
            "spark_warm_s": warm_s,
            "ratio_warm": round(warm_s / duckdb_s, 2) if warm_s is not None else None,
            "spark_table_s": spark["result"]["seconds"],
            "duckdb_step_s": duck,
        }
        if args.check:
            figures["mismatches"] = compare_outputs(work / "spark" / f"{days}d" / "cold", work / "duckdb" / f"{days}d")
        per_window.append(figures)
    report = {
        "cpus": os.cpu_count(),
        "lake_days": (last - first).days + 1,
        "end": end.isoformat(),
        "spark_startup_s": round(startup, 2),
        "first_window_cold_s": round(startup + spark_runs[0]["spark_s"], 2),
        "windows": per_window,
    }
    if args.json:
        print(json.dumps(report))
        return
    table = Table(title=f"ETL, Spark vs DuckDB ({os.cpu_count()} CPUs, every table; Spark start-up {startup:.1f} s)")
    for column in ("days", "events", "Spark s", "DuckDB s", "ratio", "Spark warm s", "ratio warm"):
        table.add_column(column, justify="right")
    for w in per_window:
        warm = (f"{w['spark_warm_s']:.1f}", f"{w['ratio_warm']}") if w["spark_warm_s"] is not None else ("-", "-")
        row = (f"{w['days']}", f"{w['events']:,}", f"{w['spark_s']:.1f}", f"{w['duckdb_s']:.1f}", f"{w['ratio']}")
        table.add_row(*row, *warm)
    Console().print(table)
    if args.check:
        for w in per_window:
            differ = w["mismatches"]
            tail = f"; differ: {differ}" if differ else ""
            Console().print(f"{w['days']} day(s): DuckDB's tables equal Spark's: {not differ}{tail}")


if __name__ == "__main__":
    main()
