"""The ETL on a SimNet lake agrees with SimNet's own metrics on the same events."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pytest

from components.etl.job import EtlOptions, run_etl
from simnet.config import WorldConfig
from simnet.metrics import arm_metrics, day_metrics
from simnet.runner import RunSpec, simulate
from tests.integration.components.etl.handbuilt import row

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def simnet_lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two days of 2,000 users under the popularity policy."""
    out = tmp_path_factory.mktemp("simnet")
    simulate(RunSpec(WorldConfig.load(None).with_users(2_000), "popularity", 2, 7), out=out, progress=False)
    return out / "events"


def _events(lake: Path) -> pa.Table:
    dataset = ds.dataset(lake, format="parquet", partitioning="hive")
    return dataset.to_table()


def test_dau_ctr_and_exposure_match_simnet_day_metrics(spark: SparkSession, simnet_lake: Path, tmp_path: Path) -> None:
    """Per dt day: DAU, impressions, clicks, CTR, coverage and Gini equal day_metrics on that day's events."""
    table = _events(simnet_lake)
    days = sorted({str(d) for d in pc.unique(table["dt"]).to_pylist()})
    first, last = date.fromisoformat(days[0]), date.fromisoformat(days[-1])
    options = EtlOptions(tables=("dau", "exposure", "experiments"))
    run_etl(spark, str(simnet_lake), first, last, str(tmp_path), options)
    dau = pd.read_parquet(tmp_path / "dau")
    exposure = pd.read_parquet(tmp_path / "exposure")

    creates = table.filter(pc.equal(table["type"], "create"))
    for day in days:
        d = date.fromisoformat(day)
        events = table.filter(pc.equal(pc.cast(table["dt"], pa.string()), day))
        made = creates.filter(pc.less_equal(pc.cast(creates["dt"], pa.string()), day))
        catalogue = len(pc.unique(made["item_id"]))
        expected = day_metrics(events.drop_columns(["dt", "hour"]), catalog_size=catalogue)
        got, exp = row(dau, date=d), row(exposure, date=d)
        assert got.dau == expected["dau"], day
        assert got.impressions == expected["impressions"] and got.clicks == expected["clicks"]
        assert got.ctr == pytest.approx(expected["ctr"])
        assert got.engagement_per_active_user == pytest.approx(expected["engagement_per_active_user"])
        assert exp.coverage == pytest.approx(expected["coverage"])
        assert exp.exposure_gini == pytest.approx(expected["exposure_gini"])
        assert exp.click_gini == pytest.approx(expected["click_gini"])

    experiments = pd.read_parquet(tmp_path / "experiments")
    assert set(experiments["experiment"]) == {"default"}
    for day in days:
        d = date.fromisoformat(day)
        events = table.filter(pc.equal(pc.cast(table["dt"], pa.string()), day)).drop_columns(["dt", "hour"])
        # a day's arm users are those with an impression in the arm that day; their clicks count
        # (a click after midnight on a slate of the day before, by a user not shown one since, does not)
        shown = events.filter(pc.equal(events["type"], "impression")).select(["arm", "user_id"]).to_pandas()
        keys = pd.MultiIndex.from_frame(events.select(["arm", "user_id"]).to_pandas())
        kept = keys.isin(pd.MultiIndex.from_frame(shown.drop_duplicates()))
        for arm in arm_metrics(events.filter(pa.array(kept))).itertuples():
            got = row(experiments, date=d, arm=arm.arm)
            assert (got.users, got.impressions, got.clicks) == (arm.users, arm.impressions, arm.clicks), day
