"""The admin API (token, changes, history), /healthz on arms that do not resolve, and --admin-token."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from typer.testing import CliRunner

from components.registry.experiments import ExperimentLog, ExperimentRecord
from components.registry.registry import Registry
from components.serving.config import ServingConfig
from components.serving.host import Services, open_services
from tests.unit.components.serving.toys import MODEL, ranked_model, register

TOKEN = "s3cret-admin-token-for-tests"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
AB = {
    "name": "day-2",
    "arms": [
        {"name": "control", "weight": 0.5, "model": "champion"},
        {"name": "treatment", "weight": 0.5, "model": "challenger"},
    ],
}
POPULAR = {"name": "day-1", "arms": [{"name": "control", "model": "popularity"}]}


def opened(tmp_path: Path, **overrides: Any) -> Services:
    config = ServingConfig.model_validate(
        {"registry_root": str(tmp_path / "registry"), "reload_interval_s": 0, **overrides}
    )
    return open_services(config)


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    register(tmp_path, ranked_model(20, 100))
    services = opened(tmp_path, admin_token=TOKEN)
    yield services
    services.close()


@pytest.fixture
def client(services: Services) -> Iterator[TestClient]:
    with TestClient(services.app()) as c:
        yield c


def test_without_a_token_configured_the_admin_routes_say_how_to_enable_them(tmp_path: Path) -> None:
    services = opened(tmp_path)
    try:
        with TestClient(services.app()) as client:
            for response in (
                client.get("/admin/experiment", headers=AUTH),
                client.put("/admin/experiment", json={"experiment": POPULAR, "reason": "x"}, headers=AUTH),
            ):
                assert response.status_code == 403
                assert "--admin-token" in response.json()["detail"]
                assert "TINYWORLD_ADMIN_TOKEN" in response.json()["detail"]
        assert services.recommender.live.applied.source == "config"
    finally:
        services.close()


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong-token"}, {"Authorization": f"Basic {TOKEN}"}])
def test_a_missing_or_wrong_token_gets_a_401_and_changes_nothing(
    client: TestClient, services: Services, headers: dict[str, str]
) -> None:
    assert client.get("/admin/experiment", headers=headers).status_code == 401
    response = client.put("/admin/experiment", json={"experiment": POPULAR, "reason": "x"}, headers=headers)
    assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"
    assert services.recommender.live.applied.source == "config"
    assert client.put("/admin/experiment", content=b"{not json", headers=headers).status_code == 401


def test_a_change_is_recorded_applied_and_listed(client: TestClient, tmp_path: Path) -> None:
    """PUT answers with the log's record; the arms serve it at once; GET lists it after the start-up one."""
    register(tmp_path, ranked_model(20, 100, version="b"), alias="challenger")
    body = {"experiment": AB, "reason": "challenger v2 against champion v1", "by": "loop"}
    response = client.put("/admin/experiment", json=body, headers=AUTH)
    assert response.status_code == 200
    put = ExperimentRecord.model_validate(response.json())
    assert put.experiment.name == "day-2" and put.by == "loop" and put.reason == body["reason"]
    assert ExperimentLog(str(tmp_path / "registry"), MODEL).latest() == put
    health = client.get("/healthz").json()
    assert health["experiment"] == "day-2" and health["status"] == "ok"
    assert health["arms"] == {"control": f"{MODEL}:v1", "treatment": f"{MODEL}:v2"}
    batch = client.post("/recommendations", json={"user_ids": list(range(20)), "k": 1, "ts": "2026-01-02T00:00:00Z"})
    assert set(batch.json()["arms"]) == {"control", "treatment"} and not any(batch.json()["fallback"])

    client.put("/admin/experiment", json={"experiment": POPULAR, "reason": "back to day 1"}, headers=AUTH)
    listed = client.get("/admin/experiment", headers=AUTH).json()
    assert listed["current"]["record"]["experiment"]["name"] == "day-1"
    assert [(h["source"], h["record"]["experiment"]["name"]) for h in listed["history"]] == [
        ("config", "default"),
        ("admin", "day-2"),
        ("admin", "day-1"),
    ]
    assert all(h["applied_at"] and h["record"]["at"] for h in listed["history"])
    assert listed["arms"] == {"control": "popularity"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"experiment": POPULAR}, "reason"),
        ({"experiment": {"name": "x", "arms": []}, "reason": "r"}, "experiment"),
        ({"experiment": POPULAR, "reason": "r", "extra": 1}, "extra"),
    ],
)
def test_an_invalid_change_gets_a_422_naming_the_field(client: TestClient, body: dict[str, Any], field: str) -> None:
    response = client.put("/admin/experiment", json=body, headers=AUTH)
    assert response.status_code == 422
    assert any(e["field"].startswith(field) for e in response.json()["errors"])
    assert '"reason"' in response.json()["detail"]  # shows a valid body


