"""`tinyworld registry`: register, list, show, promote (gated by the recorded decision), retire, decide, errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from components.train.artifact import ModelArtifact, save_model
from tinyworld.commands.registry import app

runner = CliRunner()


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No TINYWORLD_* from the shell; the default registry root lies under tmp_path."""
    for key in [k for k in __import__("os").environ if k.upper().startswith("TINYWORLD_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("TINYWORLD_REGISTRY_ROOT", str(tmp_path / "registry"))


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    """A tiny saved model."""
    artifact = ModelArtifact(
        item_ids=np.arange(3), item_embeddings=np.eye(3, dtype=np.float32), metadata={"version": "t"}
    )
    save_model(artifact, tmp_path / "model")
    return tmp_path / "model"


def _evaluation(tmp_path: Path, promote: bool) -> Path:
    path = tmp_path / f"eval-{promote}.json"
    report = {
        "model": {"ndcg_at_k": 0.25, "recall_at_k": 0.5},
        "popularity": {"ndcg_at_k": 0.1},
        "protocol": {"k": 10},
        "promotion": {"promote": promote, "reason": "promoted" if promote else "not promoted: ndcg_vs_champion"},
    }
    path.write_text(json.dumps(report), encoding="utf-8")
    return path


def test_register_list_show_promote(model_dir: Path, tmp_path: Path) -> None:
    """The happy path on the environment's registry root, with JSON and table output."""
    evaluation = str(_evaluation(tmp_path, promote=True))
    first = runner.invoke(app, ["register", str(model_dir), "--name", "recsys", "--evaluation", evaluation])
    assert first.exit_code == 0, first.output
    assert "registered recsys version 1" in first.stdout
    second = runner.invoke(app, ["register", str(model_dir), "--name", "recsys", "--evaluation", evaluation, "--json"])
    assert json.loads(second.stdout)["version"] == 2
    assert json.loads(second.stdout)["alias"] == "challenger"
    promoted = runner.invoke(app, ["promote", "recsys", "--version", "2", "--reason", "by hand"])
    assert promoted.exit_code == 0, promoted.output
    assert "champion -> version 2 (was unset)" in promoted.stdout
    path = runner.invoke(app, ["show", "recsys", "--path"])
    assert path.stdout.strip().endswith("recsys/versions/2")
    models = runner.invoke(app, ["list", "--json"])
    assert json.loads(models.stdout) == [{"name": "recsys", "versions": 2, "aliases": {"champion": 2, "challenger": 2}}]
    versions = runner.invoke(app, ["list", "recsys"])
    assert versions.exit_code == 0 and "ndcg_at_k" in versions.stdout and "0.2500" in versions.stdout
    shown = runner.invoke(app, ["show", "recsys", "--version", "1", "--json"])
    assert json.loads(shown.stdout)["metrics"]["recall_at_k"] == 0.5


def test_promotion_refused_by_the_recorded_decision(model_dir: Path, tmp_path: Path) -> None:
    """A version whose evaluation said 'do not promote' needs --force (exit 1 otherwise)."""
    evaluation = str(_evaluation(tmp_path, promote=False))
    assert (
        runner.invoke(app, ["register", str(model_dir), "--name", "recsys", "--evaluation", evaluation]).exit_code == 0
    )
    refused = runner.invoke(app, ["promote", "recsys", "--version", "1", "--reason", "try"])
    assert refused.exit_code == 1 and "not cleared for promotion" in refused.output
    forced = runner.invoke(app, ["promote", "recsys", "--version", "1", "--reason", "hotfix", "--force", "--json"])
    assert forced.exit_code == 0 and json.loads(forced.stdout)["version"] == 1
    history = json.loads(runner.invoke(app, ["history", "recsys", "--json"]).stdout)
    assert history[-1]["forced"] is True and history[-1]["reason"].startswith("hotfix (forced")


def test_retire_and_history(model_dir: Path, tmp_path: Path) -> None:
    """retire removes the challenger with its reason; history shows every change; the champion cannot be retired."""
    evaluation = str(_evaluation(tmp_path, promote=True))
    runner.invoke(app, ["register", str(model_dir), "--name", "recsys", "--evaluation", evaluation])
    retired = runner.invoke(app, ["retire", "recsys", "--reason", "lost the A/B test"])
    assert retired.exit_code == 0 and "challenger retired (was version 1)" in retired.stdout
    table = runner.invoke(app, ["history", "recsys"])
    assert table.exit_code == 0 and "retire" in table.stdout and "lost the A/B" in table.stdout
    refused = runner.invoke(app, ["retire", "recsys", "--alias", "champion", "--reason", "no"])
    assert refused.exit_code == 2 and "cannot be retired" in refused.output


def test_decide_promotes_the_first_model(model_dir: Path, tmp_path: Path) -> None:
    """decide with no champion yet promotes the cleared challenger and prints the reason."""
    evaluation = str(_evaluation(tmp_path, promote=True))
    runner.invoke(app, ["register", str(model_dir), "--evaluation", evaluation])
    result = runner.invoke(app, ["decide", "--experiments", str(tmp_path / "none"), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["decision"] == "promote"
    shown = runner.invoke(app, ["show", "recommender", "--json"])
    assert json.loads(shown.stdout)["aliases"] == ["challenger", "champion"]


def test_decide_judges_the_day_and_experiment_asked_for(model_dir: Path, tmp_path: Path) -> None:
    """--date and --experiment select the rows of the table; the JSON carries the figures judged."""
    from tests.unit.components.registry.test_registry_decision import DAY, EXPERIMENT
    from tests.unit.components.registry.test_registry_step import _experiments

    evaluation = str(_evaluation(tmp_path, promote=True))
    for _ in range(2):
        runner.invoke(app, ["register", str(model_dir), "--evaluation", evaluation])
    runner.invoke(app, ["promote", "recommender", "--version", "1", "--reason", "first"])
    table = _experiments(tmp_path / "experiments", 0.07)
    args = ["decide", "--experiments", str(table), "--date", DAY.isoformat(), "--experiment", EXPERIMENT, "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    output = json.loads(result.stdout)
    assert output["decision"] == "promote" and output["figures"]["experiment"] == EXPERIMENT
    other = runner.invoke(app, ["decide", "--experiments", str(table), "--date", "2026-01-01"])
    assert other.exit_code == 0 and "keep: the challenger is already the champion" in other.stdout


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["list", "nope"], "no model named 'nope'"),
        (["show", "recsys"], "no alias 'champion'"),
        (["show", "recsys", "--version", "7"], "no version 7"),
        (["promote", "recsys", "--version", "7", "--reason", "r"], "no version 7"),
        (["promote", "recsys", "--version", "1", "--reason", " "], "a reason is required"),
        (["retire", "recsys", "--reason", "r"], "no alias 'challenger'"),
        (["decide", "--name", "recsys", "--experiments", "x", "--metric", "dwell"], "metric"),
        (["decide", "--name", "recsys", "--experiments", "x", "--date", "yesterday"], "date"),
        (["show", "recsys", "--version", "1", "--alias", "champion"], "not both"),
    ],
)
def test_bad_requests_exit_2_without_traceback(model_dir: Path, args: list[str], needle: str) -> None:
    """Unknown models, versions and aliases: exit 2 and one 'Error:' line."""
    runner.invoke(app, ["register", str(model_dir), "--name", "recsys", "--no-alias"])
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert "Error:" in result.output and needle in result.output and "Traceback" not in result.output


def test_register_unknown_model_path(tmp_path: Path) -> None:
    """Registering a folder that holds no model is a one-line error."""
    result = runner.invoke(app, ["register", str(tmp_path / "nowhere"), "--name", "recsys"])
    assert result.exit_code == 2 and "no model at" in result.output
