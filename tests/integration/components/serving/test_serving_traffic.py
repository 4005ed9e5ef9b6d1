"""SimNet's real-time traffic against the real recommender: feeds, echoed events, seen filtering.

The recommender (a toy champion, ingest mounted at POST /events) runs under uvicorn in a thread;
SimNet's synthetic users ask for feeds at 60 req/s and send their reactions back to the same app.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow.compute as pc
import pyarrow.dataset as ds

from components.ingest.config import IngestConfig
from components.serving.config import ServingConfig
from components.serving.host import open_services
from simnet.traffic import TrafficSpec, run_traffic
from tests.unit.components.serving.toys import MODEL, ranked_model, register
from tests.unit.simnet.test_traffic import serve


def test_users_get_feeds_and_their_echoed_events_reach_the_lake_and_the_seen_filter(tmp_path: Path) -> None:
    register(tmp_path, ranked_model(200, 2000))
    config = ServingConfig(
        registry_root=str(tmp_path / "registry"),
        reload_interval_s=0,
        ingest=IngestConfig(lake_root=str(tmp_path / "lake"), state_path=tmp_path / "state.sqlite"),
    )
    services = open_services(config)
    try:
        with serve(services.app()) as url:
            spec = TrafficSpec(url=url, rps=60, duration_s=2.0, synthetic_users=150, seed=3)
            result = run_traffic(spec)
        assert result.errors == 0 and result.completed == 120
        assert result.model_versions == {f"{MODEL}:v1": 120} and result.fallbacks == 0
        assert result.events_accepted == result.events_sent > 120 * 10  # an impression per item shown at least
        assert len(services.recommender.seen) > 50
    finally:
        services.close()
    stored = ds.dataset(tmp_path / "lake", format="parquet", partitioning="hive").to_table()
    assert stored.num_rows == result.events_sent
    impressions = stored.filter(pc.equal(stored["type"], "impression"))
    assert set(impressions["model_version"].to_pylist()) == {f"{MODEL}:v1"}
    assert set(impressions["arm"].to_pylist()) == {"control"}
    # users who came back, even within the same second, were never shown an item twice
    pairs = impressions.group_by(["user_id", "item_id"]).aggregate([("item_id", "count")])
    assert pc.max(pairs["item_id_count"]).as_py() == 1
    assert len(set(impressions["user_id"].to_pylist())) < result.completed  # some users did come back
