"""The service: both body forms store alike, and the flush barrier puts every acknowledged event in the lake."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from components.ingest import BatchRejected, IngestConfig, IngestService
from simnet.protocol import ARROW_STREAM, EVENT_SCHEMA, EventType
from tests.lake import read_lake
from tests.unit.components.ingest.conftest import BrokenLake

EventFactory = Callable[..., dict[str, Any]]
Body = Callable[[list[dict[str, Any]]], bytes]
LakeIds = Callable[[Path], list[str]]


def every_type(make_event: EventFactory, start: int = 0) -> list[dict[str, Any]]:
    return [make_event(start + i, kind.value) for i, kind in enumerate(EventType)]


def test_arrow_and_json_store_the_same_rows(
    config: IngestConfig, tmp_path: Path, make_event: EventFactory, body: Body, arrow_body: Body
) -> None:
    """The same batch sent as JSON and as Arrow gives the listeners and the lake the same rows."""
    events = every_type(make_event) + [make_event(20, ts="2026-01-01T01:30:00+02:00")]
    other = config.model_copy(update={"lake_root": str(tmp_path / "lake2"), "state_path": tmp_path / "s2.sqlite"})
    heard: dict[str, list[pa.Table]] = {"json": [], "arrow": []}
    for cfg, form, payload, content_type in (
        (config, "json", body(events), "application/json"),
        (other, "arrow", arrow_body(events), ARROW_STREAM),
    ):
        with IngestService(cfg) as service:
            service.add_listener(heard[form].append)
            result = service.ingest(payload, content_type)
            assert (result.accepted, result.duplicates) == (len(events), 0)
    [from_json], [from_arrow] = heard["json"], heard["arrow"]
    assert from_json.schema == from_arrow.schema == EVENT_SCHEMA
    assert from_json.equals(from_arrow)
    json_lake, arrow_lake = read_lake(Path(config.lake_root)), read_lake(tmp_path / "lake2")
    assert len(json_lake) == len(events)
    assert json_lake.sort_by("event_id").equals(arrow_lake.sort_by("event_id"))


def test_duplicates_are_dropped_across_forms(
    config: IngestConfig, make_event: EventFactory, body: Body, arrow_body: Body, lake_ids: LakeIds
) -> None:
    """Ids repeated within an Arrow batch, or first sent as JSON, are duplicates; each lands once."""
    with IngestService(config) as service:
        first = service.ingest(body([make_event(1), make_event(2)]))
        batch = [make_event(n) for n in (2, 3, 3, 1, 4)]
        second = service.ingest(arrow_body(batch), ARROW_STREAM)
        assert (first.accepted, first.duplicates) == (2, 0)
        assert (second.accepted, second.duplicates) == (2, 3)
        assert second.stored is not None and second.stored["event_id"].to_pylist() == ["ev-3", "ev-4"]
        again = service.ingest(arrow_body(batch), ARROW_STREAM)
        assert (again.accepted, again.duplicates) == (0, 5)
        registry = service.metrics.registry
        assert registry.get_sample_value("tinyworld_ingest_events_duplicate_total") == 8
        assert registry.get_sample_value("tinyworld_ingest_batches_total", {"format": "arrow"}) == 2
    assert lake_ids(Path(config.lake_root)) == ["ev-1", "ev-2", "ev-3", "ev-4"]


def test_refused_arrow_batch_stores_nothing_and_is_counted(
    config: IngestConfig, make_event: EventFactory, arrow_body: Body
) -> None:
    """An invalid Arrow batch is refused whole, counted in the rejection metrics, and stores nothing."""
    with IngestService(config) as service:
        with pytest.raises(BatchRejected):
            service.ingest(arrow_body([make_event(0), make_event(1, user_id=-1)]), ARROW_STREAM)
        assert service.store.pending == 0
        registry = service.metrics.registry
        assert registry.get_sample_value("tinyworld_ingest_events_rejected_total") == 1
        assert registry.get_sample_value("tinyworld_ingest_batches_rejected_total", {"reason": "invalid"}) == 1
        assert service.ingest(arrow_body([make_event(0)]), ARROW_STREAM).accepted == 1  # ev-0 was not kept


def test_flush_barrier_writes_everything_acknowledged(
    config: IngestConfig, make_event: EventFactory, body: Body, arrow_body: Body
) -> None:
    """After flush() the lake holds every acknowledged event once; it says how many it wrote and what is left."""
    with IngestService(config) as service:
        service.ingest(body([make_event(i) for i in range(5)]))
        service.ingest(arrow_body([make_event(i) for i in range(3, 9)]), ARROW_STREAM)
        result = service.flush()
        assert (result.flushed, result.pending, result.last_seq) == (9, 0, 2)
        lake = read_lake(Path(config.lake_root))
        assert sorted(lake["event_id"].to_pylist()) == sorted(f"ev-{i}" for i in range(9))
        assert service.flush().to_json() == {"flushed": 0, "pending": 0, "last_seq": 2}


def test_flush_barrier_holds_while_the_background_flusher_runs(
    config: IngestConfig, make_event: EventFactory, body: Body, arrow_body: Body
) -> None:
    """With appends and background cycles going on, each flush() covers everything acknowledged before it."""
    busy = config.model_copy(update={"flush_interval_s": 0.005, "flush_rows": 7})
    acknowledged: list[str] = []
    lock, done = threading.Lock(), threading.Event()

    def send(service: IngestService) -> None:
        for n in range(0, 240, 6):
            events = [make_event(i) for i in range(n, n + 6)]
            arrow = n % 12 == 0
            service.ingest(arrow_body(events) if arrow else body(events), ARROW_STREAM if arrow else None)
            with lock:
                acknowledged.extend(e["event_id"] for e in events)
        done.set()

    with IngestService(busy) as service:
        service.start()
        sender = threading.Thread(target=send, args=(service,))
        sender.start()
        checks = 0
        while not done.is_set() or checks < 3:
            with lock:
                before = set(acknowledged)
            service.flush()
            in_lake = read_lake(Path(busy.lake_root))["event_id"].to_pylist()
            assert before <= set(in_lake)
            assert len(in_lake) == len(set(in_lake))  # and nothing twice
            checks += 1
        sender.join()
    assert sorted(read_lake(Path(busy.lake_root))["event_id"].to_pylist()) == sorted(acknowledged)


def test_failed_flush_raises_keeps_the_events_and_is_retried(
    config: IngestConfig, make_event: EventFactory, body: Body, lake_ids: LakeIds
) -> None:
    """A flush that cannot write raises, leaves the events pending (health degraded); a retry lands them."""
    lake = BrokenLake(config.lake_root)
    with IngestService(config, lake=lake) as service:
        service.ingest(body([make_event(i) for i in range(4)]))
        with pytest.raises(OSError, match="unreachable"):
            service.flush()
        assert service.store.pending == 4
        assert service.health()["status"] == "degraded"
        assert service.metrics.registry.get_sample_value("tinyworld_ingest_flush_errors_total") == 1
        lake.broken = False
        assert service.flush().to_json() == {"flushed": 4, "pending": 0, "last_seq": 1}
        assert service.health()["status"] == "ok"
    assert lake_ids(Path(config.lake_root)) == [f"ev-{i}" for i in range(4)]