def test_a_log_that_cannot_be_written_changes_nothing(
    client: TestClient, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = services.recommender.experiments
    assert log is not None

    def unwritable(*_: object, **__: object) -> None:
        raise PermissionError("read-only file system")

    monkeypatch.setattr(log, "record", unwritable)
    response = client.put("/admin/experiment", json={"experiment": POPULAR, "reason": "x"}, headers=AUTH)
    assert response.status_code == 503 and "nothing changed" in response.json()["detail"]
    assert services.recommender.live.applied.source == "config"


def test_healthz_is_503_while_an_arm_alias_is_missing_and_200_once_it_resolves(
    client: TestClient, services: Services, tmp_path: Path
) -> None:
    client.put("/admin/experiment", json={"experiment": AB, "reason": "no challenger yet"}, headers=AUTH)
    response = client.get("/healthz")
    assert response.status_code == 503
    health = response.json()
    assert health["status"] == "degraded" and health["arms"]["treatment"] == "popularity"
    [error] = health["errors"]
    assert error["arm"] == "treatment" and error["model"] == "challenger"
    assert "no alias 'challenger'" in error["message"] and "PUT /admin/experiment" in error["message"]
    batch = client.post("/recommendations", json={"user_ids": list(range(20)), "k": 2, "ts": "2026-01-02T00:00:00Z"})
    assert batch.status_code == 200
    answered = dict(zip(batch.json()["arms"], batch.json()["fallback"], strict=True))
    assert answered == {"control": False, "treatment": True}

    register(tmp_path, ranked_model(20, 100, version="b"), alias="challenger")
    services.recommender.refresh()
    assert client.get("/healthz").status_code == 200
    Registry(tmp_path / "registry").retire(MODEL, "challenger", reason="lost")
    services.recommender.refresh()
    assert client.get("/healthz").status_code == 503


def test_an_admin_token_is_long_enough_and_never_shown(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="at least 16 characters"):
        ServingConfig(admin_token="short")
    config = ServingConfig(admin_token=TOKEN)
    assert TOKEN not in repr(config) and TOKEN not in config.model_dump_json()


def test_a_ray_replica_gets_the_token_itself() -> None:
    """The replica's config is JSON: the secrets must travel as themselves, not as '**********'."""
    from components.serving.deployment import replica_config

    copied = ServingConfig.model_validate(replica_config(ServingConfig(admin_token=TOKEN)))
    assert copied.admin_token is not None and copied.admin_token.get_secret_value() == TOKEN


def test_serve_takes_the_token_from_the_option_or_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tinyworld.cli import app

    started: list[ServingConfig] = []
    monkeypatch.setattr("components.serving.host.serve_uvicorn", lambda config, *_, **__: started.append(config))
    monkeypatch.chdir(tmp_path)
    base = ["serve", "--no-ray", "--no-features", "--no-events"]
    assert CliRunner().invoke(app, base).exit_code == 0
    assert CliRunner().invoke(app, base, env={"TINYWORLD_ADMIN_TOKEN": TOKEN}).exit_code == 0
    assert CliRunner().invoke(app, [*base, "--admin-token", TOKEN + "-2"]).exit_code == 0
    tokens = [c.admin_token.get_secret_value() if c.admin_token else None for c in started]
    assert tokens == [None, TOKEN, TOKEN + "-2"]
    refused = CliRunner().invoke(app, [*base, "--admin-token", "short"])
    assert refused.exit_code == 2 and "at least 16 characters" in refused.output
