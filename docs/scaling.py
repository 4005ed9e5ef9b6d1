"""The capacity model of docs/scaling.md: from measured figures to 100k .. 100M users, by arithmetic.

``python docs/scaling.py`` prints the tables of docs/scaling.md from the figures in ``MEASURED``;
``--check`` fails if the document's tables differ (the tables are generated, never edited);
``--measure`` re-measures the two figures this model measured itself (a 20,000-user SimNet day's
lake, and Feast rows in a private redis-server) and prints them beside the recorded ones.
Every other figure is quoted from a benchmark, with its source.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

DOC = Path(__file__).resolve().parent / "scaling.md"
BEGIN, END = "<!-- capacity:begin -->", "<!-- capacity:end -->"


@dataclass(frozen=True)
class Figure:
    """A measured figure and where it comes from."""

    value: float
    source: str


MEASURED: dict[str, Figure] = {
    # M1: `simnet run --users 20000 --days 1 --seed 7 --policy popularity --out DIR` (this script's --measure)
    "events_per_user_day": Figure(802_316 / 20_000, "M1: 802,316 events, 20,000 users, one day"),
    "requests_per_user_day": Figure(71_559 / 20_000, "M1: 71,559 distinct request ids (slates of 10)"),
    "clicks_per_user_day": Figure(26_525 / 20_000, "M1: 26,525 clicks (the training positives)"),
    "items_per_user_day": Figure(4_478 / 20_000, "M1: 4,478 create events"),
    "creators_per_user": Figure(600 / 20_000, "M1: 600 creators"),
    "lake_bytes_per_event": Figure(10_903_683 / 802_316, "M1: 10,903,683 bytes of zstd Parquet in 49 files"),
    "peak_to_mean": Figure(1.58, "M1: busiest hour (20:00) over the mean hour, impressions"),
    # M2: Feast's Redis layout (one hash per entity and view), 20,000 rows each (this script's --measure)
    "redis_bytes_per_user": Figure(1_079, "M2: used_memory per user_features row (11 features)"),
    "redis_bytes_per_item": Figure(1_677, "M2: used_memory per item_features row (17 features)"),
    "redis_bytes_per_creator": Figure(224, "M2: used_memory per creator_features row (6 features)"),
    # quoted from the benchmarks (README.md, docs/*.md, shared/MEASURED.md)
    "ingest_events_per_s": Figure(53_600, "README, benchmarks/ingest.py: HTTP to lake, 4 clients, 2 cores"),
    "serving_rps": Figure(750, "README, benchmarks/serving.py: 100k x 100k x 33 floats, p99 <= 50 ms, 2 cores"),
    "serving_items": Figure(100_000, "README, benchmarks/serving.py: the champion's catalogue"),
    "topk_ms_per_100k_64": Figure(0.54, "shared/MEASURED.md: 100k x 64 matmul + top-k, batch of 16, per request"),
    "etl_events_per_s": Figure(
        8_000_000 / 62.7, "README, benchmarks/pipeline.py: etl, 8.0M events in 62.7 s, local[2]"
    ),
    "etl_cores": Figure(2, "README: the same run's cores"),
    "train_samples_per_s_gpu": Figure(538_567, "docs/training.md: one H100, batch 4,096, 10 epochs"),
}

# Choices of this model (not measurements): each is named where it is used.
DIM = 33  # floats per item vector served (dim 32 + bias: docs/training.md, README serving benchmark)
EPOCHS = 3  # training default (docs/training.md)
WINDOW_DAYS = 7  # the ETL's 7-day features, the items a feed draws from, the training window
UTILISATION = 0.5  # replicas sized to run at half their measured capacity at the peak hour
P99_BUDGET_MS = 20  # DESIGN.md section 7: serving is measured at p99 <= 20 ms; the scan may take half
ETL_NODE_CORES = 16  # one node's cores for the nightly ETL before it must spread or go incremental
ETL_BUDGET_S = 3_600  # the nightly ETL's budget
TRAIN_BUDGET_S = 3_600  # the nightly training's budget
REDIS_SHARD_BYTES = 25e9  # memory per Redis shard, so a resync or a fork's copy-on-write stays small
GPU_BYTES = 48e9  # one RTX A6000 (the Hetzner server's GPU)
USERS = (100_000, 1_000_000, 10_000_000, 100_000_000)


def m(name: str) -> float:
    """The value of a measured figure."""
    return MEASURED[name].value


def scan_ms(items: float) -> float:
    """Exact top-k's memory scan per request (batched), scaled from the measured 100k x 64 by items x floats."""
    return m("topk_ms_per_100k_64") * (items / 100_000) * (DIM / 64)


