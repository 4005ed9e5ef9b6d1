"""The ETL benchmark's peer: every table of ``components.etl.tables`` computed by DuckDB.

The same definitions as the Spark job (:mod:`components.etl`), written as Parquet with the same
schemas, so that ``benchmarks/etl.py`` compares two engines doing the same work (its ``--check``
and tests/integration/components/etl/test_etl_duckdb_peer.py compare the tables row for row).
"""

from __future__ import annotations

import time
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from components.registry.experiments import Timeline

DUCKDB_TYPES = {
    "date": "DATE",
    "timestamp": "TIMESTAMPTZ",
    "bigint": "BIGINT",
    "int": "INTEGER",
    "double": "DOUBLE",
    "float": "FLOAT",
    "string": "VARCHAR",
    "boolean": "BOOLEAN",
    "array<float>": "FLOAT[]",
}
"""DuckDB's name for each Spark SQL type of components.etl.tables (the peer writes the same schemas)."""


def _typed(name: str, query: str) -> str:
    """``query`` with the columns of table ``name`` in order, cast to its types (Spark's final select)."""
    from components.etl.tables import BY_NAME

    cols = ", ".join(f'CAST("{c.name}" AS {DUCKDB_TYPES[c.dtype]}) AS "{c.name}"' for c in BY_NAME[name].columns)
    return f"SELECT {cols} FROM ({query})"


def _trailing(daily: str, key: str, sums: list[str], today: bool = True) -> str:
    """components.etl.aggregates.trailing: per key and reported day, sums over the 7 days ending it."""
    aggs = [f"sum({c}) AS {c}_7d" for c in sums]
    if today:
        aggs += [f"sum(CASE WHEN t.day = d.date THEN {c} ELSE 0 END) AS {c}_1d" for c in sums]
    return f"""SELECT t.{key}, d.date, {", ".join(aggs)}, count(*) AS active_days
        FROM {daily} t JOIN days d ON d.date BETWEEN t.day AND t.day + 6 GROUP BY t.{key}, d.date"""


