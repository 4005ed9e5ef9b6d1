"""The table suites: valid tables pass; a rate above 1, a null key, a repeated key, drift fail."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pyarrow as pa
import pytest

from components.etl.tables import BY_NAME, TABLES
from components.validate.read import ValidationInputError
from components.validate.results import Outcome, SuiteResult
from components.validate.run import remember_counts, validate_tables
from components.validate.state import RowCountState
from tests.unit.components.validate.builders import END, etl_table, write_etl


def outcome(result: SuiteResult, expectation: str, column: str | None) -> Outcome:
    """The one outcome of ``expectation`` on ``column``."""
    found = [o for o in result.outcomes if o.expectation == expectation and o.column == column]
    assert len(found) == 1, [(o.expectation, o.column) for o in result.outcomes]
    return found[0]


def by_name(results: list[SuiteResult]) -> dict[str, SuiteResult]:
    """Results keyed by suite (table) name."""
    return {r.name: r for r in results}


@pytest.fixture(scope="module")
def valid(etl_out: Path) -> dict[str, SuiteResult]:
    """Every valid table, validated once with the window's end for freshness."""
    return by_name(validate_tables(str(etl_out), end=END))


def test_every_table_passes(valid: dict[str, SuiteResult]) -> None:
    """Tables built to tables.py's schemas pass; only the bounds without a previous count skip."""
    assert list(valid) == [t.name for t in TABLES]
    for name, result in valid.items():
        assert result.success, (name, [o for o in result.outcomes if o.status == "failed"])
        skipped = {(o.expectation, o.column) for o in result.skipped}
        expected: set[tuple[str, str | None]]
        if name == "retention":  # no date or timestamp: whole-table count, no freshness
            expected = {
                ("expect_table_row_count_to_be_between", None),
                ("expect_column_max_to_be_between", None),
            }
        else:  # the volume bound is on the rows of the window's last day
            expected = {("expect_table_row_count_to_be_between", f"day {END}")}
        assert skipped == expected, (name, skipped)


def test_every_column_is_type_checked(valid: dict[str, SuiteResult]) -> None:
    """Each column of each table gets a type check against its Arrow type."""
    for table in TABLES:
        checked = {
            o.column for o in valid[table.name].outcomes if o.expectation == "expect_column_values_to_be_of_type"
        }
        assert checked == set(table.column_names)


def test_rate_above_one_fails(tmp_path: Path) -> None:
    """A ctr of 1.5 in dau fails its [0, 1] range and names the day it occurred on."""
    dau = etl_table(BY_NAME["dau"], ctr=lambda v: [1.5, *v[1:]])
    root = write_etl(tmp_path / "out", {"dau": dau})
    (result,) = validate_tables(str(root), ["dau"], END)
    failed = outcome(result, "expect_column_values_to_be_between", "ctr")
    assert not failed.success and failed.unexpected_count == 1
    assert failed.unexpected_sample == [{"date": END.isoformat(), "ctr": 1.5}]
    assert [o.column for o in result.failed] == ["ctr"]


def test_null_key_fails(tmp_path: Path) -> None:
    """A null item_id in item_popularity's key fails its not-null expectation."""
    popularity = etl_table(BY_NAME["item_popularity"], item_id=lambda v: [None, *v[1:]])
    root = write_etl(tmp_path / "out", {"item_popularity": popularity})
    (result,) = validate_tables(str(root), ["item_popularity"], END)
    failed = outcome(result, "expect_column_values_to_not_be_null", "item_id")
    assert not failed.success and failed.note == "a key column"
    assert not result.success


def test_repeated_compound_key_fails(tmp_path: Path) -> None:
    """Two rows with the same (user_id, item_id) fail the compound key check, naming the key."""
    engagement = etl_table(
        BY_NAME["user_item_engagement"], user_id=lambda v: [0] * len(v), item_id=lambda v: [7] * len(v)
    )
    root = write_etl(tmp_path / "out", {"user_item_engagement": engagement})
    (result,) = validate_tables(str(root), ["user_item_engagement"], END)
    failed = outcome(result, "expect_compound_columns_to_be_unique", "user_id, item_id")
    assert not failed.success
    assert failed.unexpected_sample == [{"user_id": 0, "item_id": 7, "rows": 5}]