def model(users: int) -> dict[str, float]:
    """Every figure of the capacity table for ``users`` users."""
    events_day = users * m("events_per_user_day")
    peak_events_s = events_day / 86_400 * m("peak_to_mean")
    requests_day = users * m("requests_per_user_day")
    peak_rps = requests_day / 86_400 * m("peak_to_mean")
    catalogue = users * m("items_per_user_day") * WINDOW_DAYS
    creators = users * m("creators_per_user")

    # serving: the benchmark's time per request, with its own scan replaced by this catalogue's
    bench_ms = 1_000 / m("serving_rps")
    exact_ms = bench_ms - scan_ms(m("serving_items")) + scan_ms(catalogue)
    exact_rps = 1_000 / exact_ms
    ann = scan_ms(catalogue) > P99_BUDGET_MS / 2  # the scan alone would take half the p99 budget
    replica_rps = m("serving_rps") if ann else exact_rps  # with an ANN index: the benchmark's cost as the target

    redis_bytes = (
        users * m("redis_bytes_per_user")
        + catalogue * m("redis_bytes_per_item")
        + creators * m("redis_bytes_per_creator")
    )
    etl_events = events_day * WINDOW_DAYS
    etl_core_rate = m("etl_events_per_s") / m("etl_cores")
    samples = users * m("clicks_per_user_day") * WINDOW_DAYS * EPOCHS
    # id embeddings (users + items) x (dim + 1) floats, with AdamW's two moments and the gradient
    embedding_bytes = (users + catalogue) * DIM * 4 * 4
    return {
        "users": users,
        "events_day": events_day,
        "peak_events_s": peak_events_s,
        "ingest_processes": math.ceil(peak_events_s / (m("ingest_events_per_s") * UTILISATION)),
        "lake_gb_day": events_day * m("lake_bytes_per_event") / 1e9,
        "lake_tb_year": events_day * m("lake_bytes_per_event") * 365 / 1e12,
        "etl_cores": math.ceil(etl_events / (etl_core_rate * ETL_BUDGET_S)),
        "etl_incremental_cores": math.ceil(events_day / (etl_core_rate * ETL_BUDGET_S)),
        "redis_gb": redis_bytes / 1e9,
        "redis_shards": math.ceil(redis_bytes / REDIS_SHARD_BYTES),
        "peak_rps": peak_rps,
        "catalogue": catalogue,
        "scan_ms": scan_ms(catalogue),
        "exact_rps": exact_rps,
        "ann": float(ann),
        "replicas": math.ceil(peak_rps / (replica_rps * UTILISATION)),
        "item_matrix_gb": catalogue * DIM * 4 / 1e9,
        "samples": samples,
        "gpu_hours": samples / m("train_samples_per_s_gpu") / 3_600,
        "gpus": math.ceil(samples / m("train_samples_per_s_gpu") / TRAIN_BUDGET_S),
        "embedding_gb": embedding_bytes / 1e9,
    }


def _n(value: float) -> str:
    """A count or size for the tables: thousands separators, one decimal below 10."""
    if value >= 1e9:
        return f"{value / 1e9:,.2f}B"
    if value >= 1e6:
        return f"{value / 1e6:,.1f}M"
    if value >= 10 or value == int(value):
        return f"{value:,.0f}"
    return f"{value:.2f}"


