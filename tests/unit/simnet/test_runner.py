"""Tests for :mod:`simnet.runner`: what ``simulate`` writes and reports."""

from __future__ import annotations

from pathlib import Path

import pyarrow.dataset as ds
import pytest

from simnet.config import WorldConfig
from simnet.protocol import EVENT_SCHEMA
from simnet.runner import OutputError, RunSpec, Summary, prepare_output, simulate
from tests.unit.simnet.worlds import run_world

SPEC = RunSpec(WorldConfig.load().with_users(300), "popularity", 2, 1)
CONTENT = ["event_id", "text", "image"]


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> tuple[ds.Dataset, Summary]:
    """A two-day, 300-user popularity run written to a lake, and its summary."""
    out = tmp_path_factory.mktemp("run")
    _, summary = simulate(SPEC, out=out, progress=False)
    return ds.dataset(out / "events", format="parquet", partitioning="hive"), summary


def test_lake_holds_as_many_events_as_the_summary_counts(lake: tuple[ds.Dataset, Summary]) -> None:
    """The lake's row count equals the summary's events, and event ids are unique in it."""
    dataset, summary = lake
    table = dataset.to_table(columns=["event_id"])
    assert len(table) == summary["events"]
    assert len(set(table["event_id"].to_pylist())) == len(table)


def test_lake_holds_each_event_once(lake: tuple[ds.Dataset, Summary]) -> None:
    """No two lake rows agree on every column but event_id: simulate emits each event once."""
    dataset, _ = lake
    frame = dataset.to_table(columns=[c for c in EVENT_SCHEMA.names if c not in CONTENT]).to_pandas()
    duplicated = frame[frame.duplicated(keep=False)]
    assert duplicated.empty, f"{len(duplicated)} rows repeat another event:\n{duplicated.head()}"


def test_simulate_counts_the_events_the_world_produced() -> None:
    """simulate's event count equals that of a plain hour-by-hour loop over the same world."""
    _, summary = simulate(SPEC, progress=False)
    reference = run_world(SPEC.config, SPEC.policy, SPEC.days, SPEC.seed)
    assert summary["events"] == len(reference.table)


def test_prepare_output_refuses_a_path_below_a_file(tmp_path: Path) -> None:
    """prepare_output raises OutputError, saying to choose another --out, when it cannot write."""
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OutputError, match="choose another --out"):
        prepare_output(blocker / "sub")
    assert prepare_output(tmp_path / "new" / "dir").is_dir()
