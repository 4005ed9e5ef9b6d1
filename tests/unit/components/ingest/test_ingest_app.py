"""The HTTP API: 200 only for durable batches (JSON or Arrow), atomic refusals, the flush barrier, healthz, metrics."""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from components.ingest import IngestConfig, IngestService, create_app
from components.ingest.app import events_router
from simnet.protocol import ARROW_STREAM, EVENTS_FLUSH_PATH, EVENTS_PATH, EventType
from tests.lake import read_lake
from tests.unit.components.ingest.conftest import BrokenLake

with warnings.catch_warnings():  # starlette 1.x deprecates its httpx-based client (for httpx2)
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

EventFactory = Callable[..., dict[str, Any]]
Body = Callable[[list[dict[str, Any]]], bytes]
LakeIds = Callable[[Path], list[str]]


@pytest.fixture
def client(config: IngestConfig) -> Iterator[TestClient]:
    """A client of an app that owns its service (opened at startup, flushed and closed at shutdown)."""
    with TestClient(create_app(config)) as test_client:
        yield test_client


def post(client: TestClient, events: list[Any]) -> Any:
    return client.post("/events", content=json.dumps(events), headers={"content-type": "application/json"})


def test_batch_is_acknowledged_with_counts(client: TestClient, make_event: EventFactory) -> None:
    """A valid batch gets 200 with how many events were new and how many were duplicates."""
    first = post(client, [make_event(1), make_event(2), make_event(1)])
    assert first.status_code == 200
    assert first.json() == {"accepted": 2, "duplicates": 1}
    assert post(client, [make_event(2), make_event(3)]).json() == {"accepted": 1, "duplicates": 1}
    assert client.get("/healthz").json()["pending"] == 3


def test_invalid_batch_is_refused_whole(client: TestClient, make_event: EventFactory) -> None:
    """One bad event refuses the batch: 422 names it, and none of the good events is stored."""
    response = post(client, [make_event(1), make_event(2, ts="2026-01-01T10:00:00"), make_event(3)])
    assert response.status_code == 422
    payload = response.json()
    assert payload["reason"] == "invalid" and payload["invalid_events"] == 1
    assert [(e["index"], e["event_id"], e["field"]) for e in payload["errors"]] == [(1, "ev-2", "ts")]
    assert client.get("/healthz").json()["pending"] == 0
    fixed = post(client, [make_event(1), make_event(2), make_event(3)])
    assert fixed.json() == {"accepted": 3, "duplicates": 0}  # nothing of the refused batch was kept


def test_too_many_events_is_413(client: TestClient, make_event: EventFactory) -> None:
    """More events than max_batch_events (100 in these tests) is 413, and nothing is stored."""
    response = post(client, [make_event(i) for i in range(101)])
    assert response.status_code == 413
    assert response.json()["reason"] == "too_large"
    assert client.get("/healthz").json()["pending"] == 0


def test_too_many_bytes_is_413(config: IngestConfig, make_event: EventFactory) -> None:
    """A body over max_body_bytes is refused before it is parsed."""
    small = config.model_copy(update={"max_body_bytes": 1000})
    with TestClient(create_app(small)) as client:
        response = post(client, [make_event(i) for i in range(20)])
        assert response.status_code == 413
        assert "bytes" in response.json()["detail"]


def test_malformed_body_is_422(client: TestClient) -> None:
    """A body that is not a JSON array is refused with reason malformed."""
    response = client.post("/events", content=b'{"event_id": "x"}')
    assert response.status_code == 422
    assert response.json()["reason"] == "malformed"


def test_shutdown_flushes_to_the_lake(config: IngestConfig, make_event: EventFactory, lake_ids: LakeIds) -> None:
    """Stopping the app flushes what is pending: the lake then holds each accepted event once."""
    with TestClient(create_app(config)) as client:
        post(client, [make_event(i) for i in range(5)])
        post(client, [make_event(i) for i in range(3, 8)])
    assert lake_ids(Path(config.lake_root)) == sorted(f"ev-{i}" for i in range(8))
    with TestClient(create_app(config)) as client:  # a restart remembers what was accepted
        assert post(client, [make_event(7), make_event(8)]).json() == {"accepted": 1, "duplicates": 1}


