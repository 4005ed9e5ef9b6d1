"""``tinyworld up --monitor`` at a tiny scale: a real Prometheus with the chart's rules watches the run.

500 users x 1 day on uvicorn, no reference runs. The day's data is corrupted on disk before the
night, so its validation fails: the report must show the run's SLO figures, queried from
Prometheus, and the two alerts the failed night fires (TinyWorldValidationFailed and
TinyWorldPipelineFailed for ``daily``). Skipped where Debian's ``prometheus`` is not installed.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from tests.integration.loop.test_loop import CORRUPT_FILE, free_port, isolated_environment  # noqa: F401
from tests.unit.components.validate.builders import corrupt_rows
from tinyworld.loop import run as loop_run
from tinyworld.loop.state import RunFolder, UpOptions

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        shutil.which("prometheus") is None,
        reason="Prometheus is not installed: `apt-get install prometheus` (Debian) for tinyworld up --monitor",
    ),
]


@pytest.mark.usefixtures("isolated_environment")
def test_a_monitored_run_reports_its_slos_and_the_alerts_of_a_failed_night(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_night = loop_run.run_night

    def corrupt_the_day(settings: Any, day: Any, **kwargs: Any) -> Any:
        folder = Path(settings.lake_root) / f"dt={day.isoformat()}"
        real = pq.read_table(next(folder.rglob("*.parquet"))).slice(0, 1)
        pq.write_table(corrupt_rows(duplicate_of=real["event_id"][0].as_py()), folder / "hour=05" / CORRUPT_FILE)
        return real_night(settings, day, **kwargs)

    monkeypatch.setattr(loop_run, "run_night", corrupt_the_day)
    options = UpOptions(users=500, days=1, seed=5, ray=False, peers=False, port=free_port(), monitor=True)
    state = loop_run.up(options, tmp_path, progress=False)
    folder = RunFolder(tmp_path, state.run_id)

    assert state.nights[0].failure is not None and "validation failed" in state.nights[0].failure
    slo = state.slo
    assert slo is not None, (folder.path("logs", "prometheus.log")).read_text()[-3000:]
    assert slo.requests is not None and slo.requests > 0
    assert slo.p99_latency_s is not None and 0 < slo.p99_latency_s < 10
    assert slo.error_rate == 0.0
    assert slo.events_p99_latency_s is not None and slo.ingest_lag_max_s is not None and slo.ingest_lag_max_s >= 0
    firing = {(a.name, a.labels.get("pipeline")) for a in slo.alerts if a.state == "firing"}
    assert ("TinyWorldValidationFailed", "daily") in firing and ("TinyWorldPipelineFailed", "daily") in firing, (
        slo.alerts
    )
    result = json.loads(folder.path("result.json").read_text())
    assert result["slo"]["requests"] == slo.requests
    page = folder.path("report.html").read_text()
    assert "SLOs (Prometheus)" in page and "TinyWorldValidationFailed" in page
    # Prometheus kept its data under the run and stopped with it
    assert folder.path("monitor", "prometheus.yml").is_file() and folder.path("monitor", "data").is_dir()
    assert not folder.path("logs", "prometheus.pid").exists()
