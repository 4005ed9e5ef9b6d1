"""The benchmark's DuckDB peer (benchmarks/etl.py) computes the very tables the Spark job does."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from tests.integration.components.etl.conftest import Outputs
from tests.integration.components.etl.handbuilt import DAYS

BENCHMARK = Path(__file__).resolve().parents[4] / "benchmarks" / "etl.py"


def _benchmark() -> ModuleType:
    spec = importlib.util.spec_from_file_location("benchmark_etl", BENCHMARK)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_duckdb_peer_writes_the_spark_tables(handbuilt_lake: Path, handbuilt_out: Outputs, tmp_path: Path) -> None:
    """On the hand-built lake (D0..D7, every table), each DuckDB table equals Spark's row for row.

    The Spark-to-DuckDB ratio is only fair if both compute the same work: same tables, columns,
    types and values (floats to 1e-9 relative, vectors to 1e-6).
    """
    pytest.importorskip("duckdb")
    bench = _benchmark()
    bench.run_duckdb(str(handbuilt_lake), DAYS[0], DAYS[-1], tmp_path, 1.0)
    assert bench.compare_outputs(handbuilt_out.root, tmp_path) == []
