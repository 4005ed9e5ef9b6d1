"""The HTTP API: protocol forms, validation, events feeding the recommender, metrics, overload."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from components.ingest.config import IngestConfig
from components.serving.config import ServingConfig
from components.serving.host import Services, open_services
from simnet.protocol import RecommendationBatchResponse, RecommendationResponse
from tests.unit.components.serving.toys import ranked_model, register


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    register(tmp_path, ranked_model(20, 100))
    config = ServingConfig(
        registry_root=str(tmp_path / "registry"),
        reload_interval_s=0,
        max_in_flight=2,
        ingest=IngestConfig(lake_root=str(tmp_path / "lake"), state_path=tmp_path / "state.sqlite"),
    )
    opened = open_services(config)
    yield opened
    opened.close()


@pytest.fixture
def client(services: Services) -> Iterator[TestClient]:
    with TestClient(services.app()) as c:
        yield c


def test_single_and_batch_requests_follow_the_protocol(client: TestClient) -> None:
    single = RecommendationResponse.model_validate(client.post("/recommendations", json={"user_id": 1, "k": 3}).json())
    assert [i.item_id for i in single.items] == [0, 1, 2] and single.arm == "control" and not single.fallback
    body = {"user_ids": [4, 2, 3], "k": 2, "ts": "2026-01-01T00:00:00Z"}
    batch = RecommendationBatchResponse.model_validate(client.post("/recommendations", json=body).json())
    assert batch.item_ids == [[0, 1]] * 3 and len(set(batch.request_ids)) == 3
    again = client.post("/recommendations", json={"user_id": 1, "k": 3}).json()
    assert [i["item_id"] for i in again["items"]] == [3, 4, 5]  # what was served is not served again


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"user_id": -1}, "user_id"),
        ({"user_id": 1, "k": 0}, "k"),
        ({"user_id": 1, "extra": 1}, "extra"),
        ({}, "user_id"),
    ],
)
def test_invalid_requests_get_a_422_naming_the_field(client: TestClient, body: dict[str, object], field: str) -> None:
    response = client.post("/recommendations", json=body)
    assert response.status_code == 422
    assert field in [e["field"] for e in response.json()["errors"]]


def test_a_body_that_is_not_json_gets_a_422(client: TestClient) -> None:
    response = client.post("/recommendations", content=b"{not json")
    assert response.status_code == 422 and "not JSON" in response.json()["detail"]


def test_events_posted_here_are_stored_and_filter_the_next_feed(client: TestClient, services: Services) -> None:
    first = client.post("/recommendations", json={"user_id": 5, "k": 3}).json()
    shown = [
        {
            "event_id": f"imp-{i}",
            "ts": "2026-01-01T00:00:00Z",
            "user_id": 5,
            "type": "impression",
            "item_id": item["item_id"],
            "request_id": first["request_id"],
            "position": i,
            "arm": first["arm"],
            "model_version": first["model_version"],
        }
        for i, item in enumerate(first["items"])
    ]
    assert client.post("/events", json=shown).json() == {"accepted": 3, "duplicates": 0}
    assert client.post("/events", json=shown).json() == {"accepted": 0, "duplicates": 3}
    second = client.post("/recommendations", json={"user_id": 5, "k": 3}).json()
    assert [i["item_id"] for i in second["items"]] == [3, 4, 5]
    assert services.ingest is not None and services.ingest.store.pending == 3


def test_metrics_and_health_are_exposed(client: TestClient) -> None:
    client.post("/recommendations", json={"user_id": 1})
    text = client.get("/metrics").text
    assert 'tinyworld_serving_recommendations_total{arm="control",model_version="recommender:v1"} 1.0' in text
    assert 'tinyworld_serving_request_seconds_count{route="/recommendations",status="200"} 1.0' in text
    assert "tinyworld_ingest_events_accepted_total" in text
    health = client.get("/healthz").json()
    assert health["arms"] == {"control": "recommender:v1"} and health["ingest"]["status"] == "ok"


def test_overload_gets_a_quick_503_and_recovers(services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    """With 2 requests allowed in flight and ranking slowed to 0.3 s, 8 at once: 6 refused at once."""
    rec = services.recommender
    real = rec.recommend

    def slow(users: list[int], k: int) -> object:
        time.sleep(0.3)
        return real(users, k)

    monkeypatch.setattr(rec, "recommend", slow)
    app = services.app()

    async def burst() -> list[tuple[int, float]]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:

            async def one(user: int) -> tuple[int, float]:
                started = time.perf_counter()
                response = await http.post("/recommendations", json={"user_id": user})
                return response.status_code, time.perf_counter() - started

            results = await asyncio.gather(*(one(u) for u in range(8)))
            results.append(await one(9))  # load has dropped: served again
            return list(results)

    results = asyncio.run(burst())
    codes = [code for code, _ in results]
    assert codes.count(503) == 6 and codes.count(200) == 3 and codes[-1] == 200
    assert all(seconds < 0.2 for code, seconds in results if code == 503)
    assert "tinyworld_serving_overloaded_total 6.0" in rec.metrics.render().decode()


def test_building_the_app_twice_does_not_count_events_twice(services: Services) -> None:
    """Each app registers the recommender with the ingest service; a second one must not double it."""
    services.app()
    with TestClient(services.app()) as client:
        clicks = [
            {"event_id": f"c-{i}", "ts": "2026-01-01T00:00:00Z", "user_id": 1, "type": "click", "item_id": 7}
            for i in range(3)
        ]
        assert client.post("/events", json=clicks).json() == {"accepted": 3, "duplicates": 0}
    ids, scores = services.recommender.popularity.top(1)
    assert ids.tolist() == [7] and scores.tolist() == [3.0]


def test_sizes_a_client_controls_are_bounded(tmp_path: Path) -> None:
    """Too many users in a batch or too large a body: 413 naming the limit; the server keeps serving."""
    register(tmp_path, ranked_model(20, 100))
    config = ServingConfig(
        registry_root=str(tmp_path / "registry"), reload_interval_s=0, max_batch_users=3, max_request_bytes=2048
    )
    opened = open_services(config)
    try:
        with TestClient(opened.app()) as client:
            many = {"user_ids": [1, 2, 3, 4], "k": 2, "ts": "2026-01-01T00:00:00Z"}
            refused = client.post("/recommendations", json=many)
            assert refused.status_code == 413 and "at most 3 per request" in refused.json()["detail"]
            large = client.post("/recommendations", content=b'{"user_id": 1, "pad": "' + b"x" * 4096 + b'"}')
            assert large.status_code == 413 and "2048" in large.json()["detail"]
            fine = client.post("/recommendations", json={**many, "user_ids": [1, 2, 3]})
            assert fine.status_code == 200 and len(fine.json()["item_ids"]) == 3
    finally:
        opened.close()


def test_a_body_nested_too_deeply_gets_a_422(client: TestClient) -> None:
    """JSON nested beyond the parser's depth is bad input (422), not a server error."""
    response = client.post("/recommendations", content=b"[" * 100_000 + b"]" * 100_000)
    assert response.status_code == 422 and "nested too deeply" in response.json()["detail"]
    assert client.post("/recommendations", json={"user_id": 1, "k": 1}).status_code == 200
