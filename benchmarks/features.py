"""Feature store: Feast materialisation and online lookups against raw SQLite on the same rows.

Writes a synthetic feature table with the ETL's schema (``--view``, default ``user_features``: one
row per user, 11 features, one a 32-float vector; ``creator_features`` has 6 scalars), one row per
entity per day for ``--days`` days, applies the repository over it with the local settings (SQLite
online store) in a temporary folder, then in the same run:

1. materialise: ``components.features.materialize`` of each entity's latest row over the view's TTL
   (a first run); rows/s over the whole call. With ``--feast``, also Feast's own
   ``FeatureStore.materialize`` over the same interval into a second store (the path ``materialize``
   replaces; its Dask read costs more the more days the table holds). Peer: the latest rows written
   with ``executemany`` into a plain SQLite table (one row per entity, a column per feature, vectors
   as float32 blobs).
2. online lookups of 1 and ``--batch`` random entities, ``--lookups`` times each: Feast's
   ``get_online_features`` through :class:`components.features.online.OnlineReader`.
   Peers: (a) ``sqlite``: the online store's own file read directly with the query Feast runs,
   entity keys serialised up front, values fetched but not decoded; (b) ``plain``: the plain
   table above, ``SELECT * ... WHERE key IN (...)``.
3. where ``redis-server`` is installed (and without ``--no-redis``): a throwaway server on a free
   port, the same rows materialised into Feast's Redis online store (and with ``--feast`` by Feast's
   own call into a second database), lookups through Feast, and the peer ``redis``: one pipelined
   ``HGETALL`` per entity of Feast's own keys, values not decoded.

    .venv/bin/python benchmarks/features.py                 # 100k users
    .venv/bin/python benchmarks/features.py --view creator_features --rows 20000 --json
    .venv/bin/python benchmarks/features.py --rows 30000 --days 10 --feast --lookups 100

Ratios are Feast / the direct read of its SQLite file (lookups), Feast / plain SQLite (writes).
Nothing here asserts a time: the figures are printed.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path; drop it so nothing here shadows a package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import random  # noqa: E402
import shutil  # noqa: E402
import sqlite3  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from datetime import UTC, datetime  # noqa: E402
from typing import Any  # noqa: E402

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parent.parent
STAMP = datetime(2026, 1, 8, tzinfo=UTC)
"""The latest day's stamp: the data's "now", and the end of every materialisation."""


def percentiles(samples_s: list[float]) -> tuple[float, float]:
    """p50 and p99 of ``samples_s`` (seconds), in milliseconds."""
    ordered = sorted(samples_s)
    p99 = ordered[min(len(ordered) - 1, int(round(0.99 * (len(ordered) - 1))))]
    return statistics.median(ordered) * 1e3, p99 * 1e3


def timed(call: Callable[[list[int]], Any], batches: list[list[int]]) -> list[float]:
    """Latency of ``call`` on each batch, after two warm-up calls."""
    for batch in batches[:2]:
        call(batch)
    samples = []
    for batch in batches:
        began = time.perf_counter()
        call(batch)
        samples.append(time.perf_counter() - began)
    return samples


def plain_table(path: Path, data: Any, key: str, columns: list[str]) -> tuple[sqlite3.Connection, float]:
    """The peer: the rows in a plain SQLite table keyed by ``key``; returns it and rows/s written."""
    import numpy as np

    conn = sqlite3.connect(path, check_same_thread=False)
    names = ", ".join(f'"{c}"' for c in columns)
    conn.execute(f"CREATE TABLE features ({key} INTEGER PRIMARY KEY, {names})")
    frame = data.to_pandas()
    began = time.perf_counter()
    rows = [
        (
            int(r[0]),
            *[np.asarray(v, dtype=np.float32).tobytes() if isinstance(v, list | np.ndarray) else v for v in r[1:]],
        )
        for r in frame[[key, *columns]].itertuples(index=False)
    ]
    marks = ", ".join("?" * (len(columns) + 1))
    with conn:
        conn.executemany(f"INSERT INTO features VALUES ({marks})", rows)
    return conn, len(rows) / (time.perf_counter() - began)


def entity_key(key: str, entity: int) -> Any:
    """Feast's EntityKey proto for one int64 entity."""
    from feast.protos.feast.types.EntityKey_pb2 import EntityKey
    from feast.protos.feast.types.Value_pb2 import Value

    return EntityKey(join_keys=[key], entity_values=[Value(int64_val=entity)])


def feast_reader(path: Path, project: str, view: str, key: str, ids: range) -> Callable[[list[int]], Any]:
    """The peer: the query Feast's SQLite store runs, on its own file, entity keys serialised up front."""
    from feast.infra.key_encoding_utils import serialize_entity_key

    keys = {i: bytes(serialize_entity_key(entity_key(key, i), entity_key_serialization_version=3)) for i in ids}
    conn = sqlite3.connect(path, check_same_thread=False)

    def read(batch: list[int]) -> Any:
        sql = (
            f'SELECT entity_key, feature_name, value, event_ts FROM "{project}_{view}" '
            f"WHERE entity_key IN ({','.join('?' * len(batch))}) ORDER BY entity_key"
        )
        return conn.execute(sql, [keys[i] for i in batch]).fetchall()

    return read


