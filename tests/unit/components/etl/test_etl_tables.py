"""The table catalogue: one definition per table, consistent with itself."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from components.etl.tables import BY_NAME, TABLES, TEXT_DIM, arrow_schema


def test_names_are_unique_and_keys_are_columns() -> None:
    """Table names are unique; column names are unique per table; keys and plain columns name columns."""
    assert len(BY_NAME) == len(TABLES)
    for table in TABLES:
        names = table.column_names
        assert len(set(names)) == len(names), table.name
        assert set(table.key) <= set(names), table.name
        assert set(table.plain) <= set(names), table.name
        assert all(c.doc for c in table.columns), table.name


def test_feature_tables_carry_event_timestamp() -> None:
    """Every feature table has the feature store's event_timestamp column."""
    for table in TABLES:
        if table.group == "features":
            assert table.column("event_timestamp").dtype == "timestamp"


def test_arrow_schemas_and_ddl() -> None:
    """Every declared type maps to Arrow; DDL lists every column."""
    for table in TABLES:
        schema = arrow_schema(table)
        assert schema.names == table.column_names
        assert table.ddl().count("`") == 2 * len(table.columns)
    assert arrow_schema(BY_NAME["item_features"]).field("text_vec").type == pa.list_(pa.float32())
    assert TEXT_DIM == 32


def test_unknown_column_raises() -> None:
    """Asking for a column a table lacks is a KeyError."""
    with pytest.raises(KeyError):
        BY_NAME["dau"].column("nope")


def test_every_table_and_column_is_documented() -> None:
    """docs/data.md has a section per table and a row per column (the doc cannot drift)."""
    doc = (Path(__file__).resolve().parents[4] / "docs" / "data.md").read_text()
    for table in TABLES:
        assert f"### `{table.name}`" in doc, table.name
        section = doc.split(f"### `{table.name}`", 1)[1].split("\n### ", 1)[0]
        for column in table.columns:
            assert f"| `{column.name}` | {column.dtype}" in section, f"{table.name}.{column.name}"
