"""Assembling the experiments table on the driver, from per-arm summaries."""

from __future__ import annotations

from typing import Any

import pytest

from components.etl.experiments import choose_control, compare_arms
from components.etl.tables import EXPERIMENTS


def _summary(arm: str, users: int, imps: int, clicks: int, **kw: Any) -> dict[str, Any]:
    row = {
        "arm": arm,
        "users": users,
        "impressions": imps,
        "clicks": clicks,
        "ctr_mean": clicks / imps,
        "ctr_var": 0.01,
        "eng_mean": 1.0,
        "eng_var": 0.5,
        "d1_cohort": 0,
        "d1_returned": 0,
    }
    row.update(kw)
    return row


def test_choose_control() -> None:
    """Configured, else 'control', else the first arm by name; a missing configured arm is an error."""
    assert choose_control(["b", "a"], None) == "a"
    assert choose_control(["treatment", "control"], None) == "control"
    assert choose_control(["a", "b"], "b") == "b"
    with pytest.raises(ValueError):
        choose_control(["a"], "z")


def test_compare_arms_rows() -> None:
    """One row per arm with the declared columns; only treatment rows carry comparisons."""
    rows = compare_arms([_summary("b", 100, 1000, 40), _summary("a", 110, 1100, 33, d1_cohort=10, d1_returned=4)])
    assert [r["arm"] for r in rows] == ["a", "b"]
    assert all(list(r) == EXPERIMENTS.column_names for r in rows)
    a, b = rows
    assert a["is_control"] and a["ctr_diff"] is None and a["prob_beats_control"] is None
    assert a["d1_retention"] == pytest.approx(0.4) and b["d1_retention"] is None
    assert b["ctr_diff"] == pytest.approx(0.04 - 0.03)
    assert b["ctr_diff_low"] < b["ctr_diff"] < b["ctr_diff_high"]
    assert 0.5 < b["prob_beats_control"] <= 1.0
    assert a["srm_p_value"] == b["srm_p_value"]


def test_compare_arms_caps_clicks_at_impressions() -> None:
    """A window can cut clicks from their impressions; the Beta posterior stays defined."""
    rows = compare_arms([_summary("a", 2, 1, 1), _summary("b", 2, 1, 3, ctr_mean=3.0)])
    assert 0.0 <= rows[1]["prob_beats_control"] <= 1.0


def test_no_arms_no_rows() -> None:
    """Events without arms give an empty table."""
    assert compare_arms([]) == []
