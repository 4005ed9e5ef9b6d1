"""The ETL step over a warm Spark Connect server writes the tables a local session writes."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import pytest

from components.etl.connect import HOST, ConnectServer, group_alive
from components.etl.job import EtlOptions, run_etl
from simnet.config import WorldConfig
from simnet.runner import RunSpec, simulate

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

pytestmark = pytest.mark.slow

FIRST, LAST = date(2026, 1, 1), date(2026, 1, 2)
"""The two days SimNet simulates from its default start."""

# The step in a process of its own, as kfp.local runs it: a process holds one kind of session.
STEP = """
import json, sys
from datetime import date
from components.etl.step import EtlParams, run
from components.step import StepIO
master, lake, out, start, end = sys.argv[1:]
first, last = date.fromisoformat(start), date.fromisoformat(end)
params = EtlParams(lake=lake, out=out, start=first, end=last, spark_master=master)
result = run(params, StepIO())
print(json.dumps({"events": result.events, "rows": result.rows}))
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def _canonical(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows in a fixed order, array cells as tuples (so they sort and compare)."""
    frame = frame.copy()
    for column in frame.columns:
        if frame[column].map(lambda v: hasattr(v, "__len__") and not isinstance(v, str)).any():
            frame[column] = frame[column].map(lambda v: None if v is None else tuple(v))
    return frame.sort_values(list(frame.columns)).reset_index(drop=True)


@pytest.fixture(scope="module")
def tiny_lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two days of 300 users under the popularity policy."""
    out = tmp_path_factory.mktemp("connect-lake")
    simulate(RunSpec(WorldConfig.load(None).with_users(300), "popularity", 2, 7), out=out, progress=False)
    return out / "events"


def test_step_over_connect_matches_local(spark: SparkSession, tiny_lake: Path, tmp_path: Path) -> None:
    """Every table the step writes over Connect equals the local session's; the server's process group ends."""
    local = tmp_path / "local"
    expected = run_etl(spark, str(tiny_lake), FIRST, LAST, str(local), EtlOptions())

    server = ConnectServer(
        tmp_path / "connect.log",
        port=_free_port(),
        master="local[2]",
        driver_memory="1g",
        conf={"spark.sql.shuffle.partitions": "2", "spark.default.parallelism": "2"},
        start_timeout=300,
    )
    remote = tmp_path / "connect"
    with server:
        pid = server.pid
        assert pid is not None
        args = [server.url, str(tiny_lake), str(remote), FIRST.isoformat(), LAST.isoformat()]
        done = subprocess.run(
            [sys.executable, "-c", STEP, *args], capture_output=True, text=True, timeout=600, check=False
        )
        assert done.returncode == 0, done.stderr[-4000:]
    assert not group_alive(pid), "the server left processes behind"

    got: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    assert got["events"] == expected.events
    assert got["rows"] == expected.rows
    for name in expected.rows:
        pd.testing.assert_frame_equal(
            _canonical(pd.read_parquet(remote / name)),
            _canonical(pd.read_parquet(local / name)),
            check_exact=False,
            rtol=1e-9,
            obj=name,
        )
