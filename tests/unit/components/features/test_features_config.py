"""FeatureStoreConfig: the local runtime by default, store combinations that cannot work refused clearly."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from components.features.config import SOURCE_ROOT, FeatureStoreConfig, redact_url
from components.features.step import FeaturesParams

REDIS = "redis://redis:6379/0"


def test_the_defaults_describe_the_local_runtime() -> None:
    """SQLite online, Dask offline over local Parquet, embedded Spark, the definitions in the source tree."""
    config = FeatureStoreConfig()
    assert (config.online_store, config.offline_store, config.redis_url) == ("sqlite", "file", None)
    assert config.spark_master == "local[*]" and config.project is None
    assert config.source_path() == SOURCE_ROOT / "feature_repo"
    assert (config.source_path() / "definitions.py").is_file()
    assert FeatureStoreConfig(source_dir="/elsewhere/repo").source_path().as_posix() == "/elsewhere/repo"


def test_it_round_trips_through_json() -> None:
    """A config travels as JSON (a pipeline step's parameters) and comes back equal."""
    config = FeatureStoreConfig(state="s3://b/features", online_store="redis", redis_url=REDIS, offline_store="spark")
    assert FeatureStoreConfig.model_validate_json(config.model_dump_json()) == config
    params = FeaturesParams(etl_out="s3://b/etl", store=config)
    assert FeaturesParams.model_validate_json(params.model_dump_json()) == params


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"online_store": "redis"}, "online_store is 'redis' but redis_url is not set"),
        ({"redis_url": REDIS}, "redis_url is set but online_store is 'sqlite'"),
        ({"state": "s3://bucket/features"}, "SQLite online store needs a local state directory"),
        ({"online_store": "redis", "redis_url": "http://redis:6379"}, "redis_url must look like redis://host:port/db"),
        ({"online_store": "redis", "redis_url": "redis://redis:port/0"}, "redis://host:port/db"),
        ({"online_store": "memcached"}, "'sqlite' or 'redis'"),
        ({"offline_store": "bigquery"}, "'file' or 'spark'"),
        ({"state": " "}, "must not be empty"),
        ({"registry": "x"}, "Extra inputs are not permitted"),
    ],
)
def test_bad_store_combinations_are_refused_with_the_reason(values: dict[str, str], message: str) -> None:
    """Redis without a URL, a URL without Redis, SQLite in an object store, unknown kinds and fields."""
    with pytest.raises(ValidationError, match=message):
        FeatureStoreConfig.model_validate(values)


def test_a_local_file_url_is_a_local_state_and_redis_may_live_anywhere() -> None:
    """file:// is a folder, so SQLite works there; with Redis the registry may live in an object store."""
    assert FeatureStoreConfig(state="file:///tmp/features").online_store == "sqlite"
    assert FeatureStoreConfig(state="s3://b/f", online_store="redis", redis_url=REDIS).state == "s3://b/f"


def test_it_is_frozen() -> None:
    """A config is a value: changing a field in place is refused."""
    config = FeatureStoreConfig()
    with pytest.raises(ValidationError, match="frozen"):
        config.state = "elsewhere"  # type: ignore[misc]


def test_passwords_are_masked_in_messages() -> None:
    """redact_url hides a password, keeps everything else, and leaves URLs without one as they are."""
    assert redact_url("rediss://app:s3cret@r:6380/1") == "rediss://app:***@r:6380/1"
    assert redact_url("redis://:s3cret@r/0") == "redis://:***@r/0"
    assert redact_url(REDIS) == REDIS
    with pytest.raises(ValidationError) as caught:
        FeatureStoreConfig(online_store="redis", redis_url="http://app:s3cret@r")
    assert "s3cret" not in str(caught.value) and "http://app:***@r" in str(caught.value)


def test_step_params_take_naive_ends_as_utc_and_refuse_empty_choices() -> None:
    """end is normalised to UTC; an empty view list or ETL root is an error, not 'everything'."""
    params = FeaturesParams.model_validate({"etl_out": "data/etl", "end": "2026-01-03T00:00:00"})
    assert params.end is not None and params.end.isoformat() == "2026-01-03T00:00:00+00:00"
    assert params.store == FeatureStoreConfig()
    with pytest.raises(ValidationError, match="name at least one view"):
        FeaturesParams(etl_out="data/etl", views=[])
    with pytest.raises(ValidationError, match="must not be empty"):
        FeaturesParams(etl_out="")


def test_the_lineage_never_records_a_redis_password() -> None:
    """The step's parameters go into its lineage with the Redis password masked, everything else as given."""
    from components.features.step import _public

    store = FeatureStoreConfig(online_store="redis", redis_url="redis://app:s3cret@r:6379/0")
    recorded = _public(FeaturesParams(etl_out="data/etl", store=store))
    assert recorded["store"]["redis_url"] == "redis://app:***@r:6379/0" and recorded["etl_out"] == "data/etl"
    assert "s3cret" not in str(recorded)
