"""The flusher: every accepted event reaches the lake exactly once, through failures and restarts."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.dataset as ds
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from components.ingest import EventStore, Flusher, LakeWriter
from components.ingest.metrics import IngestMetrics
from simnet.protocol import Event

EventFactory = Callable[..., dict[str, Any]]
LakeIds = Callable[[Path], list[str]]


class FlakyLake(LakeWriter):
    """A lake whose next ``failures`` writes fail, before or after the files are written."""

    def __init__(self, root: str, failures: int = 0, after_write: bool = False) -> None:
        super().__init__(root)
        self.failures, self.after_write = failures, after_write

    def write(self, table: pa.Table, name: str) -> list[str]:
        if self.failures and not self.after_write:
            self.failures -= 1
            raise OSError("lake unreachable")
        written = super().write(table, name)
        if self.failures:
            self.failures -= 1
            raise OSError("died after writing")
        return written


def click(n: int, hour: int = 10) -> Event:
    return Event.model_validate(
        {"event_id": f"ev-{n}", "ts": f"2026-01-01T{hour:02d}:00:00Z", "user_id": 1, "type": "click", "item_id": 2}
    )


def wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_flush_writes_everything_pending_once(tmp_path: Path, lake_ids: LakeIds) -> None:
    """A flush writes all pending events in plans of ``flush_rows``; a second flush writes nothing."""
    with EventStore(tmp_path / "s.db") as store:
        for numbers in ([0, 1, 2], [3, 4, 5], [6, 7, 8], [9]):
            store.append([click(n, hour=n % 3) for n in numbers])
        flusher = Flusher(store, LakeWriter(str(tmp_path / "lake")), flush_rows=4)
        assert flusher.flush() == 10
        assert flusher.flush() == 0
    assert lake_ids(tmp_path / "lake") == sorted(f"ev-{n}" for n in range(10))
    files = list((tmp_path / "lake").rglob("*.parquet"))
    assert sorted({f.name for f in files}) == [  # plans of batches 1, 2 and 3-4, each over 3 hours
        "ingest-000000000001-000000000001.parquet",
        "ingest-000000000002-000000000002.parquet",
        "ingest-000000000003-000000000004.parquet",
    ]
    assert len(files) == 9


def test_background_thread_flushes_on_interval_and_on_stop(tmp_path: Path, lake_ids: LakeIds) -> None:
    """The thread flushes every interval, and stop() flushes what arrived since."""
    with EventStore(tmp_path / "s.db") as store:
        flusher = Flusher(store, LakeWriter(str(tmp_path / "lake")), interval_s=0.02)
        flusher.start()
        store.append([click(1), click(2)])
        wait_for(lambda: store.pending == 0)
        flusher.stop(final_flush=False)
        store.append([click(3)])
        flusher.stop(final_flush=True)
        assert store.pending == 0
    assert lake_ids(tmp_path / "lake") == ["ev-1", "ev-2", "ev-3"]


def test_wake_flushes_before_the_interval(tmp_path: Path) -> None:
    """wake() starts a cycle at once instead of waiting out a long interval."""
    with EventStore(tmp_path / "s.db") as store:
        flusher = Flusher(store, LakeWriter(str(tmp_path / "lake")), interval_s=3600)
        flusher.start()
        time.sleep(0.1)  # let the first (empty) cycle pass
        store.append([click(1)])
        flusher.wake()
        wait_for(lambda: store.pending == 0)
        flusher.stop()


@pytest.mark.parametrize("after_write", [False, True], ids=["fails-before-write", "fails-after-write"])
def test_failures_are_retried_without_loss_or_duplicates(tmp_path: Path, lake_ids: LakeIds, after_write: bool) -> None:
    """Failed writes (before or after the files land) leave events pending; retries land them once."""
    metrics = IngestMetrics(pending=lambda: 0)
    with EventStore(tmp_path / "s.db") as store:
        lake = FlakyLake(str(tmp_path / "lake"), failures=2, after_write=after_write)
        flusher = Flusher(store, lake, interval_s=0.01, metrics=metrics)
        store.append([click(n, hour=n % 2) for n in range(6)])
        flusher.start()
        wait_for(lambda: store.pending == 0)
        flusher.stop()
        assert flusher.last_error is None
    assert lake_ids(tmp_path / "lake") == sorted(f"ev-{n}" for n in range(6))
    assert metrics.registry.get_sample_value("tinyworld_ingest_flush_errors_total") == 2
    assert metrics.registry.get_sample_value("tinyworld_ingest_events_flushed_total") == 6


@settings(max_examples=15)
@given(
    batches=st.lists(st.lists(st.integers(0, 30), max_size=12), min_size=1, max_size=8),
    crashes=st.lists(st.sampled_from(["none", "before", "after", "restart"]), min_size=8, max_size=8),
)
def test_exactly_once_through_crashes_and_restarts(batches: list[list[int]], crashes: list[str]) -> None:
    """Whatever the batches (with repeats) and failures: accepted == distinct ids == lake rows."""
    with tempfile.TemporaryDirectory() as tmp:
        state, root = Path(tmp) / "s.db", Path(tmp) / "lake"
        store = EventStore(state)
        accepted = 0
        for batch, crash in zip(batches, crashes, strict=False):
            accepted += store.append([click(n, hour=n % 4) for n in batch]).accepted
            lake = FlakyLake(str(root), failures=int(crash in {"before", "after"}), after_write=crash == "after")
            try:
                Flusher(store, lake, flush_rows=5).flush()
            except OSError:
                pass
            if crash == "restart":
                store.close()
                store = EventStore(state)
        Flusher(store, LakeWriter(str(root))).flush()
        store.close()
        distinct = {f"ev-{n}" for batch in batches for n in batch}
        stored = ds.dataset(root, format="parquet").to_table()["event_id"].to_pylist() if distinct else []
        assert accepted == len(distinct)
        assert sorted(stored) == sorted(distinct)
