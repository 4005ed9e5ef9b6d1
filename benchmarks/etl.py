"""ETL: Spark against DuckDB on one simulated day of events (about 4M at 100k users).

Generates a lake with SimNet (or reuses one, ``--lake``), then in the same run:

1. Spark: ``components.etl.job.run_etl`` over the day, every table, timed from before the
   session starts (JVM start-up included) to the last table written; then, unless
   ``--no-warm``, the same job again in the started (JIT-warm) JVM.
2. DuckDB: every table of ``components.etl.tables`` with the same definitions, written as
   Parquet too. The content features go through the same numpy batches as Spark's
   ``mapInArrow`` and the experiments' statistics through the same driver code, so both
   engines do the same work; ``--check`` compares their tables row for row (not timed).

    .venv/bin/python benchmarks/etl.py                     # 100k users, 1 day
    .venv/bin/python benchmarks/etl.py --lake /tmp/lake_full/events --check
    .venv/bin/python benchmarks/etl.py --users 20000 --json

``ratio`` is spark_s / duckdb_s (Spark cold, start-up included); ``ratio_excluding_startup``
uses the job's own time and ``ratio_warm`` the warm rerun. Nothing here asserts a time: the
figures are printed.
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
from datetime import date  # noqa: E402
from typing import Any  # noqa: E402

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from benchmarks.etl_duckdb import run_duckdb  # noqa: E402


def make_lake(users: int, out: Path) -> Path:
    """Simulate one day of ``users`` users (popularity policy, seed 7) under ``out``; returns the events."""
    from simnet.config import WorldConfig
    from simnet.runner import RunSpec, simulate

    simulate(RunSpec(WorldConfig.load(None).with_users(users), "popularity", 1, 7), out=out, progress=False)
    return out / "events"


def run_spark(lake: str, start: date, end: date, out: Path, master: str, warm: bool) -> dict[str, Any]:
    """Run the Spark job cold, timed from before the session starts; then again warm if asked.

    Returns ``spark_s`` (import, session start-up and every table), ``spark_startup_s`` (up to
    a started session), ``spark_compute_s`` (the job itself), ``result`` (its EtlResult as a
    dict) and ``spark_warm_s`` (the same job again in the started, JIT-warm JVM, or None).
    """
    started = time.perf_counter()
    from components.etl.job import run_etl
    from components.etl.session import build_session

    spark = build_session(master)
    up = time.perf_counter()
    result = run_etl(spark, lake, start, end, str(out / "cold"))
    done = time.perf_counter()
    warm_s = run_etl(spark, lake, start, end, str(out / "warm")).total_seconds if warm else None
    spark.stop()
    return {
        "spark_s": done - started,
        "spark_startup_s": up - started,
        "spark_compute_s": done - up,
        "result": result.to_dict(),
        "spark_warm_s": warm_s,
    }


def compare_outputs(spark_out: Path, duck_out: Path) -> list[str]:
    """Tables whose Spark and DuckDB outputs differ (rows sorted by key; floats to 1e-9, vectors to 1e-6)."""
    import numpy as np
    import pandas as pd

    from components.etl.tables import TABLES

    bad = []
    for table in TABLES:
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000, help="users to simulate when no --lake is given")
    parser.add_argument("--lake", help="an existing events lake (dt=/hour= folders); skips simulation")
    parser.add_argument("--day", help="the day to process (default: the lake's first day)")
    parser.add_argument("--master", default="local[*]", help="Spark master")
    parser.add_argument("--half-life", type=float, default=1.0, help="popularity half-life in days")
    parser.add_argument("--no-warm", action="store_true", help="skip the second, warm-JVM Spark run")
    parser.add_argument("--check", action="store_true", help="compare DuckDB's tables with Spark's (not timed)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-etl-"))
    lake = args.lake or str(make_lake(args.users, work / "sim"))
    first, _ = lake_days(lake)
    day = date.fromisoformat(args.day) if args.day else first
    events = count_events(lake, day, day)

    spark = run_spark(lake, day, day, work / "spark", args.master, warm=not args.no_warm)
    duck = run_duckdb(lake, day, day, work / "duckdb", args.half_life)
    duckdb_s = duck["total"]
    spark_s, compute_s, warm_s = spark["spark_s"], spark["spark_compute_s"], spark["spark_warm_s"]
    result = spark["result"]
    figures: dict[str, Any] = {
        "events": events,
        "day": day.isoformat(),
        "cpus": os.cpu_count(),
        "tables": len(result["rows"]),
        "spark_s": round(spark_s, 2),
        "duckdb_s": round(duckdb_s, 2),
        "ratio": round(spark_s / duckdb_s, 2),
        "spark_startup_s": round(spark["spark_startup_s"], 2),
        "spark_compute_s": round(compute_s, 2),
        "ratio_excluding_startup": round(compute_s / duckdb_s, 2),
        "spark_warm_s": warm_s,
        "ratio_warm": round(warm_s / duckdb_s, 2) if warm_s is not None else None,
        "spark_table_s": result["seconds"],
        "duckdb_step_s": duck,
    }
    if args.check:
        figures["mismatches"] = compare_outputs(work / "spark" / "cold", work / "duckdb")
    if args.json:
        print(json.dumps(figures))
        return
    table = Table(title=f"ETL, one day ({events:,} events, {os.cpu_count()} CPUs, {figures['tables']} tables each)")
    table.add_column("engine")
    table.add_column("seconds", justify="right")
    table.add_column("what")
    table.add_row("Spark", f"{spark_s:.1f}", "cold: import, session start-up and every table")
    table.add_row("  start-up", f"{spark['spark_startup_s']:.1f}", "JVM and session")
    table.add_row("  job", f"{compute_s:.1f}", "run_etl in the fresh JVM")
    if warm_s is not None:
        table.add_row("Spark, warm", f"{warm_s:.1f}", "run_etl again in the same, JIT-warm JVM")
    table.add_row("DuckDB", f"{duckdb_s:.1f}", "connection and every table")
    table.add_row("ratio", f"{figures['ratio']}", "Spark / DuckDB")
    table.add_row("ratio, job only", f"{figures['ratio_excluding_startup']}", "Spark job / DuckDB")
    if warm_s is not None:
        table.add_row("ratio, warm", f"{figures['ratio_warm']}", "Spark warm job / DuckDB")
    Console().print(table)
    if args.check:
        differ = figures["mismatches"]
        Console().print(f"DuckDB's tables equal Spark's: {not differ}" + (f"; differ: {differ}" if differ else ""))


if __name__ == "__main__":
    main()
