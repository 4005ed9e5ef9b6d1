"""Running GE suites over pyarrow tables: column groups, order, errors, offending rows."""

from __future__ import annotations

import great_expectations as gx
import numpy as np
import pyarrow as pa
from great_expectations.expectations.row_conditions import Column

from components.validate.engine import expectation_columns, run_suite, to_frame

E = gx.expectations


def table() -> pa.Table:
    """Six rows: ids, a nullable int, a string kind."""
    return pa.table(
        {
            "id": pa.array([f"r{i}" for i in range(6)]),
            "n": pa.array([0, 1, None, 3, 200, 5], pa.int64()),
            "kind": pa.array(["a", "b", "a", "zzz", "a", "b"]),
        }
    )


def test_outcomes_keep_suite_order_when_an_expectation_errors() -> None:
    """An expectation that raises inside GE fails with its error; the others keep their order."""
    suite = gx.ExpectationSuite(
        name="t",
        expectations=[
            E.ExpectColumnValuesToBeInSet(column="kind", value_set=["a", "b"]),
            E.ExpectColumnValuesToBeBetween(column="kind", min_value=0, max_value=1),  # str vs int: raises
            E.ExpectColumnValuesToBeBetween(column="n", min_value=0, max_value=100),
            E.ExpectColumnValuesToNotBeNull(column="absent"),
        ],
    )
    data = table()
    outcomes = run_suite(suite, to_frame(data, categorical=("kind",)), data, ("id",))
    assert [(o.expectation, o.column) for o in outcomes] == [
        ("expect_column_values_to_be_in_set", "kind"),
        ("expect_column_values_to_be_between", "kind"),
        ("expect_column_values_to_be_between", "n"),
        ("expect_column_values_to_not_be_null", "absent"),
    ]
    in_set, error, between, absent = outcomes
    assert not in_set.success and in_set.unexpected_sample == [{"id": "r3", "kind": "zzz"}]
    assert not error.success and error.observed.startswith("error:")
    assert not between.success and between.unexpected_sample == [{"id": "r4", "n": 200}]
    assert absent.skipped and "absent" in absent.note


def test_sample_rows_are_named_by_their_position_in_the_whole_table() -> None:
    """With a sampled frame, offending rows are looked up at their original positions."""
    data = table()
    positions = np.array([3, 4])
    frame = to_frame(data.take(pa.array(positions)), positions)
    suite = gx.ExpectationSuite(name="s", expectations=[E.ExpectColumnValuesToBeBetween(column="n", max_value=100)])
    (outcome,) = run_suite(suite, frame, data, ("id",))
    assert outcome.rows_checked == 2
    assert outcome.unexpected_sample == [{"id": "r4", "n": 200}]


def test_expectation_columns_include_row_conditions() -> None:
    """The column group of an expectation holds its column and every column its condition reads."""
    condition = (Column("a") == 1) & Column("b").is_null()
    expectation = E.ExpectColumnValuesToNotBeNull(column="c", row_condition=condition)
    assert sorted(expectation_columns(expectation)) == ["a", "b", "c"]
