"""Materialisation writes exactly what Feast's own ``FeatureStore.materialize`` writes, and records the same intervals.

Two repositories over one ETL output: one materialised by :func:`components.features.materialize.materialize`,
the other by Feast over the same intervals. Their online stores must hold the same bytes (SQLite rows,
Redis hashes), serve the same values, and their registries the same materialisation intervals.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pyarrow as pa
import pytest

from components.etl.tables import USER_FEATURES
from components.features.apply import apply
from components.features.config import FeatureStoreConfig
from components.features.local_redis import redis_server
from components.features.materialize import MaterializeResult, materialize
from components.features.online import OnlineReader
from components.features.repo import FeatureRepo, open_repo, quiet
from components.features.synthetic import marker, synthetic_table, write_table
from tests.integration.components.features.conftest import CREATORS, FEATURE_REPO, ITEMS, STAMPS, USERS, write_etl

DAY4 = STAMPS[-1] + timedelta(days=1)
LAPSED = 5  # a user with rows on days 1 and 2 only: served day 2's row
SPARSE = 6  # a user whose day-3 row has null features
UNKNOWN = 999  # never in any table


def write_users(root: Path, stamps: tuple[datetime, ...]) -> None:
    """user_features for ``stamps`` plus the lapsed and the sparse user, in two parts with nullable columns."""
    schema = pa.schema([field.with_nullable(True) for field in synthetic_table(USER_FEATURES, [1], STAMPS).schema])
    users = synthetic_table(USER_FEATURES, USERS, stamps).cast(schema)
    lapsed = synthetic_table(USER_FEATURES, [LAPSED], STAMPS[:2]).cast(schema)
    sparse = synthetic_table(USER_FEATURES, [SPARSE], STAMPS[2:]).cast(schema)
    for name in ("clicks_7d", "ctr_7d", "content_profile"):
        column = sparse.schema.get_field_index(name)
        sparse = sparse.set_column(column, sparse.schema.field(column), pa.nulls(1, sparse.schema.field(column).type))
    shutil.rmtree(root / USER_FEATURES.name, ignore_errors=True)
    write_table(root, USER_FEATURES, pa.concat_tables([sparse, users]), "part-00000")
    write_table(root, USER_FEATURES, lapsed, "part-00001")


def feast_materialize(reference: FeatureRepo, done: MaterializeResult) -> None:
    """Feast's own materialisation of the views and intervals ``done`` ran."""
    for view in done.views:
        assert view.start is not None and not view.skipped
        with quiet():
            reference.store.materialize(start_date=view.start, end_date=view.end, feature_views=[view.name])


def intervals(config: FeatureStoreConfig) -> dict[str, list[tuple[datetime, datetime]]]:
    """Each view's materialisation intervals, read from the registry on disk by a new store."""
    return {fv.name: fv.materialization_intervals for fv in open_repo(config).store.list_feature_views()}


def served(repo: FeatureRepo) -> dict[str, dict[str, list[Any]]]:
    """What get_online_features returns for every entity of the tables and one unknown id."""
    ids = {"user": [*USERS, LAPSED, SPARSE, UNKNOWN], "item": [*ITEMS, UNKNOWN], "creator": [*CREATORS, UNKNOWN]}
    return {entity: OnlineReader(repo, entity).read_dict(keys) for entity, keys in ids.items()}


def sqlite_rows(repo: FeatureRepo) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every view's table in the SQLite online store, as Feast stored it."""
    assert repo.online_store_path is not None
    with sqlite3.connect(repo.online_store_path) as conn:
        return {
            spec.name: conn.execute(
                f'SELECT * FROM "{repo.definitions.project}_{spec.name}" ORDER BY entity_key, feature_name'
            ).fetchall()
            for spec in repo.definitions.views
        }


