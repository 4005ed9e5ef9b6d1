"""The HTTP API: 200 only for durable batches, atomic refusals, healthz and Prometheus metrics."""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from components.ingest import IngestConfig, IngestService, create_app

with warnings.catch_warnings():  # starlette 1.x deprecates its httpx-based client (for httpx2)
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

EventFactory = Callable[..., dict[str, Any]]
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
