"""The feature store's configuration: where its definitions and state live, and which stores it uses.

A :class:`FeatureStoreConfig` is all :func:`components.features.repo.open_repo` needs to render
``feature_store.yaml``; the control plane fills one from an environment's settings, a test or a
benchmark builds one directly. Its defaults describe the embedded local runtime (SQLite online
store, Dask over local Parquet) and are defined here, once. The object store's endpoint and
credentials are not part of it: they come with :class:`components.storage.StorageOptions`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Self
from urllib.parse import urlparse

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from components.etl.session import DEFAULT_MASTER
from components.storage import resolve

OnlineStore = Literal["sqlite", "redis"]
"""Feast online stores TinyWorld renders: SQLite embedded in the state folder, or a Redis server."""

OfflineStore = Literal["file", "spark"]
"""Feast offline stores TinyWorld renders: Dask over local Parquet, or Spark (object stores)."""

SOURCE_ROOT = Path(__file__).resolve().parents[2]
"""The source tree (``components/features`` lives two levels below it): relative ``source_dir`` starts here."""


class FeatureStoreConfig(BaseModel):
    """Where the Feast definitions and Feast's state live, and which online and offline stores serve them."""

    # errors never echo their input: a redis_url may carry a password
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    # the Feast definitions (definitions.py: project, entities, views); code, so a relative path
    # is taken from the source tree, not the working directory
    source_dir: str = "feature_repo"
    # Feast's state: registry.db and, for SQLite, online_store.db; a local folder or an object-store URL
    state: str = "data/features"
    # the Feast project (the registry's namespace); None: the PROJECT that definitions.py declares
    project: str | None = None
    # sqlite embeds the online store in the state folder (one machine); redis serves a cluster
    online_store: OnlineStore = "sqlite"
    # the Redis of the online store (redis://[user:password@]host:port/db, rediss:// for TLS); redis only
    redis_url: str | None = None
    # how training sets and materialisation read the ETL's tables: Dask over local Parquet (file),
    # or Spark, which reads object stores (s3a://)
    offline_store: OfflineStore = "file"
    # the Spark master of the spark offline store: local[*] embeds Spark, k8s:// or spark:// in a cluster
    spark_master: str = DEFAULT_MASTER

    @field_validator("source_dir", "state")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty: give a folder path (or, for state, a URL such as s3://bucket/prefix)")
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str | None) -> str | None:
        if value is not None:
            from components.features.repo import redis_connection_string

            redis_connection_string(value)  # ValueError naming the expected form
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        """Reject store combinations that cannot work, before Feast is started with them."""
        if self.online_store == "redis" and not self.redis_url:
            raise ValueError("online_store is 'redis' but redis_url is not set")
        if self.online_store == "sqlite" and self.redis_url:
            raise ValueError(
                "redis_url is set but online_store is 'sqlite': set online_store to 'redis' to use it, "
                "or drop redis_url"
            )
        if self.online_store == "sqlite" and not resolve(self.state).is_local:
            raise ValueError(
                f"the SQLite online store needs a local state directory, not {self.state!r}: "
                "use a folder for state, or online_store 'redis'"
            )
        return self

    def source_path(self) -> Path:
        """The definitions' folder, absolute (a relative ``source_dir`` is under the source tree)."""
        path = Path(self.source_dir).expanduser()
        return path if path.is_absolute() else SOURCE_ROOT / path


def redact_url(url: str) -> str:
    """``url`` with its password, if any, replaced by ``***`` (for logs and lineage)."""
    parsed = urlparse(url)
    if not parsed.password:
        return url
    user = f"{parsed.username}:" if parsed.username else ":"
    host = parsed.netloc.rsplit("@", 1)[1]
    return parsed._replace(netloc=f"{user}***@{host}").geturl()
