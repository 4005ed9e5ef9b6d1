"""The closed loop at a small scale: every step, the experiment's verdict applied, a corrupted night,
and a run killed mid-day and resumed.

2,000 users x 3 days on uvicorn (the same app Ray serves), with the offline gate opened so each
night registers a model: night 1's becomes champion (the first to pass), night 2's challenger
meets it on day 3's traffic and night 3's promote applies the experiment's verdict. Night 3's
day is corrupted on disk, so its ``daily`` stops at validation and the champion keeps serving.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from components.evaluate.promotion import PromotionConfig
from components.registry.registry import CHALLENGER, CHAMPION, DEFAULT_MODEL_NAME, Registry
from tests.unit.components.validate.builders import corrupt_rows
from tinyworld.loop import run as loop_run
from tinyworld.loop.state import RunFolder, UpOptions
from tinyworld.steps import NightlyOptions

pytestmark = pytest.mark.slow

OPEN_GATE = PromotionConfig(min_ndcg_gain=-1.0, max_recall_drop=1.0, popularity_tolerance=1.0, min_users=1)
STEPS = {"etl", "validate", "features", "split", "train", "evaluate"}
CORRUPT_FILE = "bad.parquet"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def lake_events(root: Path) -> Any:
    """The event ids in a run's lake, leaving out the file a test wrote to corrupt a day."""
    files = [str(p) for p in sorted((root / "lake").rglob("*.parquet")) if p.name != CORRUPT_FILE]
    return ds.dataset(files, format="parquet", partitioning=ds.partitioning(flavor="hive")).to_table(
        columns=["event_id"]
    )


@pytest.fixture
def isolated_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The loop points TINYWORLD_* at its run: put them back after the test."""
    for key in ("LAKE_ROOT", "ARTIFACTS_ROOT", "REGISTRY_ROOT", "LOG_LEVEL", "SPARK_MASTER"):
        monkeypatch.setenv(f"TINYWORLD_{key}", os.environ.get(f"TINYWORLD_{key}", ""))
        monkeypatch.delenv(f"TINYWORLD_{key}")
    monkeypatch.setenv("TINYWORLD_SPARK_MASTER", "local[2]")


def test_a_small_loop_learns_tests_online_and_survives_a_corrupted_night(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, isolated_environment: None
) -> None:
    real_night = loop_run.run_night
    corrupted: list[str] = []

    def corrupt_day_three(settings: Any, day: Any, **kwargs: Any) -> Any:
        if day.isoformat() == "2026-01-03":
            folder = Path(settings.lake_root) / f"dt={day.isoformat()}"
            real = pq.read_table(next(folder.rglob("*.parquet"))).slice(0, 1)
            pq.write_table(corrupt_rows(duplicate_of=real["event_id"][0].as_py()), folder / "hour=05" / CORRUPT_FILE)
            corrupted.append(day.isoformat())
        return real_night(settings, day, **kwargs)

    monkeypatch.setattr(loop_run, "run_night", corrupt_day_three)
    options = UpOptions(
        users=2_000, days=3, seed=7, ray=False, port=free_port(), nightly=NightlyOptions(promotion=OPEN_GATE)
    )
    state = loop_run.up(options, tmp_path, progress=False)
    folder = RunFolder(tmp_path, state.run_id)

    assert [d.day for d in state.days] == [1, 2, 3] and corrupted == ["2026-01-03"]
    one, two, three = state.nights
    assert STEPS <= set(one.seconds) and STEPS <= set(two.seconds), one.seconds
    # day 1: popularity; night 1's model is the first to pass, so it is the champion on day 2
    assert state.days[0].arms == {"control": "popularity"}
    assert one.failure is None and one.registered is not None
    first = one.registered.version
    assert state.days[1].arms == {"control": f"{DEFAULT_MODEL_NAME}:v{first}"}
    # night 2's model is the challenger: day 3 splits users between the two
    assert two.registered is not None and two.registered.alias == CHALLENGER
    second = two.registered.version
    assert state.days[2].arms == {
        "control": f"{DEFAULT_MODEL_NAME}:v{first}",
        "treatment": f"{DEFAULT_MODEL_NAME}:v{second}",
    }
    assert {row["arm"] for row in state.days[2].by_arm} == {"control", "treatment"}
    # night 3: the experiment's verdict is applied, then the corrupted day stops the daily run
    assert three.decision is not None
    aliases = Registry(str(folder.path("registry"))).aliases(DEFAULT_MODEL_NAME)
    expected_champion = {"promote": second, "retire": first, "keep": first}[three.decision.decision]
    assert aliases[CHAMPION] == expected_champion, three.decision.reason
    # a retirement removes the challenger alias; after a promotion it still names the new champion
    assert aliases.get(CHALLENGER) == (None if three.decision.decision == "retire" else second)
    assert three.failure is not None and "validation failed" in three.failure and "report:" in three.failure
    assert three.registered is None
    # every event the world produced is in the lake once
    ids = lake_events(folder.root)["event_id"]
    assert len(ids) == len(set(ids.to_pylist())) == sum(int(str(d.world["events"])) for d in state.days)
    result = json.loads(folder.path("result.json").read_text())
    assert result["model_score"] is not None and result["popularity_score"] is not None
    assert result["gap_closed"] is not None and result["nights"][2]["failure"] == three.failure
    assert folder.path("report.html").stat().st_size > 10_000


def test_a_run_killed_mid_day_resumes_with_every_event_once(tmp_path: Path, isolated_environment: None) -> None:
    """kill -9 during day 2; --resume finishes it: the lake holds each of the world's events once."""
    env = {**os.environ, "TINYWORLD_SPARK_MASTER": "local[2]"}
    command = [sys.executable, "-m", "tinyworld.cli", "up", "--users", "1500", "--days", "2", "--seed", "3"]
    command += ["--no-ray", "--no-peers", "--port", str(free_port()), "--runs", str(tmp_path), "--no-progress"]
    loop = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    journal = None
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and loop.poll() is None:
        runs = [p for p in tmp_path.iterdir() if (p / "state.json").is_file()]
        if runs:
            state = json.loads((runs[0] / "state.json").read_text())
            journal = runs[0] / "world" / "journal.jsonl"
            if state["nights"] and journal.is_file() and journal.stat().st_size > 50_000:
                break  # night 1 done and day 2 well under way
        time.sleep(0.2)
    assert loop.poll() is None, loop.stderr.read().decode()[-3000:] if loop.stderr else ""
    loop.send_signal(signal.SIGKILL)
    loop.wait()
    run_id = runs[0].name
    resumed = subprocess.run(
        [sys.executable, "-m", "tinyworld.cli", "up", "--resume", run_id, "--runs", str(tmp_path), "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    result = json.loads(resumed.stdout)
    assert result["days_lived"] == 2
    state = json.loads((runs[0] / "state.json").read_text())
    ids = lake_events(runs[0])["event_id"]
    assert len(ids) == len(set(ids.to_pylist())) == sum(int(d["world"]["events"]) for d in state["days"])