def test_sqlite_rows_values_and_intervals_match_feasts_own_materialisation(tmp_path: Path) -> None:
    """A first run and an incremental one leave the same online rows and registry intervals as Feast's."""
    etl = write_etl(tmp_path / "etl")
    write_users(etl, STAMPS)
    ours = FeatureStoreConfig(source_dir=str(FEATURE_REPO), state=str(tmp_path / "ours"))
    theirs = ours.model_copy(update={"state": str(tmp_path / "theirs")})
    repo, reference = open_repo(ours), open_repo(theirs)
    apply(repo, str(etl))
    apply(reference, str(etl))

    first = materialize(repo)
    assert [v.rows for v in first.views] == [len(USERS) + 2, len(ITEMS), len(CREATORS)]
    feast_materialize(reference, first)
    assert sqlite_rows(repo) == sqlite_rows(reference)
    values = served(repo)
    assert values == served(reference)
    users = values["user"]
    assert users["user_features__clicks_7d"] == [*(marker(u, 2) for u in USERS), marker(LAPSED, 1), None, None]
    assert users["user_features__impressions_7d"][-2:] == [marker(SPARSE, 0), None]
    assert len(users["user_features__content_profile"][0]) == 32
    window = (STAMPS[-1] - timedelta(days=2), STAMPS[-1])
    assert intervals(ours) == intervals(theirs) == {v.name: [window] for v in repo.definitions.views}

    write_etl(etl, (*STAMPS, DAY4))
    write_users(etl, (DAY4,))  # day 4: only the regular users, and now with only day 4 in its table
    repo, reference = open_repo(ours), open_repo(theirs)  # a new process: state comes from the registry
    later = materialize(repo)
    assert [(v.start, v.end, v.rows) for v in later.views] == [
        (STAMPS[-1], DAY4, len(USERS) + 1),  # the sparse user's day-3 row is in [day 3, day 4] again
        (STAMPS[-1], DAY4, len(ITEMS)),
        (STAMPS[-1], DAY4, len(CREATORS)),
    ]
    feast_materialize(reference, later)
    assert sqlite_rows(repo) == sqlite_rows(reference)
    values = served(repo)
    assert values == served(reference)
    assert values["user"]["user_features__clicks_7d"][: len(USERS) + 1] == [
        *(marker(u, 0) for u in USERS),
        marker(LAPSED, 1),
    ]
    assert intervals(ours) == intervals(theirs) == {v.name: [window, (STAMPS[-1], DAY4)] for v in later.views}
    assert all(v.skipped for v in materialize(repo).views)


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    """A throwaway redis-server; its URL (database 0)."""
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    with redis_server(tmp_path) as url:
        yield url


def redis_hashes(url: str) -> dict[bytes, dict[bytes, bytes]]:
    """Every hash in the Redis database at ``url``: Feast's entity keys and their fields."""
    import redis

    client = redis.Redis.from_url(url)
    keys = cast(list[bytes], client.keys())
    return {key: cast(dict[bytes, bytes], client.hgetall(key)) for key in keys}  # type: ignore[arg-type]  # bytes keys work; the stubs say str


def test_redis_hashes_match_feasts_own_materialisation(redis_url: str, tmp_path: Path) -> None:
    """On Redis (the cluster's store) the hashes written equal those of Feast's own run, database for database."""
    etl = write_etl(tmp_path / "etl")
    write_users(etl, STAMPS)
    base = FeatureStoreConfig(source_dir=str(FEATURE_REPO), state=str(tmp_path / "ours"))
    ours = base.model_copy(update={"online_store": "redis", "redis_url": redis_url})
    theirs = ours.model_copy(update={"state": str(tmp_path / "theirs"), "redis_url": redis_url[:-1] + "1"})
    repo, reference = open_repo(ours), open_repo(theirs)
    apply(repo, str(etl))
    apply(reference, str(etl))
    done = materialize(repo)
    feast_materialize(reference, done)
    hashes = redis_hashes(redis_url)
    assert len(hashes) == len(USERS) + 2 + len(ITEMS) + len(CREATORS)
    assert hashes == redis_hashes(theirs.redis_url or "")
    assert served(repo) == served(reference)
    assert served(repo)["item"]["item_features__popularity"][:-1] == [marker(i, 2) + 0.5 for i in ITEMS]
    assert intervals(ours) == intervals(theirs) == {v.name: [(v.start, v.end)] for v in done.views}
