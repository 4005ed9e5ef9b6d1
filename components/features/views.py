"""Feast objects derived from the ETL's table definitions: one feature view per feature table.

A :class:`ViewSpec` (declared in ``feature_repo/definitions.py``) names a table of
:mod:`components.etl.tables`, the entity it is keyed by and how long a row stays valid. Everything
else (feature names, types, descriptions, the source's path and timestamp column) is derived here
from the table, so a column added to the ETL appears in the feature store without a second edit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from components.etl.tables import Column, Table
from components.features.config import OfflineStore
from components.storage import StorageOptions

TIMESTAMP_COLUMN = "event_timestamp"
"""The column every feature table carries: when its row became known (midnight closing ``date``)."""

NON_FEATURE_COLUMNS = frozenset({"date", TIMESTAMP_COLUMN})
"""Columns of a feature table that are bookkeeping, not features (the key is excluded separately)."""

_FEAST_TYPES: dict[str, str] = {
    "bigint": "Int64",
    "int": "Int32",
    "double": "Float64",
    "float": "Float32",
    "string": "String",
    "boolean": "Bool",
    "timestamp": "UnixTimestamp",
}


def feast_dtype(dtype: str) -> Any:
    """The Feast type of a Spark SQL type name from :mod:`components.etl.tables`; ValueError if none."""
    from feast import types

    from components.features.feast_import import feast  # noqa: F401  (first: see that module)

    if dtype in _FEAST_TYPES:
        return getattr(types, _FEAST_TYPES[dtype])
    if dtype.startswith("array<") and dtype.endswith(">"):
        inner = dtype[len("array<") : -1]
        if inner in _FEAST_TYPES:
            return types.Array(getattr(types, _FEAST_TYPES[inner]))
    raise ValueError(f"no Feast type for the ETL column type {dtype!r}")


def spark_uri(uri: str) -> str:
    """The URI as Spark's hadoop filesystems name it (``s3://`` becomes ``s3a://``)."""
    return "s3a://" + uri[len("s3://") :] if uri.startswith("s3://") else uri


def table_uri(etl_out: str, table: Table) -> str:
    """Where the ETL writes ``table`` under its output root ``etl_out`` (``<etl_out>/<name>``)."""
    return f"{etl_out.rstrip('/')}/{table.name}"


@dataclass(frozen=True)
class ViewSpec:
    """One feature view: the ETL table it reads, the entity that keys it, and its freshness.

    ``entity`` is a ``feast.Entity`` whose single join key is the table's first key column.
    ``ttl`` bounds how old a row may be and still be joined to a label or served: the ETL writes a
    fresh row per entity per day, so a day (plus slack for a late run) is the natural bound.
    ``exclude`` lists columns of the table that are not to be served as features.
    """

    table: Table
    entity: Any
    ttl: timedelta
    exclude: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        """Reject an entity that does not key the table, or exclusions the table does not have."""
        if self.join_key != self.table.key[0]:
            raise ValueError(
                f"entity {self.entity.name!r} joins on {self.join_key!r}, "
                f"but table {self.table.name} is keyed by {self.table.key[0]!r}"
            )
        for name in self.exclude:
            self.table.column(name)

    @property
    def name(self) -> str:
        """The feature view's name: the table's name."""
        return self.table.name

    @property
    def join_key(self) -> str:
        """The entity's join key (e.g. ``user_id``)."""
        return str(self.entity.join_key)

    @property
    def features(self) -> list[Column]:
        """The table's columns served as features, in table order."""
        skip = NON_FEATURE_COLUMNS | {self.join_key} | set(self.exclude)
        return [c for c in self.table.columns if c.name not in skip]

    @property
    def feature_names(self) -> list[str]:
        """The names of :attr:`features`."""
        return [c.name for c in self.features]

    def references(self) -> list[str]:
        """Feast feature references for every feature of the view (``view:feature``)."""
        return [f"{self.name}:{name}" for name in self.feature_names]

    def source(self, etl_out: str, offline: OfflineStore, *, storage: StorageOptions | None = None) -> Any:
        """The batch source over ``<etl_out>/<table>``: a FileSource (Dask) or a SparkSource.

        ``storage`` gives a FileSource over ``s3://`` its endpoint (Spark takes it from its session's conf).
        """
        uri = table_uri(etl_out, self.table)
        description = f"ETL table {self.table.name}: {self.table.doc}"
        if offline == "spark":
            from feast.infra.offline_stores.contrib.spark_offline_store.spark_source import SparkSource

            from components.features.feast_import import feast  # noqa: F401  (first: see that module)

            return SparkSource(
                name=self.name,
                path=spark_uri(uri),
                file_format="parquet",
                timestamp_field=TIMESTAMP_COLUMN,
                description=description,
            )
        from feast import FileSource

        from components.features.feast_import import feast  # noqa: F401  (first: see that module)

        return FileSource(
            name=self.name,
            path=uri,
            timestamp_field=TIMESTAMP_COLUMN,
            s3_endpoint_override=(storage or StorageOptions()).s3_endpoint_url,
            description=description,
        )

    def feature_view(self, source: Any) -> Any:
        """The Feast feature view over ``source``, its schema taken from the table's columns."""
        from feast import FeatureView, Field

        from components.features.feast_import import feast  # noqa: F401  (first: see that module)

        key = self.table.column(self.join_key)
        schema = [Field(name=key.name, dtype=feast_dtype(key.dtype), description=key.doc)]
        schema += [Field(name=c.name, dtype=feast_dtype(c.dtype), description=c.doc) for c in self.features]
        return FeatureView(
            name=self.name,
            entities=[self.entity],
            ttl=self.ttl,
            schema=schema,
            source=source,
            online=True,
            description=self.table.doc,
            tags={"etl_table": self.table.name, "group": self.table.group},
        )
