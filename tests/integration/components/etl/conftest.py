"""Fixtures for the ETL's Spark tests: one session for the whole test run, ETL outputs per module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import pytest

from components.etl.job import EtlOptions, EtlResult, run_etl
from tests.integration.components.etl.handbuilt import DAYS, write_lake

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


@pytest.fixture(scope="session")
def spark() -> Iterator[SparkSession]:
    """One local Spark session (2 cores, 2 shuffle partitions) shared by every ETL test.

    Code generation is off: on tables of a few rows, compiling each plan costs far more than
    interpreting it (the hand-built run takes about half the time without it).
    """
    pytest.importorskip("pyspark")
    from components.etl.session import build_session

    session = build_session(
        "local[2]",
        app_name="tinyworld-etl-tests",
        driver_memory="2g",
        conf={
            "spark.sql.shuffle.partitions": "2",
            "spark.default.parallelism": "2",
            "spark.sql.codegen.wholeStage": "false",
            "spark.sql.codegen.factoryMode": "NO_CODEGEN",
        },
    )
    yield session
    session.stop()


@pytest.fixture(scope="session")
def handbuilt_lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The hand-built lake of :mod:`tests.integration.components.etl.handbuilt`."""
    return write_lake(tmp_path_factory.mktemp("handbuilt") / "events")


class Outputs:
    """An ETL run's result and its tables, read back with pandas."""

    def __init__(self, result: EtlResult, root: Path) -> None:
        self.result = result
        self.root = root

    def table(self, name: str) -> pd.DataFrame:
        """The table ``name`` as written (all Parquet parts)."""
        return pd.read_parquet(self.root / name)


@pytest.fixture(scope="session")
def handbuilt_out(spark: SparkSession, handbuilt_lake: Path, tmp_path_factory: pytest.TempPathFactory) -> Outputs:
    """Every table over the whole fixture, D0..D7."""
    out = tmp_path_factory.mktemp("handbuilt-out")
    result = run_etl(spark, str(handbuilt_lake), DAYS[0], DAYS[-1], str(out), EtlOptions())
    return Outputs(result, out)
