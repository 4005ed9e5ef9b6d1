"""Checks of the ETL's feature tables before Feast reads them, and the stats read with Arrow."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from components.etl.tables import USER_FEATURES
from components.features.config import FeatureStoreConfig
from components.features.errors import MissingEtlOutputError, NotAppliedError
from components.features.etl_output import check_tables, latest_rows, latest_timestamp
from components.features.materialize import materialize
from components.features.repo import load_definitions, open_repo
from components.features.synthetic import STAMP_BASE, marker, stamp_of, synthetic_table, write_table
from components.features.training import training_set
from tests.unit.components.features.conftest import FEATURE_REPO, STAMPS

VIEWS = load_definitions(FEATURE_REPO).views


def test_complete_tables_pass_with_their_row_counts(etl_out: Path) -> None:
    """Every table present with its columns: rows per table come back; Spark's _SUCCESS is ignored."""
    (etl_out / "user_features" / "_SUCCESS").write_text("", encoding="utf-8")
    assert check_tables(str(etl_out), VIEWS) == {"user_features": 6, "item_features": 4, "creator_features": 4}


def test_a_missing_output_or_table_names_the_command_that_writes_it(etl_out: Path, tmp_path: Path) -> None:
    """No output folder, no table folder, or an empty one: the error names the path and `tinyworld etl`."""
    with pytest.raises(MissingEtlOutputError, match="does not exist.*tinyworld etl"):
        check_tables(str(tmp_path / "nowhere"), VIEWS)
    shutil.rmtree(etl_out / "item_features")
    with pytest.raises(MissingEtlOutputError, match=r"no ETL table at .*item_features.*tinyworld etl"):
        check_tables(str(etl_out), VIEWS)
    (etl_out / "item_features").mkdir()
    with pytest.raises(MissingEtlOutputError, match="holds no Parquet files"):
        check_tables(str(etl_out), VIEWS)


def test_a_table_without_a_served_column_or_with_a_wrong_type_is_refused(etl_out: Path) -> None:
    """A column dropped or retyped since tables.py says otherwise is reported with the table's path."""
    path = next((etl_out / "user_features").glob("*.parquet"))
    data = pq.read_table(path)
    pq.write_table(data.drop_columns(["ctr_7d"]), path)
    with pytest.raises(MissingEtlOutputError, match=r"lacks columns \['ctr_7d'\]"):
        check_tables(str(etl_out), VIEWS)
    pq.write_table(
        data.set_column(data.schema.get_field_index("ctr_7d"), "ctr_7d", data["ctr_7d"].cast("string")), path
    )
    with pytest.raises(MissingEtlOutputError, match="column ctr_7d .* is string"):
        check_tables(str(etl_out), VIEWS)


def test_stats_read_the_latest_time(etl_out: Path) -> None:
    """latest_timestamp is the last stamp, read from a folder or a file:// URL."""
    uri = str(etl_out / "user_features")
    assert latest_timestamp(uri) == STAMPS[-1]
    assert latest_timestamp(f"file://{uri}/") == STAMPS[-1]  # the storage resolver reads URLs as well


def test_latest_rows_keep_each_keys_last_row_in_the_window(tmp_path: Path) -> None:
    """One row per key: its latest in [start, end] (both inclusive) whatever file holds it; none outside."""
    day = timedelta(days=1)
    stamps = (STAMPS[0] - day, *STAMPS, STAMPS[-1] + day)  # 4 stamps: the window is the middle two
    root = tmp_path / "etl"
    write_table(root, USER_FEATURES, synthetic_table(USER_FEATURES, [1, 2], stamps[2:]), "part-00000")  # read first
    write_table(root, USER_FEATURES, synthetic_table(USER_FEATURES, [1, 2, 3], stamps[:2]), "part-00001")
    write_table(root, USER_FEATURES, synthetic_table(USER_FEATURES, [4], stamps[:1]), "part-00002")
    uri = str(root / "user_features")
    rows = latest_rows(uri, "user_id", ["clicks_7d", "content_profile"], STAMPS[0], STAMPS[-1])
    assert rows.column_names == ["user_id", "event_timestamp", "clicks_7d", "content_profile"]
    assert rows.column("user_id").to_pylist() == [1, 2, 3]  # 4 has no row in the window
    assert [stamp_of(v) for v in rows.column("clicks_7d").to_pylist()] == [0, 0, 1]  # the index in each part
    assert rows.column("event_timestamp").to_pylist() == [STAMPS[-1], STAMPS[-1], STAMPS[0]]
    assert rows.column("content_profile")[0].as_py()[0] == marker(1, 0)
    assert all(chunks == 1 for chunks in (c.num_chunks for c in rows.columns))
    empty = latest_rows(uri, "user_id", ["clicks_7d"], stamps[-1] + day, stamps[-1] + 2 * day)
    assert empty.num_rows == 0 and empty.schema.field("clicks_7d").type == pa.int64()


def test_latest_rows_of_a_stamp_shared_by_two_rows_is_the_one_read_last(tmp_path: Path) -> None:
    """Two rows of one key at its latest stamp: the later one in read order is kept."""
    root = tmp_path / "etl"
    first = synthetic_table(USER_FEATURES, [1], STAMPS[1:])
    column = first.schema.get_field_index("clicks_7d")
    second = first.set_column(column, first.schema.field(column), pa.array([7], pa.int64()))
    write_table(root, USER_FEATURES, pa.concat_tables([first, second]))
    rows = latest_rows(str(root / "user_features"), "user_id", ["clicks_7d"], STAMPS[0], STAMPS[-1])
    assert rows.column("clicks_7d").to_pylist() == [7]


def test_synthetic_values_encode_entity_and_stamp() -> None:
    """Every numeric value is entity * 1000 + stamp; dates are the day before the stamp; the schema is tables.py's."""
    data = synthetic_table(USER_FEATURES, [7, 8], STAMPS).to_pylist()
    assert [(r["user_id"], stamp_of(r["clicks_7d"])) for r in data] == [(7, 0), (8, 0), (7, 1), (8, 1)]
    assert data[2]["ctr_7d"] == marker(7, 1) + 0.5 and data[2]["date"] == (STAMPS[1] - timedelta(days=1)).date()
    assert marker(3, 4) == 3 * STAMP_BASE + 4


def test_reading_before_apply_says_to_apply(tmp_path: Path) -> None:
    """Materialising or joining before `apply` raises NotAppliedError naming the command."""
    import pandas as pd

    repo = open_repo(FeatureStoreConfig(source_dir=str(FEATURE_REPO), state=str(tmp_path / "features")))
    with pytest.raises(NotAppliedError, match="tinyworld features apply"):
        materialize(repo)
    frame = pd.DataFrame({"user_id": [1], "event_timestamp": [STAMPS[0]]})
    with pytest.raises(NotAppliedError, match="no feature registry"):
        training_set(repo, frame)