def tables() -> str:
    """The Markdown tables of docs/scaling.md."""
    rows = [model(u) for u in USERS]
    head = "| | " + " | ".join(_n(r["users"]) + " users" for r in rows) + " |"
    rule = "|---|" + "---|" * len(rows)

    def line(label: str, cells: list[str]) -> str:
        return f"| {label} | " + " | ".join(cells) + " |"

    out = [head, rule]
    out.append(line("events / day", [_n(r["events_day"]) for r in rows]))
    out.append(line("events / s at the peak hour", [_n(r["peak_events_s"]) for r in rows]))
    out.append(line("ingest processes (2 cores each)", [_n(r["ingest_processes"]) for r in rows]))
    out.append(line("lake / day", [f"{r['lake_gb_day']:.2f} GB" for r in rows]))
    out.append(line("lake / year", [f"{r['lake_tb_year']:.2f} TB" for r in rows]))
    out.append(line("Spark cores, 7-day window in 1 h", [_n(r["etl_cores"]) for r in rows]))
    out.append(line("Spark cores, one new day in 1 h", [_n(r["etl_incremental_cores"]) for r in rows]))
    out.append(line("Redis memory", [f"{r['redis_gb']:.2f} GB" for r in rows]))
    out.append(line("Redis shards (25 GB each)", [_n(r["redis_shards"]) for r in rows]))
    out.append(line("feed requests / s at the peak hour", [_n(r["peak_rps"]) for r in rows]))
    out.append(line("items a feed ranks (7 days of posts)", [_n(r["catalogue"]) for r in rows]))
    out.append(line("exact top-k scan per request", [f"{r['scan_ms']:.2f} ms" for r in rows]))
    out.append(line("one replica with exact top-k", [f"{r['exact_rps']:,.0f} req/s" for r in rows]))
    out.append(line("top-k", ["ANN index" if r["ann"] else "exact" for r in rows]))
    out.append(line("Ray Serve replicas (2 cores each)", [_n(r["replicas"]) for r in rows]))
    out.append(line("item matrix per replica (exact)", [f"{r['item_matrix_gb']:.2f} GB" for r in rows]))
    out.append(line("training samples / night (3 epochs)", [_n(r["samples"]) for r in rows]))
    out.append(line("GPU-hours / night (H100 rate)", [f"{r['gpu_hours']:.3f}" for r in rows]))
    out.append(line("GPUs for a 1 h night", [_n(r["gpus"]) for r in rows]))
    out.append(line("id embeddings + AdamW + gradients", [f"{r['embedding_gb']:.2f} GB" for r in rows]))

    changes = ["| part | must change when | from (users) | to |", "|---|---|---|---|"]
    for part, condition, users, to in change_points():
        changes.append(f"| {part} | {condition} | {_n(users)} | {to} |")

    sources = ["| figure | value | source |", "|---|---|---|"]
    for name, figure in MEASURED.items():
        value = f"{figure.value:,.0f}" if figure.value >= 1_000 else f"{figure.value:.4g}"
        sources.append(f"| `{name}` | {value} | {figure.source} |")
    return "\n\n".join("\n".join(t) for t in (out, changes, sources))


def change_points() -> list[tuple[str, str, float, str]]:
    """Where each part must change: every quantity is linear in users, so each point is a limit over a slope."""
    per_user_peak_events_s = m("events_per_user_day") / 86_400 * m("peak_to_mean")
    per_user_items = m("items_per_user_day") * WINDOW_DAYS
    per_user_redis = (
        m("redis_bytes_per_user")
        + per_user_items * m("redis_bytes_per_item")
        + m("creators_per_user") * m("redis_bytes_per_creator")
    )
    etl_core_rate = m("etl_events_per_s") / m("etl_cores")
    scan_per_item = scan_ms(1.0)
    per_user_samples = m("clicks_per_user_day") * WINDOW_DAYS * EPOCHS
    return [
        (
            "ingest",
            f"peak events/s above one process at {UTILISATION:.0%} ({m('ingest_events_per_s') * UTILISATION:,.0f})",
            m("ingest_events_per_s") * UTILISATION / per_user_peak_events_s,
            "more ingest replicas, each with its own state file and writer id (docs/ingest.md)",
        ),
        (
            "Spark ETL",
            f"the 7-day recompute needs more than {ETL_NODE_CORES} cores for 1 h",
            ETL_NODE_CORES * etl_core_rate * ETL_BUDGET_S / (m("events_per_user_day") * WINDOW_DAYS),
            "incremental: aggregate each new day once, merge 7 daily partials (7x less to read)",
        ),
        (
            "Redis",
            "online rows above one 25 GB shard",
            REDIS_SHARD_BYTES / per_user_redis,
            "Redis Cluster (hash-slot shards, a replica each); Feast's redis_type: redis_cluster",
        ),
        (
            "serving top-k",
            f"the exact scan above half the {P99_BUDGET_MS} ms p99 budget",
            (P99_BUDGET_MS / 2) / scan_per_item / per_user_items,
            "an ANN index (IVF-PQ or HNSW), recall@k checked against exact top-k",
        ),
        (
            "training memory",
            "id embeddings with AdamW state above one 48 GB GPU",
            GPU_BYTES / ((1 + per_user_items) * DIM * 4 * 4),
            "sharded embedding tables (TorchRec) or hashed ids; content towers carry cold rows",
        ),
        (
            "training time",
            "one night's epochs above one GPU-hour",
            m("train_samples_per_s_gpu") * TRAIN_BUDGET_S / per_user_samples,
            "multi-GPU DDP (Kubeflow Trainer numNodes/GPUs), or fewer epochs over the older days",
        ),
    ]


def documented() -> str:
    """The generated part of docs/scaling.md, between its markers."""
    text = DOC.read_text(encoding="utf-8")
    return text.split(BEGIN, 1)[1].split(END, 1)[0].strip()


# --- the two measurements -----------------------------------------------------------------------


