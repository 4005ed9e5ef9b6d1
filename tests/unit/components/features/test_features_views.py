"""Feast objects derived from the ETL's tables: types, features, sources, and the repository's views."""

from __future__ import annotations

from datetime import timedelta

import pytest
from feast import Entity, FileSource, ValueType
from feast.infra.offline_stores.contrib.spark_offline_store.spark_source import SparkSource

from components.etl.tables import BY_NAME, CREATOR_FEATURES, ITEM_FEATURES, USER_FEATURES
from components.features.repo import load_definitions
from components.features.views import NON_FEATURE_COLUMNS, ViewSpec, feast_dtype, spark_uri, table_uri
from components.storage import StorageOptions
from tests.unit.components.features.conftest import FEATURE_REPO

FEATURE_TABLES = [t for t in BY_NAME.values() if t.group == "features"]


def test_every_feature_table_column_has_a_feast_type() -> None:
    """Each column type the ETL's feature tables use maps to a Feast type; an unknown one is refused."""
    for table in FEATURE_TABLES:
        for column in table.columns:
            if column.name not in NON_FEATURE_COLUMNS:
                assert feast_dtype(column.dtype) is not None
    assert str(feast_dtype("array<float>")) == "Array(Float32)"
    assert str(feast_dtype("bigint")) == "Int64"
    with pytest.raises(ValueError, match="no Feast type"):
        feast_dtype("map<string,int>")


def test_the_repository_serves_every_feature_table_with_all_its_columns() -> None:
    """definitions.py declares one view per feature table; a view serves every column but key and bookkeeping."""
    defs = load_definitions(FEATURE_REPO)
    assert defs.project == "tinyworld"
    assert sorted(v.name for v in defs.views) == sorted(t.name for t in FEATURE_TABLES)
    assert [e.name for e in defs.entities] == ["user", "item", "creator"]
    for spec in defs.views:
        expected = [c for c in spec.table.column_names if c not in {spec.join_key, "date", "event_timestamp"}]
        assert spec.feature_names == expected
        assert spec.references()[0] == f"{spec.name}:{expected[0]}"
    assert "creator_id" in defs.view("item_features").feature_names  # the link to creator features


def test_a_spec_must_match_its_table() -> None:
    """An entity keyed differently from the table, or an exclusion the table lacks, is refused."""
    user = Entity(name="user", join_keys=["user_id"], value_type=ValueType.INT64)
    with pytest.raises(ValueError, match="keyed by 'item_id'"):
        ViewSpec(ITEM_FEATURES, user, timedelta(days=1))
    with pytest.raises(KeyError, match="no column"):
        ViewSpec(USER_FEATURES, user, timedelta(days=1), exclude=("nope",))
    narrow = ViewSpec(USER_FEATURES, user, timedelta(days=1), exclude=("content_profile",))
    assert "content_profile" not in narrow.feature_names


@pytest.mark.filterwarnings("ignore:The spark data source API is an experimental feature")
def test_sources_follow_the_offline_store() -> None:
    """The file store gets a FileSource on the table's folder; Spark a parquet SparkSource with s3a://."""
    creator = Entity(name="creator", join_keys=["creator_id"], value_type=ValueType.INT64)
    spec = ViewSpec(CREATOR_FEATURES, creator, timedelta(days=2))
    local = spec.source("/data/etl/", "file")
    assert isinstance(local, FileSource) and local.path == "/data/etl/creator_features"
    minio = spec.source("s3://tinyworld/etl", "file", storage=StorageOptions(s3_endpoint_url="http://minio:9000"))
    assert isinstance(minio, FileSource) and minio.file_options.s3_endpoint_override == "http://minio:9000"
    assert local.timestamp_field == "event_timestamp"
    remote = spec.source("s3://tinyworld/etl", "spark")
    assert isinstance(remote, SparkSource) and remote.path == "s3a://tinyworld/etl/creator_features"
    assert (
        spark_uri("/local/path") == "/local/path"
        and table_uri("s3://b/x/", CREATOR_FEATURES) == "s3://b/x/creator_features"
    )


def test_the_feature_view_carries_the_tables_schema() -> None:
    """Names, types, descriptions, TTL and entity come from the table and the spec."""
    user = Entity(name="user", join_keys=["user_id"], value_type=ValueType.INT64)
    spec = ViewSpec(USER_FEATURES, user, timedelta(days=2))
    view = spec.feature_view(spec.source("/etl", "file"))
    assert view.name == "user_features" and view.ttl == timedelta(days=2) and view.entities == ["user"]
    assert [f.name for f in view.features] == spec.feature_names
    assert view.features[0].description == USER_FEATURES.column("impressions_1d").doc
    assert view.tags == {"etl_table": "user_features", "group": "features"}