def redis_reader(url: str, project: str, key: str, ids: range) -> Callable[[list[int]], Any]:
    """The peer: one pipelined HGETALL per entity of Feast's own Redis keys, values not decoded."""
    import redis
    from feast.infra.online_stores.helpers import _redis_key

    keys = {i: _redis_key(project, entity_key(key, i), entity_key_serialization_version=3) for i in ids}
    client = redis.Redis.from_url(url)

    def read(batch: list[int]) -> Any:
        pipe = client.pipeline(transaction=False)
        for i in batch:
            pipe.hgetall(keys[i])  # type: ignore[arg-type]  # redis accepts bytes keys; its stubs say str
        return pipe.execute()

    return read


def lookups(calls: dict[str, Callable[[list[int]], Any]], ids: range, count: int, batch: int) -> dict[str, float]:
    """p50 and p99 (ms) of each call over ``count`` random batches of 1 and of ``batch`` ids."""
    rng, figures = random.Random(7), {}
    for size in (1, batch):
        batches = [rng.sample(ids, size) for _ in range(count)]
        for name, call in calls.items():
            p50, p99 = percentiles(timed(call, batches))
            figures[f"{name}_p50_ms_{size}"], figures[f"{name}_p99_ms_{size}"] = p50, p99
    return figures


def feast_rate(config: Any, etl_out: Path, view: str, rows: int) -> float:
    """Rows/s of Feast's own ``FeatureStore.materialize`` of ``view``'s first run into the store of ``config``."""
    from components.features.apply import apply
    from components.features.repo import open_repo, quiet

    repo = open_repo(config)
    apply(repo, str(etl_out))
    began = time.perf_counter()
    with quiet():
        repo.store.materialize(start_date=STAMP - repo.definitions.view(view).ttl, end_date=STAMP, feature_views=[view])
    return rows / (time.perf_counter() - began)


def run(
    view: str, rows: int, days: int, count: int, batch: int, workdir: Path, with_redis: bool, with_feast: bool
) -> dict[str, Any]:
    """Every measurement of the module docstring for ``view``; returns the figures."""
    from datetime import timedelta

    from components.features.apply import apply
    from components.features.config import FeatureStoreConfig
    from components.features.local_redis import redis_server
    from components.features.materialize import materialize
    from components.features.online import OnlineReader
    from components.features.repo import load_definitions, open_repo
    from components.features.synthetic import marker, synthetic_table, write_table

    definitions = load_definitions(REPO_ROOT / "feature_repo")
    spec = definitions.view(view)
    etl_out, ids = workdir / "etl", range(1, rows + 1)
    data = synthetic_table(spec.table, list(ids), [STAMP - timedelta(days=d) for d in reversed(range(days))])
    for other in definitions.views:  # apply registers every view: small tables for the others
        write_table(etl_out, other.table, data if other is spec else synthetic_table(other.table, [1, 2], [STAMP]))
    base = FeatureStoreConfig(source_dir=str(REPO_ROOT / "feature_repo"), state=str(workdir / "artifacts" / "features"))
    repo = open_repo(base)
    applied = apply(repo, str(etl_out))
    done = materialize(repo, STAMP, views=[view]).views[0]
    figures: dict[str, Any] = {"view": view, "features": len(spec.features), "rows": done.rows, "days": days}
    figures |= {"apply_s": applied.seconds, "materialize_s": done.seconds}
    figures["materialize_rows_per_s"] = done.rows / done.seconds
    if with_feast:
        figures["feast_materialize_rows_per_s"] = feast_rate(
            base.model_copy(update={"state": str(workdir / "feast")}), etl_out, view, done.rows
        )
    latest = data.slice(data.num_rows - rows)  # the last day's rows: one per entity
    conn, figures["plain_write_rows_per_s"] = plain_table(
        workdir / "plain.db", latest, spec.join_key, spec.feature_names
    )

    reader = OnlineReader(repo, spec.entity.name, [view])
    first = reader.read_dict([1])[f"{view}__{spec.features[0].name}"][0]
    mark = marker(1, days - 1)  # entity 1 on the last stamp: the synthetic marker
    assert first in (mark, mark + 0.5), first
    assert repo.online_store_path is not None

    def plain_read(batch: list[int]) -> Any:
        marks = ",".join("?" * len(batch))
        return conn.execute(f"SELECT * FROM features WHERE {spec.join_key} IN ({marks})", batch).fetchall()

    calls = {
        "online": reader.read_dict,
        "sqlite": feast_reader(repo.online_store_path, definitions.project, view, spec.join_key, ids),
        "plain": plain_read,
    }
    figures |= lookups(calls, ids, count, batch)
    if with_redis:
        with redis_server(workdir) as url:
            on_redis_config = FeatureStoreConfig.model_validate(
                base.model_dump() | {"online_store": "redis", "redis_url": url, "state": str(workdir / "redis")}
            )
            on_redis = open_repo(on_redis_config)
            apply(on_redis, str(etl_out))
            done = materialize(on_redis, STAMP, views=[view]).views[0]
            figures["redis_materialize_rows_per_s"] = done.rows / done.seconds
            if with_feast:  # Feast's own call into database 1 of the same server
                second = {"state": str(workdir / "feast-redis"), "redis_url": url.removesuffix("/0") + "/1"}
                figures["redis_feast_materialize_rows_per_s"] = feast_rate(
                    on_redis_config.model_copy(update=second), etl_out, view, done.rows
                )
            calls = {
                "redis_online": OnlineReader(on_redis, spec.entity.name, [view]).read_dict,
                "redis": redis_reader(url, definitions.project, spec.join_key, ids),
            }
            figures |= lookups(calls, ids, count, batch)
    return figures