def measure_lake(users: int = 20_000) -> dict[str, float]:
    """M1: one SimNet day of ``users`` users under popularity, written as the lake; its counts and bytes."""
    import pyarrow.compute as pc
    import pyarrow.dataset as ds

    with tempfile.TemporaryDirectory() as tmp:
        simnet = Path(sys.executable).parent / "simnet"
        subprocess.run(
            [str(simnet), "run", "--users", str(users), "--days", "1", "--seed", "7", "--policy", "popularity"]
            + ["--out", tmp, "--json", "--no-progress"],
            check=True,
            capture_output=True,
        )
        files = sorted(Path(tmp, "events").rglob("*.parquet"))
        table = ds.dataset([str(f) for f in files], format="parquet").to_table(columns=["type", "request_id", "ts"])
        counts = {r["values"]: r["counts"] for r in pc.value_counts(table["type"]).to_pylist()}
        impressions = table.filter(pc.equal(table["type"], "impression"))
        hours = pc.value_counts(pc.hour(impressions["ts"])).to_pylist()
        per_hour = [h["counts"] for h in hours]
        return {
            "events": table.num_rows,
            "bytes": sum(f.stat().st_size for f in files),
            "requests": len(pc.unique(impressions["request_id"])),
            "clicks": counts.get("click", 0),
            "creates": counts.get("create", 0),
            "peak_to_mean": max(per_hour) / (sum(per_hour) / 24),
        }


def measure_redis(rows: int = 20_000) -> dict[str, float]:
    """M2: ``used_memory`` per entity row of each view, written as Feast's Redis store writes it."""
    import numpy as np
    import redis
    from feast.infra.online_stores.helpers import _mmh3, _redis_key
    from feast.protos.feast.types.EntityKey_pb2 import EntityKey
    from feast.protos.feast.types.Value_pb2 import FloatList, Value
    from google.protobuf.timestamp_pb2 import Timestamp

    from components.etl.tables import CREATOR_FEATURES, ITEM_FEATURES, USER_FEATURES

    server = shutil.which("redis-server")
    if server is None:
        raise SystemExit("redis-server is not installed")
    rng = np.random.default_rng(7)
    with tempfile.TemporaryDirectory() as tmp:
        sock = str(Path(tmp) / "redis.sock")
        proc = subprocess.Popen(
            [server, "--port", "0", "--unixsocket", sock, "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
        )
        try:
            for _ in range(100):
                if Path(sock).exists():
                    break
                time.sleep(0.05)
            client = redis.Redis(unix_socket_path=sock)
            result = {}
            for table in (USER_FEATURES, ITEM_FEATURES, CREATOR_FEATURES):
                key_column = table.key[0]
                features = [c for c in table.columns if c.name not in (*table.key, "event_timestamp")]
                before = int(client.info("memory")["used_memory"])
                pipe = client.pipeline(transaction=False)
                for entity in range(rows):
                    key = EntityKey(join_keys=[key_column], entity_values=[Value(int64_val=entity)])
                    stamp = Timestamp()
                    stamp.FromSeconds(1_767_225_600 + entity)
                    fields: dict[bytes | str, bytes] = {f"_ts:{table.name}": stamp.SerializeToString()}
                    for column in features:
                        if column.dtype.startswith("array"):
                            value = Value(float_list_val=FloatList(val=rng.random(32).tolist()))
                        elif column.dtype == "double":
                            value = Value(double_val=float(rng.random()))
                        else:
                            value = Value(int64_val=int(rng.integers(0, 1_000)))
                        fields[_mmh3(f"{table.name}:{column.name}")] = value.SerializeToString()
                    pipe.hset(_redis_key("tinyworld", key), mapping=fields)
                pipe.execute()
                result[table.name] = (int(client.info("memory")["used_memory"]) - before) / rows
            return result
        finally:
            proc.terminate()
            proc.wait(timeout=10)


def main(argv: list[str] | None = None) -> int:
    """Print the tables, check the document, or re-measure."""
    parser = argparse.ArgumentParser(description="TinyWorld's capacity model (docs/scaling.md)")
    parser.add_argument("--check", action="store_true", help="fail if docs/scaling.md's tables differ")
    parser.add_argument("--measure", action="store_true", help="re-measure M1 (lake) and M2 (Redis)")
    parser.add_argument("--json", action="store_true", help="print the model's rows as JSON")
    args = parser.parse_args(argv)
    if args.measure:
        print(json.dumps({"M1": measure_lake(), "M2": measure_redis()}, indent=2))  # noqa: T201
        return 0
    if args.json:
        print(json.dumps([model(u) for u in USERS], indent=2))  # noqa: T201
        return 0
    if args.check:
        if documented() != tables():
            print("docs/scaling.md differs from `python docs/scaling.py`: paste its output between the markers")  # noqa: T201
            return 1
        return 0
    print(tables())  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main())