def _sql(lake: str, start: date, end: date, half_life: float, dim: int, experiment: str) -> dict[str, str]:
    """DuckDB's statements: temp tables (events, catalogue, daily blocks) and each table's query.

    ``experiment`` names an event's experiment from its ``ts`` (:meth:`ExperimentLabels.sql`).
    """
    first = start - timedelta(days=6)
    src = f"read_parquet('{lake}/*/*/*.parquet', hive_partitioning = true)"
    window = f"BETWEEN DATE '{start}' AND DATE '{end}'"
    ratio = "CASE WHEN {1} > 0 THEN CAST({0} AS DOUBLE) / {1} ELSE 0.0 END"
    decay = f"""sum(score * pow(2.0, datediff('day', DATE '{first}', day) / {half_life}))
        OVER (PARTITION BY item_id ORDER BY day ROWS UNBOUNDED PRECEDING)
        * pow(2.0, -datediff('day', DATE '{first}', day) / {half_life})"""
    stamp = "CAST(date + 1 AS TIMESTAMPTZ)"
    vec_sums = ", ".join(f"sum(c.text_vec[{i + 1}]) AS v{i}" for i in range(dim))
    vec_mean = ", ".join(f"CAST(v{i}_7d / vecs_7d AS FLOAT)" for i in range(dim))
    returned = ", ".join(f"count(DISTINCT u.user_id) FILTER (u.day - c.cohort = {h}) AS r{h}" for h in (1, 7, 30))
    retained = ", ".join(
        f"CASE WHEN s.cohort + {h} <= DATE '{end}' THEN coalesce(r{h}, 0) / size END AS d{h}" for h in (1, 7, 30)
    )
    user_sums = ["events", "impressions", "clicks", "likes", "shares", "dwell_ms", "dwells"]
    return {
        "events": f"""CREATE TEMP TABLE events AS SELECT ts, dt AS day, user_id, type, item_id, request_id,
            position, arm, dwell_ms FROM {src} WHERE dt BETWEEN DATE '{first}' AND DATE '{end}'""",
        "catalogue": f"""CREATE TEMP TABLE catalogue AS SELECT item_id, user_id AS creator_id, ts AS created_ts,
            dt AS created_day, text, image FROM {src} WHERE type = 'create' AND dt <= DATE '{end}'
            QUALIFY row_number() OVER (PARTITION BY item_id ORDER BY ts) = 1""",
        "days": f"""CREATE TEMP TABLE days AS SELECT CAST(d AS DATE) AS date
            FROM range(DATE '{start}', DATE '{end}' + 1, INTERVAL 1 DAY) t(d)""",
        "read_days": f"""CREATE TEMP TABLE read_days AS SELECT CAST(d AS DATE) AS day
            FROM range(DATE '{first}', DATE '{end}' + 1, INTERVAL 1 DAY) t(d)""",
        "user_day": """CREATE TEMP TABLE user_day AS SELECT day, user_id, count(*) AS events,
            count(*) FILTER (type = 'impression') AS impressions, count(*) FILTER (type = 'click') AS clicks,
            count(*) FILTER (type = 'like') AS likes, count(*) FILTER (type = 'share') AS shares,
            CAST(coalesce(sum(dwell_ms) FILTER (type = 'dwell'), 0) AS BIGINT) AS dwell_ms,
            count(*) FILTER (type = 'dwell') AS dwells, count(*) FILTER (type = 'signup') AS signups
            FROM events GROUP BY ALL""",
        "item_day": """CREATE TEMP TABLE item_day AS SELECT *, clicks + likes + shares AS score FROM (
            SELECT day, item_id, count(*) FILTER (type = 'impression') AS impressions,
            count(*) FILTER (type = 'click') AS clicks, count(*) FILTER (type = 'like') AS likes,
            count(*) FILTER (type = 'share') AS shares, count(*) FILTER (type = 'follow') AS follows
            FROM events WHERE item_id IS NOT NULL AND type <> 'create' GROUP BY ALL)""",
        "user_win": f"CREATE TEMP TABLE user_win AS {_trailing('user_day', 'user_id', user_sums)}",
        "dau": f"""SELECT d.date, coalesce(dau, 0) AS dau, coalesce(wau, 0) AS wau,
            coalesce(impressions, 0) AS impressions, coalesce(clicks, 0) AS clicks, coalesce(likes, 0) AS likes,
            coalesce(shares, 0) AS shares, {ratio.format("coalesce(clicks, 0)", "coalesce(impressions, 0)")} AS ctr,
            {ratio.format("coalesce(clicks + likes + shares, 0)", "coalesce(dau, 0)")} AS engagement_per_active_user
            FROM days d LEFT JOIN (SELECT date, count(*) FILTER (impressions_1d > 0) AS dau,
            count(*) FILTER (impressions_7d > 0) AS wau, sum(impressions_1d) AS impressions,
            sum(clicks_1d) AS clicks, sum(likes_1d) AS likes, sum(shares_1d) AS shares
            FROM user_win GROUP BY date) u USING (date)""",
        "retention": f"""WITH c AS (SELECT * FROM (SELECT user_id, min(day) AS cohort FROM user_day
            WHERE signups > 0 GROUP BY 1) WHERE cohort {window}),
            r AS (SELECT c.cohort, {returned}
            FROM c JOIN user_day u USING (user_id) WHERE u.impressions > 0 GROUP BY 1),
            s AS (SELECT cohort, count(*) AS size FROM c GROUP BY 1)
            SELECT s.cohort AS cohort_date, size, {retained} FROM s LEFT JOIN r USING (cohort)""",
        "item_popularity": f"""SELECT * FROM (SELECT day AS date, item_id, impressions, clicks, likes, shares,
            {ratio.format("clicks", "impressions")} AS ctr, {decay} AS popularity
            FROM item_day WHERE impressions + score > 0) WHERE date {window}""",
        "user_item_engagement": f"""SELECT user_id, item_id, count(*) FILTER (type = 'impression') AS impressions,
            count(*) FILTER (type = 'click') AS clicks, count(*) FILTER (type = 'like') AS likes,
            count(*) FILTER (type = 'share') AS shares,
            coalesce(sum(dwell_ms) FILTER (type = 'dwell'), 0) AS dwell_ms, max(ts) AS last_ts
            FROM events WHERE day {window} AND item_id IS NOT NULL
            AND type IN ('impression', 'click', 'like', 'share', 'dwell') GROUP BY ALL""",
        "creator_metrics": f"""WITH r AS (SELECT i.day AS date, c.creator_id, sum(impressions) AS impressions,
            sum(clicks) AS clicks, sum(follows) AS followers_gained FROM item_day i JOIN catalogue c USING (item_id)
            WHERE i.day {window} GROUP BY ALL),
            p AS (SELECT created_day AS date, creator_id, count(*) AS items_posted FROM catalogue
            WHERE created_day {window} GROUP BY ALL)
            SELECT date, creator_id, coalesce(items_posted, 0) AS items_posted,
            coalesce(impressions, 0) AS impressions, coalesce(clicks, 0) AS clicks,
            coalesce(followers_gained, 0) AS followers_gained FROM p FULL JOIN r USING (date, creator_id)""",
        "exposure": f"""WITH created AS (SELECT d.date, count(c.item_id) AS created FROM days d
            LEFT JOIN catalogue c ON c.created_day <= d.date GROUP BY 1),
            x AS (SELECT i.day AS date, i.impressions, i.clicks, created.created
                + sum(CAST(c.created_day IS NULL OR c.created_day > i.day AS INTEGER)) OVER w AS n,
            count(*) OVER w AS m, row_number() OVER (w ORDER BY i.impressions) AS r_imp,
            row_number() OVER (w ORDER BY i.clicks) AS r_clk
            FROM item_day i LEFT JOIN catalogue c USING (item_id) JOIN created ON created.date = i.day
            WHERE i.day {window} AND (i.impressions > 0 OR i.clicks > 0) WINDOW w AS (PARTITION BY i.day)),
            g AS (SELECT date, any_value(n) AS n, count(*) FILTER (impressions > 0) AS items_impressed,
            CAST(sum(impressions) AS DOUBLE) AS s_imp, CAST(sum(clicks) AS DOUBLE) AS s_clk,
            CAST(sum((n - m + r_imp) * impressions) AS DOUBLE) AS rx_imp,
            CAST(sum((n - m + r_clk) * clicks) AS DOUBLE) AS rx_clk,
            CAST(coalesce(sum(impressions) FILTER (r_imp > m - ceil(round(n * 0.1, 9))), 0) AS DOUBLE) AS top
            FROM x GROUP BY 1)
            SELECT date, coalesce(n, created, 0) AS catalogue_size, coalesce(items_impressed, 0) AS items_impressed,
            {ratio.format("coalesce(items_impressed, 0)", "coalesce(n, created, 0)")} AS coverage,
            coalesce(CASE WHEN s_imp > 0 THEN least(greatest((2 * rx_imp - (n + 1) * s_imp) / (n * s_imp), 0), 1)
                ELSE 0 END, 0) AS exposure_gini,
            coalesce({ratio.format("top", "s_imp")}, 0) AS top10_share,
            coalesce(CASE WHEN s_clk > 0 THEN least(greatest((2 * rx_clk - (n + 1) * s_clk) / (n * s_clk), 0), 1)
                ELSE 0 END, 0) AS click_gini
            FROM days LEFT JOIN created USING (date) LEFT JOIN g USING (date)""",
        "arm_summaries": f"""WITH s AS (SELECT day, {experiment} AS experiment, arm, user_id, type
            FROM events WHERE day {window} AND arm IS NOT NULL AND type IN ('impression', 'click', 'like', 'share')),
            u AS (SELECT day, experiment, arm, user_id, count(*) FILTER (type = 'impression') AS impressions,
            count(*) FILTER (type = 'click') AS clicks,
            count(*) FILTER (type IN ('click', 'like', 'share')) AS engagement FROM s
            GROUP BY ALL HAVING count(*) FILTER (type = 'impression') > 0),
            c AS (SELECT * FROM (SELECT user_id, min(day) AS cohort FROM user_day WHERE signups > 0 GROUP BY 1)
            WHERE cohort BETWEEN DATE '{start}' AND DATE '{end}' - 1),
            d1 AS (SELECT c.user_id, c.cohort, max(CASE WHEN a.day = c.cohort + 1 THEN 1 ELSE 0 END) AS returned
            FROM c LEFT JOIN (SELECT user_id, day FROM user_day WHERE impressions > 0) a USING (user_id) GROUP BY 1, 2),
            j AS (SELECT u.*, CASE WHEN u.day = d1.cohort THEN d1.returned END AS returned
            FROM u LEFT JOIN d1 USING (user_id))
            SELECT day AS date, experiment, arm, count(*) AS users, CAST(sum(impressions) AS BIGINT) AS impressions,
            CAST(sum(clicks) AS BIGINT) AS clicks, CAST(sum(clicks * clicks) AS BIGINT) AS clicks_sq,
            CAST(sum(impressions * impressions) AS BIGINT) AS impressions_sq,
            CAST(sum(clicks * impressions) AS BIGINT) AS clicks_impressions,
            avg(clicks / impressions) AS ctr_mean, coalesce(var_samp(clicks / impressions), 0) AS ctr_var,
            avg(engagement) AS eng_mean, coalesce(var_samp(engagement), 0) AS eng_var,
            count(returned) AS d1_cohort, CAST(coalesce(sum(returned), 0) AS BIGINT) AS d1_returned
            FROM j GROUP BY ALL""",
        "versions": f"""SELECT dt AS date, {experiment} AS experiment, arm, model_version,
            count(*) AS impressions FROM {src}
            WHERE dt {window} AND type = 'impression' AND arm IS NOT NULL GROUP BY ALL""",
        "user_features": f"""WITH p AS (SELECT e.day, e.user_id, count(*) AS vecs, {vec_sums}
            FROM events e JOIN content c USING (item_id) WHERE e.type = 'click' GROUP BY ALL),
            t AS ({_trailing("p", "user_id", ["vecs", *[f"v{i}" for i in range(dim)]], today=False)})
            SELECT u.user_id, u.date, {stamp} AS event_timestamp, impressions_1d, clicks_1d, impressions_7d,
            clicks_7d, likes_7d, shares_7d, u.active_days AS active_days_7d,
            {ratio.format("clicks_7d", "impressions_7d")} AS ctr_7d,
            {ratio.format("likes_7d", "clicks_7d")} AS like_rate_7d,
            {ratio.format("dwell_ms_7d", "dwells_7d")} AS mean_dwell_ms_7d,
            coalesce(CASE WHEN t.user_id IS NOT NULL THEN [{vec_mean}] END,
                CAST([{", ".join(["0.0"] * dim)}] AS FLOAT[])) AS content_profile
            FROM user_win u LEFT JOIN t USING (user_id, date)""",
        "item_features": f"""WITH g AS (SELECT c.item_id, c.creator_id, c.created_ts, r.day,
            coalesce(i.impressions, 0) AS impressions, coalesce(i.clicks, 0) AS clicks,
            coalesce(i.score, 0) AS score FROM catalogue c JOIN read_days r ON r.day >= c.created_day
            LEFT JOIN item_day i ON i.item_id = c.item_id AND i.day = r.day),
            w AS (SELECT *, sum(impressions) OVER s AS impressions_7d, sum(clicks) OVER s AS clicks_7d,
            {decay} AS popularity FROM g
            WINDOW s AS (PARTITION BY item_id ORDER BY day RANGE BETWEEN INTERVAL 6 DAYS PRECEDING AND CURRENT ROW))
            SELECT w.item_id, day AS date, CAST(day + 1 AS TIMESTAMPTZ) AS event_timestamp, creator_id,
            (epoch_us(CAST(day + 1 AS TIMESTAMPTZ)) - epoch_us(created_ts)) / 1e6 / 86400.0 AS age_days,
            impressions AS impressions_1d, clicks AS clicks_1d, impressions_7d, clicks_7d,
            {ratio.format("clicks_7d", "impressions_7d")} AS ctr_7d, popularity, ct.* EXCLUDE (item_id)
            FROM w LEFT JOIN content ct USING (item_id) WHERE day {window}""",
        "creator_features": f"""WITH r AS (SELECT i.day, c.creator_id, sum(impressions) AS impressions,
            sum(clicks) AS clicks, sum(follows) AS follows FROM item_day i JOIN catalogue c USING (item_id)
            GROUP BY ALL),
            p AS (SELECT created_day AS day, creator_id, count(*) AS posted FROM catalogue
            WHERE created_day >= DATE '{first}' GROUP BY ALL),
            daily AS (SELECT day, creator_id, coalesce(impressions, 0) AS impressions,
            coalesce(clicks, 0) AS clicks, coalesce(follows, 0) AS follows, coalesce(posted, 0) AS posted
            FROM r FULL JOIN p USING (day, creator_id)),
            t AS ({_trailing("daily", "creator_id", ["impressions", "clicks", "follows", "posted"])}),
            o AS (SELECT c.creator_id, d.date, count(*) AS catalogue_items FROM catalogue c
            JOIN days d ON c.created_day <= d.date GROUP BY ALL)
            SELECT o.creator_id, o.date, {stamp} AS event_timestamp, catalogue_items,
            coalesce(posted_7d, 0) AS items_posted_7d, coalesce(impressions_7d, 0) AS impressions_7d,
            coalesce(clicks_7d, 0) AS clicks_7d, coalesce(follows_7d, 0) AS followers_gained_7d,
            {ratio.format("coalesce(clicks_7d, 0)", "coalesce(impressions_7d, 0)")} AS ctr_7d
            FROM o LEFT JOIN t USING (creator_id, date)""",
        "interactions": f"""WITH e AS (SELECT request_id, user_id, item_id, count(*) FILTER (type = 'click') AS c,
            count(*) FILTER (type = 'like') AS l, count(*) FILTER (type = 'share') AS s,
            coalesce(sum(dwell_ms), 0) AS dw FROM events
            WHERE day {window} AND request_id IS NOT NULL
            AND type IN ('click', 'like', 'share', 'dwell') GROUP BY ALL)
            SELECT i.user_id, i.item_id, i.ts, CAST(coalesce(e.c, 0) > 0 AS INTEGER) AS label,
            CASE WHEN coalesce(e.c, 0) > 0 THEN 1 + CAST(e.l > 0 AS DOUBLE) + 2 * CAST(e.s > 0 AS DOUBLE)
                + least(e.dw / 60000.0, 1) ELSE 1.0 END AS weight, i.request_id, i.position, i.arm
            FROM events i LEFT JOIN e USING (request_id, user_id, item_id)
            WHERE i.type = 'impression' AND i.day {window}""",
    }


