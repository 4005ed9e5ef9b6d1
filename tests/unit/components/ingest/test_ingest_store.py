"""The durable store: dedup across batches and restarts, flush plans, restart replay, retention."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from components.ingest import AppendResult, EventStore, Flusher, LakeWriter, StateLockedError
from components.ingest.columnar import events_table
from simnet.protocol import EVENT_SCHEMA, Event

EventFactory = Callable[..., dict[str, Any]]
LakeIds = Callable[[Path], list[str]]


@pytest.fixture
def events(make_event: EventFactory) -> Callable[..., list[Event]]:
    """``events(*numbers)``: validated click events with ids ``ev-<n>``."""
    return lambda *numbers: [Event.model_validate(make_event(n)) for n in numbers]


class Clock:
    """A settable clock (seconds since the epoch)."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_duplicates_counted_once_within_and_across_batches(tmp_path: Path, events: Callable[..., list[Event]]) -> None:
    """An id is accepted once; repeats in the same batch or a later one are duplicates."""
    with EventStore(tmp_path / "s.db") as store:
        first = store.append(events(1, 2, 1, 3))
        second = store.append(events(3, 4, 2))
        assert (first.accepted, first.duplicates) == (3, 1)
        assert (second.accepted, second.duplicates) == (1, 2)
        assert store.pending == 4


def test_append_table_shares_dedup_with_append(tmp_path: Path, events: Callable[..., list[Event]]) -> None:
    """A table (the Arrow form) is deduplicated like events: within itself, and against earlier appends."""
    with EventStore(tmp_path / "s.db") as store:
        store.append(events(1, 2))
        result = store.append_table(events_table(events(2, 3, 1, 3, 4)))
        assert (result.accepted, result.duplicates) == (2, 3)
        assert result.stored is not None and result.stored["event_id"].to_pylist() == ["ev-3", "ev-4"]
        assert result.stored.schema == EVENT_SCHEMA
        assert store.append_table(events_table(events(4, 5))).accepted == 1
        assert store.append_table(EVENT_SCHEMA.empty_table()) == store.append([]) == AppendResult(0, 0)
        assert store.pending == 5


def test_restart_keeps_pending_events_and_seen_ids(
    tmp_path: Path, events: Callable[..., list[Event]], lake_ids: LakeIds
) -> None:
    """Events acknowledged before a restart are still pending after it, and still deduplicated."""
    with EventStore(tmp_path / "s.db") as store:
        store.append(events(1, 2, 3))
    with EventStore(tmp_path / "s.db") as store:
        assert store.pending == 3
        assert store.append(events(2, 3, 4)).accepted == 1
        Flusher(store, LakeWriter(str(tmp_path / "lake"))).flush()
        assert store.pending == 0
    with EventStore(tmp_path / "s.db") as store:
        assert store.append(events(1, 4)).duplicates == 2  # flushed ids are remembered too
    assert lake_ids(tmp_path / "lake") == ["ev-1", "ev-2", "ev-3", "ev-4"]


def test_plan_takes_whole_batches_in_order(tmp_path: Path, events: Callable[..., list[Event]]) -> None:
    """A plan takes the oldest batches, whole, up to ``max_rows`` events (or one larger batch)."""
    with EventStore(tmp_path / "s.db") as store:
        for numbers in ([0, 1, 2], [3, 4, 5], [6], [7, 8, 9, 10, 11]):
            store.append(events(*numbers))
        plan = store.plan_flush(4)
        assert plan is not None and (plan.first_seq, plan.last_seq, plan.rows) == (1, 1, 3)
        assert store.read(plan)["event_id"].to_pylist() == ["ev-0", "ev-1", "ev-2"]
        store.complete_flush(plan)
        plan = store.plan_flush(4)
        assert plan is not None and (plan.first_seq, plan.last_seq, plan.rows) == (2, 3, 4)
        store.complete_flush(plan)
        plan = store.plan_flush(2)  # a batch larger than max_rows still goes, alone
        assert plan is not None and (plan.first_seq, plan.last_seq, plan.rows) == (4, 4, 5)
        store.complete_flush(plan)
        assert store.pending == 0


def test_plan_stops_at_up_to_seq(tmp_path: Path, events: Callable[..., list[Event]]) -> None:
    """Batches appended after a cycle began (seq > up_to_seq) wait for the next cycle."""
    with EventStore(tmp_path / "s.db") as store:
        store.append(events(1))
        up_to = store.last_seq()
        store.append(events(2))
        plan = store.plan_flush(100, up_to_seq=up_to)
        assert plan is not None and (plan.first_seq, plan.last_seq) == (1, 1)
        store.complete_flush(plan)
        assert store.plan_flush(100, up_to_seq=up_to) is None
        assert store.pending == 1


