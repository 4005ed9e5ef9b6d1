"""The closed loop's day over HTTP: arms set through the admin API while SimNet's users keep asking.

The recommender (champion and challenger in the registry, day 1 serving popularity) runs under
uvicorn in a thread. SimNet's open-loop traffic asks for feeds at 60 req/s while the admin API
switches to the A/B experiment and then to the champion alone, and batch requests of the loop's
form arrive in between: no request fails or falls back, and each experiment's arms answer.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx

from components.registry.experiments import ExperimentLog
from components.serving.config import ServingConfig
from components.serving.host import open_services
from simnet.traffic import TrafficResult, TrafficSpec, run_traffic
from tests.unit.components.serving.toys import MODEL, ranked_model, register
from tests.unit.simnet.test_traffic import serve

TOKEN = "integration-admin-token"
DAY1 = {"name": "day-1", "arms": [{"name": "control", "model": "popularity"}]}
DAY2 = {
    "name": "day-2",
    "arms": [
        {"name": "control", "weight": 0.5, "model": "champion"},
        {"name": "treatment", "weight": 0.5, "model": "challenger"},
    ],
}
DAY3 = {"name": "day-3", "arms": [{"name": "control", "model": "champion"}]}


def test_arms_switch_under_traffic_without_a_failed_request(tmp_path: Path) -> None:
    register(tmp_path, ranked_model(2000, 3000, version="a"))
    register(tmp_path, ranked_model(2000, 3000, version="b"), alias="challenger")
    ExperimentLog(str(tmp_path / "registry"), MODEL).record(
        ServingConfig.model_validate({"experiment": DAY1}).experiment, by="loop", reason="day 1: no model yet"
    )
    config = ServingConfig(registry_root=str(tmp_path / "registry"), reload_interval_s=0, admin_token=TOKEN)
    services = open_services(config)
    services.recommender.popularity.add_items(range(3000))
    results: list[TrafficResult] = []
    try:
        with serve(services.app()) as url, httpx.Client(base_url=url, timeout=30) as http:
            assert http.get("/healthz").json()["arms"] == {"control": "popularity"}
            spec = TrafficSpec(url=url, rps=60, duration_s=3.0, synthetic_users=2000, events=False, seed=3)
            traffic = threading.Thread(target=lambda: results.append(run_traffic(spec)))
            traffic.start()
            batches = []
            for day in (DAY2, DAY3):
                time.sleep(1.0)
                put = http.put(
                    "/admin/experiment",
                    json={"experiment": day, "reason": "the loop's day"},
                    headers={"Authorization": f"Bearer {TOKEN}"},
                )
                assert put.status_code == 200, put.text
                body = {"user_ids": list(range(1000)), "k": 10, "ts": "2026-01-02T00:00:00Z"}
                batches.append(http.post("/recommendations", json=body).json())
            traffic.join()
            history = http.get("/admin/experiment", headers={"Authorization": f"Bearer {TOKEN}"}).json()
    finally:
        services.close()
    [result] = results
    assert result.errors == 0 and result.fallbacks == 0 and result.completed == 180
    assert set(result.model_versions) == {"popularity", f"{MODEL}:v1", f"{MODEL}:v2"}
    ab, champion = batches
    assert set(zip(ab["arms"], ab["model_versions"], strict=True)) == {
        ("control", f"{MODEL}:v1"),
        ("treatment", f"{MODEL}:v2"),
    }
    assert set(champion["model_versions"]) == {f"{MODEL}:v1"} and not any(champion["fallback"])
    assert all(len(items) == 10 for items in ab["item_ids"] + champion["item_ids"])
    assert [(h["source"], h["record"]["experiment"]["name"]) for h in history["history"]] == [
        ("config", "default"),
        ("registry", "day-1"),
        ("admin", "day-2"),
        ("admin", "day-3"),
    ]
    assert [r.experiment.name for r in ExperimentLog(str(tmp_path / "registry"), MODEL).records()] == [
        "day-1",
        "day-2",
        "day-3",
    ]