def run_duckdb(
    lake: str, start: date, end: date, out: Path, half_life: float, timeline: Timeline | None = None
) -> dict[str, float]:
    """Run the DuckDB peer: every table of components.etl.tables, written as Parquet.

    Content features go through the same numpy batches as Spark's ``mapInArrow``
    (:func:`components.etl.features.content_batches`) and the experiments' statistics through
    the same driver code (:func:`components.etl.experiments.compare_arms`), each event named by
    the experiment ``timeline`` (an experiment log's) says was live. Returns seconds per step
    (connection start included in the first) and ``total``.
    """
    import duckdb
    import pyarrow as pa

    from components.etl.experiments import ExperimentLabels, compare_arms
    from components.etl.features import content_batches, content_schema
    from components.etl.tables import EXPERIMENTS, TABLES, TEXT_DIM, arrow_schema

    started = time.perf_counter()
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    labels = ExperimentLabels.of(timeline, start, end)
    sql = _sql(lake, start, end, half_life, TEXT_DIM, labels.sql("epoch_us(ts)"))
    timings: dict[str, float] = {}

    def step(name: str, run: Any) -> None:
        t = time.perf_counter()
        run()
        timings[name] = round(time.perf_counter() - t, 3)

    def write(name: str, query: str) -> None:
        (out / name).mkdir(parents=True, exist_ok=True)
        con.execute(f"COPY ({_typed(name, query)}) TO '{out}/{name}/part-0.parquet' (FORMAT parquet)")

    def content() -> None:
        batches = con.sql("SELECT item_id, text, image FROM catalogue").to_arrow_reader()
        table = pa.Table.from_batches(list(content_batches(batches, TEXT_DIM)), content_schema())
        con.register("content_arrow", table)
        con.execute("CREATE TEMP TABLE content AS SELECT * FROM content_arrow")

    def experiments() -> None:
        rows = con.sql(sql["arm_summaries"]).to_arrow_table().to_pylist()
        versions = con.sql(sql["versions"]).to_arrow_table().to_pylist()
        table = compare_arms(rows, versions=versions, experiment_shares=labels.shares)
        con.register("experiments_arrow", pa.Table.from_pylist(table, arrow_schema(EXPERIMENTS)))
        write("experiments", "SELECT * FROM experiments_arrow")

    for name in ("events", "catalogue", "days", "read_days", "user_day", "item_day", "user_win"):
        step(name, lambda name=name: con.execute(sql[name]))
    step("content", content)
    for table in TABLES:
        if table.name == "experiments":
            step(table.name, experiments)
        else:
            step(table.name, lambda name=table.name: write(name, sql[name]))
    con.close()
    timings["total"] = round(time.perf_counter() - started, 3)
    return timings
