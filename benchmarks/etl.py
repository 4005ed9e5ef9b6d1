"""ETL: Spark against DuckDB on one simulated day of events (about 4M at 100k users).

Generates a lake with SimNet (or reuses one, ``--lake``), then in the same run:

1. Spark: ``components.etl.job.run_etl`` over the day, every table, timed from before the
   session starts (JVM start-up included) to the last table written.
2. DuckDB: the same aggregations, written as Parquet too: ``dau`` (with WAU), ``retention``,
   ``item_popularity`` (decayed score), ``user_item_engagement``, ``creator_metrics``,
   ``exposure`` (coverage, Gini, top-10% share) and ``interactions``. The features and the
   experiments table are Spark-only (their figures are printed as part of the Spark time).

    .venv/bin/python benchmarks/etl.py                     # 100k users, 1 day
    .venv/bin/python benchmarks/etl.py --lake /tmp/lake_full/events
    .venv/bin/python benchmarks/etl.py --users 20000 --json

``ratio`` is spark_s / duckdb_s (Spark cold, every table, start-up included, against DuckDB's
subset); ``ratio_same_tables_warm`` compares a second Spark run of only DuckDB's tables in the
already started session. Nothing here asserts a time: the figures are printed.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path; drop it so nothing here shadows a package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from datetime import date, timedelta  # noqa: E402
from typing import Any  # noqa: E402

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

DUCKDB_TABLES = (
    "dau",
    "retention",
    "item_popularity",
    "user_item_engagement",
    "creator_metrics",
    "exposure",
    "interactions",
)
"""The tables the DuckDB peer computes, with the same definitions as the Spark job."""


def make_lake(users: int, out: Path) -> Path:
    """Simulate one day of ``users`` users (popularity policy, seed 7) under ``out``; returns the events."""
    from simnet.config import WorldConfig
    from simnet.runner import RunSpec, simulate

    simulate(RunSpec(WorldConfig.load(None).with_users(users), "popularity", 1, 7), out=out, progress=False)
    return out / "events"


def _sql(lake: str, start: date, end: date, half_life: float, out: str) -> list[tuple[str, str]]:
    first = start - timedelta(days=6)
    src = f"read_parquet('{lake}/*/*/*.parquet', hive_partitioning = true)"
    return [
        (
            "events",
            f"""CREATE TEMP TABLE events AS SELECT ts, dt AS day, user_id, type, item_id, request_id,
                position, arm, dwell_ms FROM {src} WHERE dt BETWEEN DATE '{first}' AND DATE '{end}'""",
        ),
        (
            "catalogue",
            f"""CREATE TEMP TABLE catalogue AS SELECT item_id, arg_min(user_id, ts) AS creator_id,
                min(ts) AS created_ts, min(dt) AS created_day FROM {src}
                WHERE type = 'create' AND dt <= DATE '{end}' GROUP BY item_id""",
        ),
        (
            "user_day",
            """CREATE TEMP TABLE user_day AS SELECT day, user_id, count(*) AS events,
                count(*) FILTER (type = 'impression') AS impressions, count(*) FILTER (type = 'click') AS clicks,
                count(*) FILTER (type = 'like') AS likes, count(*) FILTER (type = 'share') AS shares
                FROM events GROUP BY ALL""",
        ),
        (
            "item_day",
            """CREATE TEMP TABLE item_day AS SELECT day, item_id,
                count(*) FILTER (type = 'impression') AS impressions, count(*) FILTER (type = 'click') AS clicks,
                count(*) FILTER (type = 'like') AS likes, count(*) FILTER (type = 'share') AS shares,
                count(*) FILTER (type = 'follow') AS follows,
                count(*) FILTER (type IN ('click', 'like', 'share')) AS score
                FROM events WHERE item_id IS NOT NULL AND type <> 'create' GROUP BY ALL""",
        ),
        (
            "days",
            f"""CREATE TEMP TABLE days AS SELECT CAST(d AS DATE) AS date
                FROM range(DATE '{start}', DATE '{end}' + 1, INTERVAL 1 DAY) t(d)""",
        ),
        (
            "dau",
            f"""COPY (SELECT d.date, count(DISTINCT u.user_id) FILTER (u.day = d.date AND u.impressions > 0) AS dau,
                count(DISTINCT u.user_id) FILTER (u.impressions > 0) AS wau,
                coalesce(sum(u.impressions) FILTER (u.day = d.date), 0) AS impressions,
                coalesce(sum(u.clicks) FILTER (u.day = d.date), 0) AS clicks
                FROM days d LEFT JOIN user_day u ON u.day BETWEEN d.date - 6 AND d.date GROUP BY d.date)
                TO '{out}/dau/part-0.parquet' (FORMAT parquet)""",
        ),
        (
            "retention",
            f"""COPY (WITH c AS (SELECT user_id, min(day) AS cohort FROM events WHERE type = 'signup' GROUP BY 1),
                c2 AS (SELECT * FROM c WHERE cohort BETWEEN DATE '{start}' AND DATE '{end}'),
                a AS (SELECT DISTINCT user_id, day FROM user_day WHERE impressions > 0)
                SELECT c2.cohort AS cohort_date, count(DISTINCT c2.user_id) AS size,
                CASE WHEN c2.cohort + 1 <= DATE '{end}' THEN count(DISTINCT a.user_id) FILTER (a.day = c2.cohort + 1)
                    / count(DISTINCT c2.user_id) END AS d1,
                CASE WHEN c2.cohort + 7 <= DATE '{end}' THEN count(DISTINCT a.user_id) FILTER (a.day = c2.cohort + 7)
                    / count(DISTINCT c2.user_id) END AS d7
                FROM c2 LEFT JOIN a USING (user_id) GROUP BY c2.cohort)
                TO '{out}/retention/part-0.parquet' (FORMAT parquet)""",
        ),
        (
            "item_popularity",
            f"""COPY (SELECT * FROM (SELECT day AS date, item_id, impressions, clicks, likes, shares,
                CASE WHEN impressions > 0 THEN clicks / impressions ELSE 0 END AS ctr,
                sum(score * pow(2, (day - DATE '{first}') / {half_life}))
                    OVER (PARTITION BY item_id ORDER BY day)
                    * pow(2, -(day - DATE '{first}') / {half_life}) AS popularity
                FROM item_day WHERE impressions + score > 0) WHERE date BETWEEN DATE '{start}' AND DATE '{end}')
                TO '{out}/item_popularity/part-0.parquet' (FORMAT parquet)""",
        ),
        (
            "user_item_engagement",
            f"""COPY (SELECT user_id, item_id, count(*) FILTER (type = 'impression') AS impressions,
                count(*) FILTER (type = 'click') AS clicks, count(*) FILTER (type = 'like') AS likes,
                count(*) FILTER (type = 'share') AS shares,
                coalesce(sum(dwell_ms) FILTER (type = 'dwell'), 0) AS dwell_ms, max(ts) AS last_ts
                FROM events WHERE day BETWEEN DATE '{start}' AND DATE '{end}' AND item_id IS NOT NULL
                AND type IN ('impression', 'click', 'like', 'share', 'dwell') GROUP BY ALL)
                TO '{out}/user_item_engagement/part-0.parquet' (FORMAT parquet)""",
        ),
        (
            "creator_metrics",
            f"""COPY (WITH r AS (SELECT i.day AS date, c.creator_id, sum(impressions) AS impressions,
                sum(clicks) AS clicks, sum(follows) AS followers_gained FROM item_day i JOIN catalogue c USING (item_id)
                WHERE i.day BETWEEN DATE '{start}' AND DATE '{end}' GROUP BY ALL),
                p AS (SELECT created_day AS date, creator_id, count(*) AS items_posted FROM catalogue
                WHERE created_day BETWEEN DATE '{start}' AND DATE '{end}' GROUP BY ALL)
                SELECT date, creator_id, coalesce(items_posted, 0) AS items_posted,
                coalesce(impressions, 0) AS impressions, coalesce(clicks, 0) AS clicks,
                coalesce(followers_gained, 0) AS followers_gained FROM p FULL JOIN r USING (date, creator_id))
                TO '{out}/creator_metrics/part-0.parquet' (FORMAT parquet)""",
        ),
        (
            "exposure",
            f"""COPY (WITH n AS (SELECT d.date, count(c.item_id) AS n FROM days d LEFT JOIN catalogue c
                ON c.created_day <= d.date GROUP BY 1),
                x AS (SELECT i.day AS date, i.impressions AS x, n.n,
                row_number() OVER (PARTITION BY i.day ORDER BY i.impressions) AS r,
                count(*) OVER (PARTITION BY i.day) AS m FROM item_day i JOIN n ON n.date = i.day
                WHERE i.impressions > 0),
                g AS (SELECT date, any_value(m) AS m, greatest(any_value(n), any_value(m)) AS n, sum(x) AS s,
                sum(r * x) AS rx, sum(x) FILTER (m - r < ceil(round(0.1 * greatest(n, m), 9))) AS top FROM x GROUP BY 1)
                SELECT n.date, n.n AS catalogue_size, coalesce(g.m, 0) AS items_impressed,
                CASE WHEN n.n > 0 THEN coalesce(g.m, 0) / n.n ELSE 0 END AS coverage,
                coalesce(least(greatest((2 * g.rx + (g.n - 2 * g.m - 1) * g.s) / (g.n * g.s), 0), 1), 0)
                    AS exposure_gini,
                coalesce(g.top / g.s, 0) AS top10_share FROM n LEFT JOIN g USING (date))
                TO '{out}/exposure/part-0.parquet' (FORMAT parquet)""",
        ),
        (
            "interactions",
            f"""COPY (WITH e AS (SELECT request_id, user_id, item_id, count(*) FILTER (type = 'click') AS c,
                count(*) FILTER (type = 'like') AS l, count(*) FILTER (type = 'share') AS s,
                coalesce(sum(dwell_ms), 0) AS dw FROM events
                WHERE day BETWEEN DATE '{start}' AND DATE '{end}' AND request_id IS NOT NULL
                AND type IN ('click', 'like', 'share', 'dwell') GROUP BY ALL)
                SELECT i.user_id, i.item_id, i.ts, CAST(coalesce(e.c, 0) > 0 AS INTEGER) AS label,
                CASE WHEN coalesce(e.c, 0) > 0 THEN 1 + CAST(e.l > 0 AS DOUBLE) + 2 * CAST(e.s > 0 AS DOUBLE)
                    + least(e.dw / 60000.0, 1) ELSE 1.0 END AS weight, i.request_id, i.position, i.arm
                FROM events i LEFT JOIN e USING (request_id, user_id, item_id)
                WHERE i.type = 'impression' AND i.day BETWEEN DATE '{start}' AND DATE '{end}')
                TO '{out}/interactions/part-0.parquet' (FORMAT parquet)""",
        ),
    ]


def run_duckdb(lake: str, start: date, end: date, out: Path, half_life: float) -> dict[str, float]:
    """Run the DuckDB peer; returns seconds per step (connection start included in the first)."""
    import duckdb

    started = time.perf_counter()
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    timings: dict[str, float] = {}
    for name in DUCKDB_TABLES:
        (out / name).mkdir(parents=True, exist_ok=True)
    for name, statement in _sql(lake, start, end, half_life, str(out)):
        t = time.perf_counter()
        con.execute(statement)
        timings[name] = round(time.perf_counter() - t, 3)
    con.close()
    timings["total"] = round(time.perf_counter() - started, 3)
    return timings


def run_spark(lake: str, start: date, end: date, out: Path, master: str) -> tuple[float, dict[str, Any], float]:
    """Run the Spark job, session start-up included, then DuckDB's tables again in the warm session.

    Returns (seconds of the cold run with every table, its EtlResult as a dict, seconds of
    the warm run of :data:`DUCKDB_TABLES` only).
    """
    started = time.perf_counter()
    from components.etl.job import EtlOptions, run_etl
    from components.etl.session import build_session

    spark = build_session(master)
    result = run_etl(spark, lake, start, end, str(out / "all"))
    seconds = time.perf_counter() - started
    subset = run_etl(spark, lake, start, end, str(out / "same"), EtlOptions(tables=DUCKDB_TABLES))
    spark.stop()
    return seconds, result.to_dict(), subset.total_seconds


def lake_days(lake: str) -> tuple[date, date]:
    """First and last dt partition of the lake."""
    days = sorted(p.name.removeprefix("dt=") for p in Path(lake).iterdir() if p.name.startswith("dt="))
    if not days:
        raise SystemExit(f"no dt= partitions under {lake}")
    return date.fromisoformat(days[0]), date.fromisoformat(days[-1])


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
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-etl-"))
    lake = args.lake or str(make_lake(args.users, work / "sim"))
    first, _ = lake_days(lake)
    day = date.fromisoformat(args.day) if args.day else first
    events = count_events(lake, day, day)

    spark_s, result, spark_same_s = run_spark(lake, day, day, work / "spark", args.master)
    duck = run_duckdb(lake, day, day, work / "duckdb", args.half_life)
    duckdb_s = duck["total"]
    figures = {
        "events": events,
        "day": day.isoformat(),
        "cpus": os.cpu_count(),
        "spark_s": round(spark_s, 2),
        "spark_job_s": result["total_seconds"],
        "duckdb_s": round(duckdb_s, 2),
        "ratio": round(spark_s / duckdb_s, 2) if duckdb_s else None,
        "spark_same_tables_warm_s": round(spark_same_s, 2),
        "ratio_same_tables_warm": round(spark_same_s / duckdb_s, 2) if duckdb_s else None,
        "duckdb_tables": list(DUCKDB_TABLES),
        "spark_table_s": result["seconds"],
        "duckdb_step_s": duck,
    }
    if args.json:
        print(json.dumps(figures))
        return
    table = Table(title=f"ETL, one day ({events:,} events, {os.cpu_count()} CPUs)")
    table.add_column("engine")
    table.add_column("seconds", justify="right")
    table.add_column("what")
    table.add_row("Spark", f"{spark_s:.1f}", f"session start + all {len(result['rows'])} tables")
    table.add_row("Spark, warm", f"{spark_same_s:.1f}", "DuckDB's tables again, session already up")
    table.add_row("DuckDB", f"{duckdb_s:.1f}", ", ".join(DUCKDB_TABLES))
    table.add_row("ratio", f"{figures['ratio']}", "Spark / DuckDB")
    table.add_row("ratio, same tables", f"{figures['ratio_same_tables_warm']}", "Spark warm / DuckDB")
    Console().print(table)


if __name__ == "__main__":
    main()
