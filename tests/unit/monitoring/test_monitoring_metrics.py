"""Every metric the dashboards and alert rules read is one the platform really exports.

The expositions come from the real apps' ``GET /metrics``, built in process: the recommender with
ingest mounted (as ``tinyworld serve`` runs it), the ingest service alone, and the closed loop's
exporter of night outcomes (:class:`~tinyworld.loop.monitor.NightMetrics`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client import generate_latest

from components.ingest import EventStore, Flusher, IngestConfig, LakeWriter, create_app
from components.ingest import metrics as ingest_metrics
from components.ingest.metrics import IngestMetrics
from components.serving.config import ServingConfig
from components.serving.host import open_services
from simnet.protocol import Event
from tests.unit.components.serving.toys import ranked_model, register
from tests.unit.monitoring.promql import DASHBOARDS, dashboard_queries, exported_names, metric_names, recorded, rules
from tinyworld.loop.monitor import NightMetrics

EVENT = {"event_id": "e1", "ts": "2026-01-01T10:00:00Z", "user_id": 1, "type": "signup"}


@pytest.fixture(scope="module")
def exposition(tmp_path_factory: pytest.TempPathFactory) -> str:
    """/metrics of the serving app (ingest mounted) and of ingest alone, after some traffic, and the loop's."""
    tmp = tmp_path_factory.mktemp("apps")
    model = ranked_model(20, 100)
    model.metadata["created_at"] = "2026-01-01T00:00:00+00:00"
    register(tmp, model)
    config = ServingConfig(
        registry_root=str(tmp / "registry"),
        reload_interval_s=0,
        ingest=IngestConfig(lake_root=str(tmp / "lake"), state_path=tmp / "serving.sqlite"),
    )
    services = open_services(config)
    texts = []
    try:
        with TestClient(services.app()) as client:
            assert client.post("/recommendations", json={"user_id": 1, "k": 3}).status_code == 200
            assert client.post("/events", json=[EVENT]).status_code == 200
            texts.append(client.get("/metrics").text)
    finally:
        services.close()
    ingest = IngestConfig(lake_root=str(tmp / "lake2"), state_path=tmp / "ingest.sqlite")
    with TestClient(create_app(ingest)) as client:
        assert client.post("/events", json=[EVENT]).status_code == 200
        texts.append(client.get("/metrics").text)
    texts.append(generate_latest(NightMetrics().registry).decode())
    return "\n".join(texts)


def queries() -> Iterator[tuple[str, str]]:
    """(where, expression) for every alert and recording rule and every dashboard query."""
    for rule in rules():
        yield rule.get("alert") or rule["record"], rule["expr"]
    for path in DASHBOARDS:
        for query in dashboard_queries(path):
            yield path.name, query


def test_promql_names_are_read_as_prometheus_would() -> None:
    """The name reader keeps metric and recording rule names and drops functions, labels, numbers, durations."""
    expr = (
        'histogram_quantile(0.99, sum by (job, le) (rate(a_bucket{route="/x",le=~"1e3"}[$__rate_interval])))'
        " / ignoring (arm) group_left sum(b_total offset 5m) > bool 3 * 86400 or time() - rec:ord:er"
    )
    assert metric_names(expr) == {"a_bucket", "b_total", "rec:ord:er"}
    assert metric_names("label_values(c_count, job)") == {"c_count"}


def test_the_apps_export_what_the_slos_need(exposition: str) -> None:
    """The model-age, ingest-lag and night-outcome series the alerts read are in the expositions."""
    assert 'tinyworld_serving_model_created_timestamp_seconds{model_version="recommender:v1",ref="champion"}' in (
        exposition
    )
    for name in ("tinyworld_ingest_lag_seconds", "tinyworld_pipeline_last_run_success"):
        assert f"# TYPE {name} gauge" in exposition


def test_every_query_reads_exported_metrics(exposition: str) -> None:
    """Every name in every rule and dashboard query is exported by an app or recorded by a rule."""
    known = set(exported_names(exposition)) | set(recorded())
    missing = {(where, name) for where, expr in queries() for name in metric_names(expr) if name not in known}
    assert not missing, f"read but neither exported nor recorded: {sorted(missing)}"
    assert all(metric_names(expr) for _, expr in queries()), "a query that reads no metric"


def test_every_exported_family_is_on_a_dashboard(exposition: str) -> None:
    """Each family the apps export shows on some dashboard, directly or through a recording rule."""
    records = recorded()
    shown: set[str] = set()
    for path in DASHBOARDS:
        for query in dashboard_queries(path):
            for name in metric_names(query):
                shown |= metric_names(records[name]) if name in records else {name}
    families = exported_names(exposition)
    used = {families[name] for name in shown if name in families}
    unused = {f for f in families.values() if not f.endswith("_created")} - used
    assert not unused, f"exported but on no dashboard: {sorted(unused)}"


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_dashboards_are_well_formed(path: Path) -> None:
    """Unique panel ids, the data source as a variable, and a uid of their own."""
    import json

    board = json.loads(path.read_text(encoding="utf-8"))
    ids = [panel["id"] for panel in board["panels"]]
    assert len(ids) == len(set(ids))
    assert board["uid"].startswith("tinyworld-") and board["title"].startswith("TinyWorld / ")
    for panel in board["panels"]:
        if panel["type"] != "row":
            assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
            assert panel["targets"], panel["title"]
    assert {p.stem for p in DASHBOARDS} == {"serving", "ingest", "pipelines", "ab-arms"}


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def time(self) -> float:
        return self.now


def test_ingest_lag_runs_from_the_last_full_flush_while_events_wait(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """0 while nothing waits; while events wait, seconds since the last flush that emptied the store began."""
    clock = Clock(1000.0)
    monkeypatch.setattr(ingest_metrics, "time", clock)
    with EventStore(tmp_path / "s.db") as store:
        metrics = IngestMetrics(pending=lambda: store.pending)
        lag = lambda: metrics.registry.get_sample_value("tinyworld_ingest_lag_seconds")  # noqa: E731
        flusher = Flusher(store, LakeWriter(str(tmp_path / "lake")), metrics=metrics)
        clock.now = 1030.0
        assert lag() == 0.0  # nothing waits
        store.append([Event.model_validate(EVENT)])
        assert lag() == 30.0  # waiting since at most the service started
        monkeypatch.setattr("components.ingest.flusher.time.time", lambda: 1040.0)
        flusher.flush()
        clock.now = 1100.0
        assert lag() == 0.0
        store.append([Event.model_validate({**EVENT, "event_id": "e2"})])
        assert lag() == 60.0  # the last full flush began at 1040
        flusher.flush(up_to_seq=0)  # a partial flush says nothing of what came before it
        assert lag() == 60.0