def test_nan_in_a_double_fails_not_null(tmp_path: Path) -> None:
    """NaN (a 0/0 the ETL should have turned into 0) counts as missing."""
    exposure = etl_table(BY_NAME["exposure"], coverage=lambda v: [float("nan"), *v[1:]])
    (result,) = validate_tables(str(write_etl(tmp_path / "out", {"exposure": exposure})), ["exposure"], END)
    assert not outcome(result, "expect_column_values_to_not_be_null", "coverage").success


def test_wrong_vector_length_fails(tmp_path: Path) -> None:
    """An item's text_vec with 31 values fails the fixed-length check on len(text_vec)."""
    features = etl_table(BY_NAME["item_features"], text_vec=lambda v: [v[0][:-1], *v[1:]])
    (result,) = validate_tables(str(write_etl(tmp_path / "out", {"item_features": features})), ["item_features"], END)
    failed = outcome(result, "expect_column_values_to_be_between", "len(text_vec)")
    assert not failed.success
    assert failed.unexpected_sample[0]["len(text_vec)"] == 31


def test_type_drift_and_missing_column_fail(tmp_path: Path) -> None:
    """dau with dau as int32 and without wau fails the type and column-set checks."""
    dau = etl_table(BY_NAME["dau"])
    dau = dau.set_column(dau.schema.get_field_index("dau"), "dau", dau["dau"].cast(pa.int32())).drop(["wau"])
    (result,) = validate_tables(str(write_etl(tmp_path / "out", {"dau": dau})), ["dau"], END)
    assert not outcome(result, "expect_column_values_to_be_of_type", "dau").success
    columns = outcome(result, "expect_table_columns_to_match_set", None)
    assert not columns.success and "wau missing in 1 of 1 files" in columns.observed
    assert outcome(result, "expect_column_values_to_not_be_null", "wau").skipped


def test_row_count_bound_against_previous_run(etl_out: Path) -> None:
    """Dated tables: the last day's rows against the previous run's last day, within x/÷10; others: the whole table."""
    state = RowCountState(tables={"dau@day": 20, "exposure@day": 1, "retention": 60})
    results = by_name(validate_tables(str(etl_out), ["dau", "exposure", "retention"], END, state=state))
    assert not outcome(results["dau"], "expect_table_row_count_to_be_between", f"day {END}").success  # 1 vs 20
    assert outcome(results["exposure"], "expect_table_row_count_to_be_between", f"day {END}").success  # 1 vs 1
    assert not outcome(results["retention"], "expect_table_row_count_to_be_between", None).success  # 5 vs 60


def test_a_growing_window_is_not_drift(etl_out: Path) -> None:
    """A window that grew (a young lake) leaves the last day's volume alone: the bound passes."""
    state = RowCountState(tables={"dau": 2, "dau@day": 1})  # the previous run saw 2 days, this one 5
    [result] = validate_tables(str(etl_out), ["dau"], END, state=state)
    assert result.success and result.row_counts == {"rows": 5, "day": 1}
    assert remember_counts(RowCountState(), [result]).tables == {"dau": 5, "dau@day": 1}


def test_without_an_end_the_whole_table_is_bounded(etl_out: Path) -> None:
    """With no window end there is no last day: the whole table's count is compared."""
    [result] = validate_tables(str(etl_out), ["dau"], state=RowCountState(tables={"dau": 60}))
    assert not outcome(result, "expect_table_row_count_to_be_between", None).success


def test_stale_tables_fail_freshness(etl_out: Path) -> None:
    """Tables whose newest day is two days before the window's end fail freshness."""
    results = by_name(validate_tables(str(etl_out), ["dau", "interactions"], END + timedelta(days=2)))
    for result in results.values():
        assert not outcome(result, "expect_column_max_to_be_between", result.outcomes[-1].column).success


def test_missing_table_fails_its_suite(tmp_path: Path) -> None:
    """A table folder without Parquet files fails with a note naming the folder."""
    root = write_etl(tmp_path / "out")
    for part in (root / "exposure").iterdir():
        part.unlink()
    (result,) = validate_tables(str(root), ["exposure"], END)
    assert not result.success and "no Parquet files" in result.outcomes[0].note


def test_unknown_table_and_missing_output_are_input_errors(tmp_path: Path, etl_out: Path) -> None:
    """Naming a table tables.py does not define, or a missing folder, raises ValidationInputError."""
    with pytest.raises(ValidationInputError, match="unknown table"):
        validate_tables(str(etl_out), ["nope"])
    with pytest.raises(ValidationInputError, match="does not exist"):
        validate_tables(str(tmp_path / "nowhere"), ["dau"])