def test_metrics_are_prometheus_text(client: TestClient, make_event: EventFactory) -> None:
    """/metrics exposes the accepted, duplicate and rejected counters, latency and pending."""
    post(client, [make_event(1), make_event(1)])
    post(client, [make_event(2, type="nope")])
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    for line in (
        "tinyworld_ingest_events_accepted_total 1.0",
        "tinyworld_ingest_events_duplicate_total 1.0",
        "tinyworld_ingest_events_rejected_total 1.0",
        'tinyworld_ingest_batches_rejected_total{reason="invalid"} 1.0',
        "tinyworld_ingest_pending_events 1.0",
        'tinyworld_ingest_request_seconds_count{status="200"} 1.0',
        'tinyworld_ingest_request_seconds_count{status="422"} 1.0',
    ):
        assert line in text


def test_healthz(client: TestClient) -> None:
    """/healthz says ok, with the pending count and whether the flusher runs."""
    assert client.get("/healthz").json() == {
        "status": "ok",
        "pending": 0,
        "flusher_running": True,
        "last_flush_error": None,
    }


def test_app_can_use_a_service_owned_elsewhere(config: IngestConfig, make_event: EventFactory) -> None:
    """A host (e.g. Ray Serve) may pass its own service; the app then neither starts nor closes it."""
    with IngestService(config) as service:
        with TestClient(create_app(config, service=service)) as client:
            assert post(client, [make_event(1)]).json() == {"accepted": 1, "duplicates": 0}
        assert service.store.pending == 1  # still open after the app stopped
    other = config.model_copy(update={"flush_rows": 7})
    with IngestService(config) as service, pytest.raises(ValueError, match="another configuration"):
        create_app(other, service=service)


def test_store_failure_is_503_and_retryable(config: IngestConfig, make_event: EventFactory) -> None:
    """If the batch cannot be stored, the answer is 503 (not acknowledged), never a false 200."""
    with IngestService(config) as service, TestClient(create_app(config, service=service)) as client:
        service.store.close()
        response = post(client, [make_event(1)])
        assert response.status_code == 503
        assert response.json()["reason"] == "unavailable"


def post_arrow(client: TestClient, payload: bytes) -> Any:
    return client.post("/events", content=payload, headers={"content-type": ARROW_STREAM})


def test_arrow_batch_lands_like_the_json_batch(
    config: IngestConfig, tmp_path: Path, make_event: EventFactory, arrow_body: Body
) -> None:
    """Over HTTP, an Arrow batch is acknowledged like JSON and the lake holds the same rows for both."""
    events = [make_event(i, kind.value) for i, kind in enumerate(EventType)]
    other = config.model_copy(update={"lake_root": str(tmp_path / "lake2"), "state_path": tmp_path / "s2.sqlite"})
    with TestClient(create_app(config)) as json_client, TestClient(create_app(other)) as arrow_client:
        assert post(json_client, events).json() == {"accepted": len(events), "duplicates": 0}
        assert post_arrow(arrow_client, arrow_body(events)).json() == {"accepted": len(events), "duplicates": 0}
        for client in (json_client, arrow_client):
            assert client.post(EVENTS_FLUSH_PATH).json() == {"flushed": len(events), "pending": 0, "last_seq": 1}
    json_lake, arrow_lake = read_lake(Path(config.lake_root)), read_lake(tmp_path / "lake2")
    assert len(json_lake) == len(events)
    assert json_lake.sort_by("event_id").equals(arrow_lake.sort_by("event_id"))


