"""The ETL on part of the hand-built lake: lookback days, older creates, control and split options."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pytest

from components.etl.job import EtlOptions, run_etl
from tests.integration.components.etl.handbuilt import DAYS, row

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

D1, D7 = DAYS[1], DAYS[7]


@pytest.fixture(scope="module")
def no_lookback(spark: SparkSession, handbuilt_lake: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """D1..D7 without lookback days, treatment as control, a 1:3 expected split."""
    out = tmp_path_factory.mktemp("window")
    options = EtlOptions(
        lookback_days=0,
        control_arm="treatment",
        arm_split={"control": 1.0, "treatment": 3.0},
        tables=("dau", "retention", "exposure", "item_popularity", "experiments", "item_features"),
    )
    run_etl(spark, str(handbuilt_lake), D1, D7, str(out), options)
    return out


def test_only_the_requested_tables_are_written(no_lookback: Path) -> None:
    """``tables`` limits what the job writes."""
    assert sorted(p.name for p in no_lookback.iterdir() if p.is_dir()) == sorted(
        ["dau", "retention", "exposure", "item_popularity", "experiments", "item_features"]
    )


def test_without_lookback_wau_and_popularity_start_at_the_window(no_lookback: Path) -> None:
    """With no lookback, D0's users and engagement are not seen from D1."""
    dau = pd.read_parquet(no_lookback / "dau")
    assert row(dau, date=D1).wau == 2  # users 1 and 4 only
    pop = pd.read_parquet(no_lookback / "item_popularity")
    assert row(pop, date=D1, item_id=100).popularity == pytest.approx(1.0)  # D0 is not read


def test_catalogue_includes_items_created_before_the_read_window(no_lookback: Path) -> None:
    """Items created on D0 count in D1's catalogue even when D0 is not read."""
    exp = pd.read_parquet(no_lookback / "exposure")
    assert row(exp, date=D1).catalogue_size == 3
    feats = pd.read_parquet(no_lookback / "item_features")
    assert set(feats[feats["date"] == D1]["item_id"]) == {100, 101, 102}


def test_cohorts_are_those_of_the_window(no_lookback: Path) -> None:
    """Only D1's signup (user 4) forms a cohort."""
    ret = pd.read_parquet(no_lookback / "retention")
    assert list(ret["size"]) == [1]


def test_configured_control_and_split(no_lookback: Path) -> None:
    """The control arm is the configured one; each day's SRM test uses the configured split."""
    from scipy import stats

    exp = pd.read_parquet(no_lookback / "experiments")
    assert set(exp["control_arm"]) == {"treatment"}
    ctrl, treat = row(exp, date=D1, arm="control"), row(exp, date=D1, arm="treatment")
    assert bool(treat.is_control) and not bool(ctrl.is_control)
    # D1: control user 1, treatment user 4; D7: treatment user 2; expected shares 1/4 and 3/4
    assert (int(ctrl.users), int(treat.users)) == (1, 1)
    ref = stats.chisquare([1, 1], np.array([0.25, 0.75]) * 2)
    assert ctrl.srm_p_value == pytest.approx(ref.pvalue) and treat.srm_p_value == pytest.approx(ref.pvalue)
    assert (ctrl.expected_share, treat.expected_share) == (0.25, 0.75)
    assert ctrl.ctr_diff == pytest.approx(0.0 - 1.0)  # user 1 did not click on D1, user 4 did
    alone = row(exp, date=D7, arm="treatment")
    assert alone.srm_p_value == pytest.approx(stats.chisquare([0, 1], [0.25, 0.75]).pvalue)
