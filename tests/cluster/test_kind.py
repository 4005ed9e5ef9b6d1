"""TinyWorld on kind, end to end: the RayService serves, traffic flows, a night trains a model that is served.

Runs wherever Docker, kind and Terraform exist (see conftest.py); elsewhere every test skips with the
reason. The tests share one deployment and run in order.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.cluster.conftest import kubectl, port_forward
from tinyworld.deploy import chart
from tinyworld.pipelines.compile import compiled_path

PROFILE = "kind"
USERS = 2000


def recommend(base: str, user_id: int) -> dict[str, Any]:
    response = httpx.post(f"{base}/recommendations", json={"user_id": user_id, "k": 10}, timeout=10)
    response.raise_for_status()
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture(scope="module")
def recommender(deployed: str) -> str:
    """The RayService's name, once KubeRay reports it ready."""
    name = str(chart.one(chart.render(PROFILE), "RayService")["metadata"]["name"])
    kubectl("-n", deployed, "wait", f"rayservice/{name}", "--for=condition=Ready", "--timeout=20m", timeout=21 * 60)
    return name


def test_the_rayservice_serves_recommendations(deployed: str, recommender: str) -> None:
    """Through KubeRay's serve Service: /healthz answers and a feed has ten items with an arm and a model."""
    port = chart.values(PROFILE)["environment"]["servePort"]
    with port_forward(deployed, f"{recommender}-serve-svc", port) as base:
        assert httpx.get(f"{base}/healthz", timeout=10).status_code == 200
        feed = recommend(base, 1)
        assert len(feed["items"]) == 10 and feed["arm"] and feed["model_version"]


def test_simnet_traffic_is_served_and_its_events_ingested(deployed: str, recommender: str) -> None:
    """A minute of SimNet traffic from this machine: nearly every request answered, events accepted."""
    port = chart.values(PROFILE)["environment"]["servePort"]
    simnet = str(Path(sys.executable).parent / "simnet")
    with port_forward(deployed, f"{recommender}-serve-svc", port) as base:
        done = subprocess.run(
            [simnet, "traffic", "--url", base, "--rps", "20", "--duration", "60", "--users", str(USERS)]
            + ["--json", "--no-progress"],
            capture_output=True,
            text=True,
            check=True,
            timeout=15 * 60,
        )
    result = json.loads(done.stdout)
    assert result["completed"] > 0.95 * result["requests"], result
    assert result["events_accepted"] > 0 and result["events_failed"] == 0, result


def test_a_night_trains_a_model_that_the_recommender_then_serves(deployed: str, recommender: str) -> None:
    """The daily pipeline, run once on KFP over today's events, registers a model; feeds then name it."""
    import kfp

    values = chart.values(PROFILE)
    port = values["environment"]["servePort"]
    with port_forward(deployed, f"{recommender}-serve-svc", port) as base:
        before = recommend(base, 1)["model_version"]
        with port_forward(values["kfp"]["namespace"], values["kfp"]["apiService"], values["kfp"]["apiPort"]) as kfp_url:
            client = kfp.Client(host=kfp_url)
            today = datetime.now(UTC).date().isoformat()
            run = client.create_run_from_pipeline_package(
                str(compiled_path("daily")), arguments={"env": PROFILE, "day": today}, experiment_name="cluster-test"
            )
            finished = client.wait_for_run_completion(run.run_id, timeout=90 * 60)
            assert finished.state == "SUCCEEDED", finished
        deadline = time.monotonic() + 10 * 60  # the recommender checks the registry every reload_interval_s
        served = before
        while served == before and time.monotonic() < deadline:
            time.sleep(15)
            served = recommend(base, 1)["model_version"]
        assert served != before, f"still serving {before!r} ten minutes after the night"