def test_arrow_refusals_have_the_json_shape(client: TestClient, make_event: EventFactory, arrow_body: Body) -> None:
    """Arrow refusals: 422 naming the event and field, 422 malformed, 413 too large; nothing is stored."""
    invalid = post_arrow(client, arrow_body([make_event(0), make_event(1, "signup", item_id=3)]))
    assert invalid.status_code == 422
    payload = invalid.json()
    assert set(payload) == {"detail", "reason", "invalid_events", "errors"}
    assert (payload["reason"], payload["invalid_events"]) == ("invalid", 1)
    assert [(e["index"], e["event_id"], e["field"], e["type"]) for e in payload["errors"]] == [
        (1, "ev-1", "item_id", "value_error")
    ]
    malformed = post_arrow(client, b'[{"event_id": "x"}]')
    assert (malformed.status_code, malformed.json()["reason"]) == (422, "malformed")
    too_many = post_arrow(client, arrow_body([make_event(i) for i in range(101)]))
    assert (too_many.status_code, too_many.json()["reason"]) == (413, "too_large")
    assert client.get("/healthz").json()["pending"] == 0


def test_arrow_body_over_byte_limit_is_413(config: IngestConfig, make_event: EventFactory, arrow_body: Body) -> None:
    """max_body_bytes applies to the Arrow form too."""
    small = config.model_copy(update={"max_body_bytes": 1000})
    with TestClient(create_app(small)) as client:
        response = post_arrow(client, arrow_body([make_event(i) for i in range(20)]))
        assert response.status_code == 413
        assert "bytes" in response.json()["detail"]


def test_json_then_arrow_duplicates(client: TestClient, make_event: EventFactory, arrow_body: Body) -> None:
    """Ids first sent as JSON come back as duplicates in an Arrow batch, and repeats within it too."""
    assert post(client, [make_event(1), make_event(2)]).json() == {"accepted": 2, "duplicates": 0}
    again = post_arrow(client, arrow_body([make_event(2), make_event(3), make_event(3), make_event(1)]))
    assert again.json() == {"accepted": 1, "duplicates": 3}


def test_flush_route_is_a_barrier(config: IngestConfig, make_event: EventFactory, arrow_body: Body) -> None:
    """POST /events/flush returns once every acknowledged event is in the lake, with the counts."""
    with TestClient(create_app(config)) as client:
        post(client, [make_event(i) for i in range(5)])
        post_arrow(client, arrow_body([make_event(i) for i in range(4, 9)]))
        assert client.get("/healthz").json()["pending"] == 9
        response = client.post(EVENTS_FLUSH_PATH)
        assert response.status_code == 200
        assert response.json() == {"flushed": 9, "pending": 0, "last_seq": 2}
        assert sorted(read_lake(Path(config.lake_root))["event_id"].to_pylist()) == sorted(f"ev-{i}" for i in range(9))
        assert client.post(EVENTS_FLUSH_PATH).json() == {"flushed": 0, "pending": 0, "last_seq": 2}


def test_failed_flush_is_503_and_keeps_the_events(config: IngestConfig, make_event: EventFactory) -> None:
    """If the lake cannot be written, the flush answers 503, saying the events are kept and to retry."""
    lake = BrokenLake(config.lake_root)
    with IngestService(config, lake=lake) as service, TestClient(create_app(config, service=service)) as client:
        post(client, [make_event(1), make_event(2)])
        response = client.post(EVENTS_FLUSH_PATH)
        assert response.status_code == 503
        detail = response.json()["detail"]
        assert "kept" in detail and "retry" in detail
        assert client.get("/healthz").json() | {"last_flush_error": None} == {
            "status": "degraded",
            "pending": 2,
            "flusher_running": False,
            "last_flush_error": None,
        }
        lake.broken = False
        assert client.post(EVENTS_FLUSH_PATH).json() == {"flushed": 2, "pending": 0, "last_seq": 1}


def test_events_router_serves_the_flush_barrier() -> None:
    """A host that mounts events_router (the recommender) gets POST /events and POST /events/flush."""
    paths = {(route.path, method) for route in events_router(1000).routes for method in route.methods}  # type: ignore[attr-defined]
    assert {(EVENTS_PATH, "POST"), (EVENTS_FLUSH_PATH, "POST")} <= paths