def test_duplicates_within_a_batch_keep_the_first(tmp_path: Path, make_event: EventFactory) -> None:
    """An id repeated in one batch is stored once, as its first occurrence."""
    first = Event.model_validate(make_event(1, user_id=10))
    again = Event.model_validate(make_event(1, user_id=20))
    with EventStore(tmp_path / "s.db") as store:
        assert store.append([first, again, *([first] * 3)]).accepted == 1
        plan = store.plan_flush(10)
        assert plan is not None
        assert store.read(plan)["user_id"].to_pylist() == [10]


def test_unfinished_plan_is_redone_with_the_same_range(
    tmp_path: Path, events: Callable[..., list[Event]], lake_ids: LakeIds
) -> None:
    """A crash after the files were written but before completion rewrites the same files: once each."""
    lake = LakeWriter(str(tmp_path / "lake"))
    with EventStore(tmp_path / "s.db") as store:
        store.append(events(1, 2, 3))
        plan = store.plan_flush(100, label="first")
        assert plan is not None
        lake.write(store.read(plan), plan.name)  # then "crash"
    with EventStore(tmp_path / "s.db") as store:
        store.append(events(4, 5))
        assert store.plan_flush(1, label="renamed") == plan  # the open plan, whatever the new limit or name
        assert Flusher(store, lake, writer_id="renamed").flush() == 5
        assert store.plan_flush(100) is None
    assert lake_ids(tmp_path / "lake") == ["ev-1", "ev-2", "ev-3", "ev-4", "ev-5"]
    assert sorted(p.name for p in (tmp_path / "lake").rglob("*.parquet")) == [
        "first-000000000001-000000000001.parquet",
        "renamed-000000000002-000000000002.parquet",
    ]


def test_seq_numbers_are_never_reused(tmp_path: Path, events: Callable[..., list[Event]]) -> None:
    """After every pending row is flushed and deleted, new rows still get higher numbers (file names)."""
    with EventStore(tmp_path / "s.db") as store:
        store.append(events(1, 2))
        plan = store.plan_flush(100)
        assert plan is not None
        store.complete_flush(plan)
    with EventStore(tmp_path / "s.db") as store:
        store.append(events(3))
        later = store.plan_flush(100)
        assert later is not None and later.first_seq > plan.last_seq


def test_one_process_per_state_file(tmp_path: Path) -> None:
    """A second store on the same file is refused until the first is closed."""
    first = EventStore(tmp_path / "s.db")
    with pytest.raises(StateLockedError):
        EventStore(tmp_path / "s.db")
    first.close()
    first.close()  # idempotent
    EventStore(tmp_path / "s.db").close()


def test_closed_store_refuses_work(tmp_path: Path, events: Callable[..., list[Event]]) -> None:
    """Using a closed store is an error, not a silent loss."""
    store = EventStore(tmp_path / "s.db")
    store.close()
    with pytest.raises(RuntimeError, match="closed"):
        store.append(events(1))


def test_prune_forgets_only_ids_older_than_retention(tmp_path: Path, events: Callable[..., list[Event]]) -> None:
    """Ids received before the cutoff are forgotten (accepted again); younger ones stay duplicates."""
    clock = Clock()
    with EventStore(tmp_path / "s.db", clock=clock) as store:
        store.append(events(1, 2))
        clock.now += 100
        store.append(events(3))
        clock.now += 20
        assert store.prune(older_than_s=50) == 2
        assert store.prune(older_than_s=50) == 0
        result = store.append(events(1, 2, 3))
        assert (result.accepted, result.duplicates) == (2, 1)


def test_empty_append_is_a_no_op(tmp_path: Path) -> None:
    """Appending nothing stores nothing and opens no transaction."""
    with EventStore(tmp_path / "s.db") as store:
        assert store.append([]).accepted == 0
        assert store.plan_flush(10) is None and store.last_seq() == 0


def test_unknown_state_schema_is_refused(tmp_path: Path) -> None:
    """A state file of another schema version is not used (and the file lock is released)."""
    with closing(sqlite3.connect(tmp_path / "s.db")) as db:
        db.execute("PRAGMA user_version=99")
    with pytest.raises(RuntimeError, match="schema 99"):
        EventStore(tmp_path / "s.db")
    with closing(sqlite3.connect(tmp_path / "s.db")) as db:
        db.execute("PRAGMA user_version=0")
    EventStore(tmp_path / "s.db").close()