def show(figures: dict[str, Any], batch: int) -> None:
    """Print the figures as tables, with Feast / peer ratios."""
    console = Console()
    title = f"Materialise {figures['rows']:,} rows of {figures['view']} ({figures['features']} features)"
    mat = Table(title=f"{title}, from a table of {figures['days']} day(s)")
    for column in ("path", "rows/s", "ratio"):
        mat.add_column(column, justify="left" if column == "path" else "right")
    peer_rate = figures["plain_write_rows_per_s"]
    for key, label in (
        ("materialize_rows_per_s", "materialize (Arrow -> Feast's SQLite store)"),
        ("feast_materialize_rows_per_s", "Feast's own materialize (Dask -> SQLite)"),
        ("redis_materialize_rows_per_s", "materialize (Arrow -> Feast's Redis store)"),
        ("redis_feast_materialize_rows_per_s", "Feast's own materialize (Dask -> Redis)"),
        ("plain_write_rows_per_s", "plain SQLite executemany (peer)"),
    ):
        if key in figures:
            mat.add_row(label, f"{figures[key]:,.0f}", f"{figures[key] / peer_rate:.3f}")
    console.print(mat)
    look = Table(title="Online lookup latency (ms); ratio: Feast / raw read of its own store")
    for column in ("entities", "path", "p50", "p99", "p50 ratio", "p99 ratio"):
        look.add_column(column, justify="left" if column == "path" else "right")
    paths = (
        ("online", "Feast, SQLite", "sqlite"),
        ("sqlite", "its SQLite file, direct (peer)", "sqlite"),
        ("plain", "plain SQLite table", "sqlite"),
        ("redis_online", "Feast, Redis", "redis"),
        ("redis", "its Redis keys, HGETALL (peer)", "redis"),
    )
    for size in (1, batch):
        for name, label, peer in paths:
            if f"{name}_p50_ms_{size}" not in figures:
                continue
            p50, p99 = figures[f"{name}_p50_ms_{size}"], figures[f"{name}_p99_ms_{size}"]
            r50, r99 = p50 / figures[f"{peer}_p50_ms_{size}"], p99 / figures[f"{peer}_p99_ms_{size}"]
            look.add_row(str(size), label, f"{p50:.3f}", f"{p99:.3f}", f"{r50:.1f}", f"{r99:.1f}")
    console.print(look)
    console.print(f"apply {figures['apply_s']:.1f} s")


def main() -> None:
    """Parse arguments, run, print a table or JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--view",
        default="user_features",
        choices=["user_features", "item_features", "creator_features"],
        help="The view to fill: user_features (11 features, one a 32-float vector), creator_features (6 scalars).",
    )
    parser.add_argument("--rows", type=int, default=100_000, help="Entities (rows) to materialise.")
    parser.add_argument(
        "--days", type=int, default=1, help="Days of rows per entity in the table (the TTL's are read)."
    )
    parser.add_argument("--feast", action="store_true", help="Also time Feast's own materialize on the same rows.")
    parser.add_argument("--lookups", type=int, default=1000, help="Timed lookups per batch size and path.")
    parser.add_argument("--batch", type=int, default=100, help="Entities per batched lookup.")
    parser.add_argument("--no-redis", action="store_true", help="Skip the Redis runs even if redis-server exists.")
    parser.add_argument("--workdir", type=Path, help="Folder for the tables and stores. Default: a temporary one.")
    parser.add_argument("--json", action="store_true", help="Print one JSON object instead of tables.")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="tinyworld-features-bench-") as scratch:
        workdir = args.workdir or Path(scratch)
        with_redis = not args.no_redis and shutil.which("redis-server") is not None
        figures = run(args.view, args.rows, args.days, args.lookups, args.batch, workdir, with_redis, args.feast)
    figures = {k: round(v, 4) if isinstance(v, float) else v for k, v in figures.items()}
    if args.json:
        print(json.dumps(figures))
    else:
        show(figures, args.batch)


if __name__ == "__main__":
    main()
