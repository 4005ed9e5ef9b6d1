"""Real-time traffic into the real ingest service: every reaction is a valid event, stored once.

The recommendations come from the unit tests' fake platform; the events go to
:func:`components.ingest.app.create_app` on a local lake, served by uvicorn in a thread. A 422
here means the traffic generator writes events the protocol refuses.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow.compute as pc
import pyarrow.dataset as ds

from components.ingest.app import create_app
from components.ingest.config import IngestConfig
from simnet.config import WorldConfig
from simnet.runner import RunSpec
from simnet.traffic import TrafficSpec, run_traffic
from simnet.traffic_users import build_crowd
from tests.unit.simnet.test_traffic import FakePlatform, serve


def test_world_reactions_are_accepted_and_land_in_the_lake_once(tmp_path: Path) -> None:
    """All event batches are acknowledged as new, and the lake holds each event id exactly once."""
    cfg = IngestConfig(lake_root=str(tmp_path / "lake"), state_path=tmp_path / "state.sqlite", flush_interval_s=0.1)
    crowd = build_crowd(RunSpec(WorldConfig.load().with_users(500), "popularity", 0, 5))
    platform = FakePlatform(items=[*range(8), 10**9, 3])  # an unknown id and a repeat: shown, never chosen
    with serve(platform) as url, serve(create_app(cfg), lifespan="on") as ingest:
        spec = TrafficSpec(url=url, events_url=ingest, rps=80, duration_s=1.5, seed=1)
        result = run_traffic(spec, crowd)
    assert result.errors == 0 and result.completed == 120
    assert result.event_errors == 0 and result.event_status_codes == {"200": result.event_batches}
    assert result.events_accepted == result.events_sent > 10 * result.completed
    stored = ds.dataset(tmp_path / "lake", format="parquet", partitioning="hive").to_table()
    assert stored.num_rows == result.events_sent
    assert len(pc.unique(stored["event_id"])) == stored.num_rows
    types = set(stored["type"].to_pylist())
    assert {"impression", "click", "dwell"} <= types
