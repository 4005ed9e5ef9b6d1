"""The platform on an object store: every root an s3:// URL on moto's S3 server (127.0.0.1).

One pass through the daily flow with nothing on local disk but temporary staging: SimNet writes
its lake to s3://, the Spark ETL reads it and writes its tables to s3:// (staged through a local
folder, since this JVM has no S3A filesystem), validation reads the events and the tables from
s3://, split and training write to s3://, the registry on s3:// registers the model and points
the champion alias at it, and serving loads the champion from that registry.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time, timedelta

import pytest

from components.storage import resolve
from simnet.protocol import lake_day_of
from tests.integration.s3 import S3Bucket

pytestmark = pytest.mark.slow

DAY1, DAY2 = date(2026, 1, 1), date(2026, 1, 2)
"""SimNet's first two days."""

NOW = datetime.combine(DAY2 + timedelta(days=1), time(1), tzinfo=UTC)
"""A clock just after the simulated days."""

TABLES = ("dau", "interactions", "item_features", "item_popularity")
"""The ETL tables this flow needs: a metric, the training table, the catalogue and the fallback."""


def test_the_daily_flow_runs_on_s3(s3_bucket: S3Bucket, caplog: pytest.LogCaptureFixture) -> None:
    """Lake, ETL, validation, split, training, registry and serving all work on s3:// roots."""
    pytest.importorskip("pyspark")
    from components.etl.job import EtlOptions, run_etl
    from components.etl.session import build_session
    from components.registry.registry import CHAMPION, DEFAULT_MODEL_NAME, Registry
    from components.serving.config import ServingConfig
    from components.serving.recommender import Recommender
    from components.split.run import read_split_summary, split_file
    from components.split.splitters import SplitConfig
    from components.train.artifact import load_model
    from components.train.config import TrainConfig
    from components.train.run import run_training
    from components.validate.run import validate_events, validate_tables
    from simnet.config import WorldConfig
    from simnet.runner import RunSpec, simulate

    storage = s3_bucket.storage
    lake, etl, split, model, registry_root = (
        s3_bucket.url(part) for part in ("lake", "etl", "split", "model", "registry")
    )

    # SimNet writes two days of a small world straight into the bucket
    lake_fs, lake_path = resolve(lake, storage).arrow()
    world = WorldConfig.load(None).with_users(300)
    simulate(RunSpec(world, "popularity", 2, 7), progress=False, lake=lake_path, lake_filesystem=lake_fs)
    objects, _ = resolve(lake, storage).fsspec()
    days = {lake_day_of(path) for path in objects.ls(f"{s3_bucket.name}/lake", detail=False)}
    assert days - {None} == {DAY1, DAY2}

    # the ETL reads the lake from s3 and writes its tables there
    spark = build_session("local[2]", app_name="tinyworld-object-store-tests", driver_memory="2g", storage=storage)
    # not stopped: other modules' tests may share this session (getOrCreate); the JVM ends with pytest
    with caplog.at_level(logging.INFO, logger="components.etl.staging"):
        etl_result = run_etl(spark, lake, DAY1, DAY2, etl, EtlOptions(tables=TABLES), storage=storage)
    assert etl_result.out == etl
    assert etl_result.events > 0 and all(etl_result.rows[t] > 0 for t in TABLES), etl_result.rows
    assert any("staged" in r.message for r in caplog.records) and any("uploaded" in r.message for r in caplog.records)
    assert objects.exists(f"{s3_bucket.name}/etl/interactions")

    # validation reads the events window and the tables from s3
    events = validate_events(lake, DAY1, DAY2, NOW, storage=storage)
    assert events.success, [o for o in events.outcomes if o.status == "failed"]
    assert events.rows > 0 and events.source.startswith(lake)
    tables = validate_tables(etl, TABLES, DAY2, storage=storage)
    failed = {r.name: [(o.column, o.expectation, o.observed) for o in r.failed] for r in tables if not r.success}
    assert not failed
    assert {r.name: r.rows for r in tables} == {t: etl_result.rows[t] for t in TABLES}

    # split and training write to s3
    summary = split_file(f"{etl}/interactions", split, SplitConfig(by="temporal"), storage=storage)
    assert summary.rows == etl_result.rows["interactions"] and summary.train_rows > 0 and summary.test_rows > 0
    assert read_split_summary(f"{split}/test.parquet", storage=storage) == summary.model_dump(mode="json")
    trained = run_training(
        f"{split}/train.parquet",
        model,
        items=f"{etl}/item_features",
        config=TrainConfig(epochs=1, dim=8, hidden=16, batch_size=256),
        storage=storage,
    )
    assert trained["out"] == model and sum(trained["rows"].values()) > 0
    artifact = load_model(model, storage=storage)
    assert len(artifact.item_ids) > 0

    # the registry on s3 registers the model and points the champion at it
    registry = Registry(registry_root, storage)
    record = registry.register(model, DEFAULT_MODEL_NAME)
    registry.set_alias(DEFAULT_MODEL_NAME, CHAMPION, record.version, reason="the first model")
    assert record.version == 1 and record.path == f"{registry_root}/{DEFAULT_MODEL_NAME}/versions/1"
    assert Registry(registry_root, storage).resolve(DEFAULT_MODEL_NAME, CHAMPION) == 1

    # serving loads the champion from that registry, with the catalogue and popularity from the ETL
    config = ServingConfig(registry_root=registry_root, etl_root=etl, storage=storage, reload_interval_s=0)
    recommender = Recommender.from_config(config)
    served = recommender.models.get(CHAMPION)
    assert served is not None and served.number == 1
    assert len(served.artifact.item_ids) == len(artifact.item_ids)
    assert len(recommender.catalogue) > 0
    [slate] = recommender.recommend([int(artifact.user_ids[0])], k=5)
    assert not slate.fallback and len(slate.item_ids) == 5
