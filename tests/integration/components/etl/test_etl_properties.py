"""Properties of the ETL's outputs on arbitrary protocol-valid events (Hypothesis, few examples)."""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import HealthCheck, given, settings

from components.etl.job import EtlOptions, run_etl
from simnet.lake import write_partitioned
from tests.strategies import event_tables

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

DAY = date(2026, 1, 1)  # tests.strategies puts every event on this day
TABLES = ("dau", "retention", "exposure", "item_popularity", "interactions", "user_features")

pytestmark = pytest.mark.slow


@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(event_tables(max_rows=60))
def test_rates_are_bounded_and_counts_consistent(spark: SparkSession, events: pa.Table) -> None:
    """Coverage, Gini, top share, retention and CTR-like rates lie in [0, 1]; DAU <= WAU;
    one interaction per impression with a 0/1 label and a weight in [1, 5]."""
    with tempfile.TemporaryDirectory() as tmp:
        lake, out = Path(tmp) / "events", Path(tmp) / "out"
        write_partitioned(events, str(lake), "prop")
        if not lake.exists():
            return  # no events at all: nothing to read
        run_etl(spark, str(lake), DAY, DAY, str(out), EtlOptions(tables=TABLES))
        exposure = pd.read_parquet(out / "exposure")
        for column in ("coverage", "exposure_gini", "top10_share", "click_gini"):
            assert exposure[column].between(0.0, 1.0).all(), column
        assert (exposure["items_impressed"] <= exposure["catalogue_size"]).all()
        retention = pd.read_parquet(out / "retention")
        for column in ("d1", "d7", "d30"):
            assert retention[column].dropna().between(0.0, 1.0).all()
        dau = pd.read_parquet(out / "dau")
        assert (dau["dau"] <= dau["wau"]).all()
        impressions = int(pc.sum(pc.equal(events["type"], "impression")).as_py() or 0)
        assert int(dau["impressions"].sum()) == impressions
        inter = pd.read_parquet(out / "interactions")
        assert len(inter) == impressions
        assert inter["label"].isin([0, 1]).all() and inter["weight"].between(1.0, 5.0).all()
        users = pd.read_parquet(out / "user_features")
        assert users["ctr_7d"].ge(0).all() and (users["impressions_1d"] <= users["impressions_7d"]).all()
        assert (pd.read_parquet(out / "item_popularity")["popularity"] >= 0).all()
