"""The register and promote steps end to end on a local registry, a tiny model and a Parquet table."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from components.etl.experiments import compare_arms
from components.etl.tables import EXPERIMENTS, arrow_schema
from components.registry.decision import CHALLENGER_ARM, CHAMPION_ARM, model_version_label
from components.registry.registry import CHALLENGER, CHAMPION, DEFAULT_MODEL_NAME, Registry
from components.registry.step import PromoteParams, RegisterParams, RegisterResult, run_promote, run_register
from components.step import Lineage, StepIO, Window
from tests.unit.components.registry.conftest import MakeEvaluation, MakeModel
from tests.unit.components.registry.test_registry_decision import DAY, EXPERIMENT, arm_summary, served

IO = StepIO()


def _experiments(
    folder: Path,
    challenger_ctr: float | None,
    *,
    versions: tuple[int, int] | None = (1, 2),
    extra: tuple[dict[str, Any], ...] = (),
) -> Path:
    """An experiments table as the ETL writes it (Parquet part and _SUCCESS); None: champion arm only.

    ``versions``: the registry versions the champion's and the challenger's arms served (None: the
    events carried none); ``extra``: more per-arm summaries (other days or experiments).
    """
    summaries = [arm_summary(CHAMPION_ARM, 1000, 0.05, d1=(10, 5))]
    if challenger_ctr is not None:
        summaries.append(arm_summary(CHALLENGER_ARM, 1000, challenger_ctr, d1=(10, 5)))
    served_rows = []
    if versions is not None:
        for arm, version in zip((CHAMPION_ARM, CHALLENGER_ARM), versions, strict=True):
            served_rows += served(arm, model_version_label(DEFAULT_MODEL_NAME, version))
    folder.mkdir(parents=True)
    rows = compare_arms([*summaries, *extra], versions=served_rows)
    table = pa.Table.from_pylist(rows, schema=arrow_schema(EXPERIMENTS))
    pq.write_table(table, folder / "part-00000.parquet")
    (folder / "_SUCCESS").write_text("")
    return folder


def _register(tmp_path: Path, make_model: MakeModel, evaluation: Path | None, **extra: Any) -> int:
    params = RegisterParams(
        registry_root=str(tmp_path / "reg"),
        model=str(make_model()),
        evaluation=None if evaluation is None else str(evaluation),
        **extra,
    )
    return run_register(params, IO).version


def _promote(tmp_path: Path, experiments: Path | None = None, **extra: Any) -> Any:
    params = PromoteParams(
        registry_root=str(tmp_path / "reg"), experiments=str(experiments or tmp_path / "absent"), **extra
    )
    return run_promote(params, IO)


def test_register_carries_the_facts_the_evaluation_and_the_lineage(
    tmp_path: Path, make_model: MakeModel, make_evaluation: MakeEvaluation
) -> None:
    """The version holds data window, features, code version, evaluation and training's lineage; challenger set.

    The register lineage's window is the event window found along training's chain (here the ETL's).
    """
    etl = Lineage(step="etl", window=Window(start=date(2026, 1, 1), end=date(2026, 1, 7)))
    train = Lineage(step="train", upstream=[etl])
    params = RegisterParams(
        registry_root=str(tmp_path / "reg"),
        model=str(make_model(lineage=train.model_dump(mode="json"))),
        evaluation=str(make_evaluation(True)),
        description="nightly",
    )
    result = run_register(params, IO)
    assert (result.model_name, result.version, result.model_version) == (DEFAULT_MODEL_NAME, 1, "v-a")
    assert result.alias == CHALLENGER and result.offline_passed is True
    assert result.lineage.step == "register" and result.lineage.upstream == [train]
    assert result.lineage.window == etl.window and result.lineage.inputs["evaluation"].endswith(".json")
    assert RegisterParams.model_validate_json(params.model_dump_json()) == params  # JSON round trip
    record = Registry(tmp_path / "reg").show(DEFAULT_MODEL_NAME, CHALLENGER)
    assert record.data_window == {"min_ts": "2026-01-01", "max_ts": "2026-01-07"}
    assert record.features == {"user": ["user_id"], "item": ["item_id", "text_vec"]}
    assert record.code_version == "abc123" and record.description == "nightly"
    assert record.evaluation is not None and record.evaluation["promotion"]["promote"] is True
    assert record.lineage == train.model_dump(mode="json") and record.metrics["ndcg_at_k"] == 0.3


def test_register_of_a_rejected_model_sets_no_alias(
    tmp_path: Path, make_model: MakeModel, make_evaluation: MakeEvaluation
) -> None:
    """A model the evaluation rejected is registered for the record but not made challenger."""
    result = run_register(
        RegisterParams(
            registry_root=str(tmp_path / "reg"), model=str(make_model()), evaluation=str(make_evaluation(False))
        ),
        IO,
    )
    assert result.version == 1 and result.alias is None and result.offline_passed is False
    assert "rejected version 1" in result.reason
    assert Registry(tmp_path / "reg").aliases(DEFAULT_MODEL_NAME) == {}


def test_the_first_model_to_pass_becomes_champion_then_models_are_challengers(
    tmp_path: Path, make_model: MakeModel, make_evaluation: MakeEvaluation
) -> None:
    """With first_is_champion (the nightly rule) the first passing version is the champion; the next, challenger."""

    def register(passed: bool) -> RegisterResult:
        params = RegisterParams(
            registry_root=str(tmp_path / "reg"),
            model=str(make_model()),
            evaluation=str(make_evaluation(passed)),
            first_is_champion=True,
        )
        return run_register(params, IO)

    rejected, first, second = register(False), register(True), register(True)
    assert rejected.alias is None
    assert (first.version, first.alias) == (2, CHAMPION) and "first model, no champion yet" in first.reason
    assert (second.version, second.alias) == (3, CHALLENGER)
    assert Registry(tmp_path / "reg").aliases(DEFAULT_MODEL_NAME) == {CHAMPION: 2, CHALLENGER: 3}


def test_register_bad_inputs(tmp_path: Path, make_model: MakeModel) -> None:
    """A missing report, a non-JSON report and a promotion block without a boolean are clear errors."""
    model = str(make_model())
    bad = tmp_path / "bad.json"
    for text, match in (("not json", "is not JSON"), ('{"promotion": {"promote": "yes"}}', "boolean 'promote'")):
        bad.write_text(text)
        with pytest.raises(ValueError, match=match):
            run_register(RegisterParams(registry_root=str(tmp_path / "reg"), model=model, evaluation=str(bad)), IO)
    with pytest.raises(FileNotFoundError, match="no evaluation report"):
        run_register(
            RegisterParams(registry_root=str(tmp_path / "reg"), model=model, evaluation=str(tmp_path / "x.json")), IO
        )


def test_promote_first_model_without_an_experiment(
    tmp_path: Path, make_model: MakeModel, make_evaluation: MakeEvaluation
) -> None:
    """No champion yet: a challenger its evaluation cleared is promoted, without reading any table."""
    _register(tmp_path, make_model, make_evaluation(True))
    result = _promote(tmp_path)
    assert (result.decision, result.champion, result.challenger, result.new_champion) == ("promote", None, 1, 1)
    assert "first model" in result.reason and result.figures is None
    registry = Registry(tmp_path / "reg")
    assert registry.aliases(DEFAULT_MODEL_NAME)[CHAMPION] == 1
    assert registry.alias_history(DEFAULT_MODEL_NAME)[-1].reason == result.reason


def test_promote_keeps_without_a_challenger(tmp_path: Path) -> None:
    """No challenger alias (even no model at all): keep, and say so."""
    result = _promote(tmp_path)
    assert result.decision == "keep" and "no challenger alias" in result.reason and result.lineage.outputs == {}


@pytest.mark.parametrize(
    ("challenger_ctr", "decision", "champion_after", "challenger_after"),
    [(0.07, "promote", 2, 2), (0.03, "retire", 1, None), (None, "keep", 1, 2)],
)
def test_promote_judges_the_experiment(
    tmp_path: Path,
    make_model: MakeModel,
    make_evaluation: MakeEvaluation,
    challenger_ctr: float | None,
    decision: str,
    champion_after: int,
    challenger_after: int | None,
) -> None:
    """Champion v1 vs challenger v2 on the table: a win promotes, a loss retires, no challenger data keeps."""
    _register(tmp_path, make_model, make_evaluation(True))
    _promote(tmp_path)  # v1 becomes the champion
    _register(tmp_path, make_model, make_evaluation(True))  # v2 the challenger
    table = _experiments(tmp_path / "etl" / "experiments", challenger_ctr)
    window = Window(start=DAY, end=DAY)
    result = _promote(tmp_path, table, window=window)
    assert (result.decision, result.champion, result.challenger) == (decision, 1, 2)
    assert result.new_champion == champion_after and result.figures is not None
    assert f"experiment {EXPERIMENT} on {DAY}" in result.reason and "(window 2026-01-08..2026-01-08)" in result.reason
    assert result.lineage.window == window and result.lineage.inputs["experiments"] == str(table)
    aliases = Registry(tmp_path / "reg").aliases(DEFAULT_MODEL_NAME)
    assert aliases[CHAMPION] == champion_after and aliases.get(CHALLENGER) == challenger_after
    last = Registry(tmp_path / "reg").alias_history(DEFAULT_MODEL_NAME)[-1]
    if decision != "keep":
        assert last.action == decision and last.reason == result.reason
        details = last.details
        assert details["diff"] == pytest.approx(result.figures.diff) and details["low"] < details["high"]
        assert (details["date"], details["experiment"]) == (DAY.isoformat(), EXPERIMENT)
        assert details["champion"]["model_version"] == "recommender:v1" and details["champion"]["value"] == 0.05
        assert details["challenger"]["model_version"] == "recommender:v2"
        assert details["srm_p_value"] == 1.0 and details["p_value"] is not None
        assert [rail["metric"] for rail in details["guard_rails"]] == ["engagement", "d1"]
    output = json.loads(result.model_dump_json())  # the step's output carries the same figures
    assert output["figures"]["experiment"] == EXPERIMENT and output["figures"]["date"] == DAY.isoformat()


def test_promote_keeps_when_the_aliases_moved(
    tmp_path: Path, make_model: MakeModel, make_evaluation: MakeEvaluation
) -> None:
    """A challenger alias that no longer points at the version that served the window is not judged."""
    _register(tmp_path, make_model, make_evaluation(True))
    _promote(tmp_path)
    _register(tmp_path, make_model, make_evaluation(True))
    table = _experiments(tmp_path / "experiments", 0.07)
    result = _promote(tmp_path, table, challenger_version=5)
    assert result.decision == "keep" and "aliases moved" in result.reason
    assert Registry(tmp_path / "reg").aliases(DEFAULT_MODEL_NAME) == {CHAMPION: 1, CHALLENGER: 2}


def test_promote_refused_offline_keeps(tmp_path: Path, make_model: MakeModel, make_evaluation: MakeEvaluation) -> None:
    """An online win of a version the evaluation rejected (made challenger by hand) is kept, not promoted."""
    _register(tmp_path, make_model, make_evaluation(True))
    _promote(tmp_path)
    version = _register(tmp_path, make_model, make_evaluation(False))
    Registry(tmp_path / "reg").set_alias(DEFAULT_MODEL_NAME, CHALLENGER, version, reason="by hand")
    result = _promote(tmp_path, _experiments(tmp_path / "experiments", 0.07))
    assert result.decision == "keep" and "not cleared for promotion" in result.reason
    assert Registry(tmp_path / "reg").aliases(DEFAULT_MODEL_NAME)[CHAMPION] == 1


def test_promote_needs_the_table(tmp_path: Path, make_model: MakeModel, make_evaluation: MakeEvaluation) -> None:
    """With a champion and a challenger, a missing experiments table is a clear FileNotFoundError."""
    _register(tmp_path, make_model, make_evaluation(True))
    _promote(tmp_path)
    _register(tmp_path, make_model, make_evaluation(True))
    with pytest.raises(FileNotFoundError, match="no experiments table at"):
        _promote(tmp_path)


def test_promote_reads_the_day_and_experiment_asked_for(
    tmp_path: Path, make_model: MakeModel, make_evaluation: MakeEvaluation
) -> None:
    """date and experiment select the rows judged; by default the latest day's experiment with both arms."""
    _register(tmp_path, make_model, make_evaluation(True))
    _promote(tmp_path)
    _register(tmp_path, make_model, make_evaluation(True))
    earlier = date(2026, 1, 7)
    extra = [
        arm_summary(CHAMPION_ARM, 1000, 0.05, day=earlier, experiment="yesterday"),
        arm_summary(CHALLENGER_ARM, 1000, 0.03, day=earlier, experiment="yesterday"),
    ]
    table = _experiments(tmp_path / "experiments", 0.0502, extra=tuple(extra))
    latest = _promote(tmp_path, table, window_complete=False)  # 2026-01-08: inconclusive
    assert latest.decision == "keep" and latest.figures is not None and latest.figures.experiment == EXPERIMENT
    missing = _promote(tmp_path, table, date=earlier, experiment="nope")
    assert missing.decision == "keep" and "no data for the challenger's arm" in missing.reason
    asked = _promote(tmp_path, table, date=earlier, experiment="yesterday", window_complete=False)
    assert asked.decision == "retire" and asked.figures is not None
    assert (asked.figures.date, asked.figures.experiment) == (earlier, "yesterday")
    assert asked.figures.challenger is not None and asked.figures.challenger.model_version is None


def test_promote_keeps_when_the_arm_served_another_version(
    tmp_path: Path, make_model: MakeModel, make_evaluation: MakeEvaluation
) -> None:
    """A table whose challenger arm served version 3 cannot judge the challenger alias's version 2."""
    _register(tmp_path, make_model, make_evaluation(True))
    _promote(tmp_path)
    _register(tmp_path, make_model, make_evaluation(True))
    table = _experiments(tmp_path / "experiments", 0.07, versions=(1, 3))
    result = _promote(tmp_path, table)
    assert result.decision == "keep" and "served recommender:v3, not recommender:v2" in result.reason
    assert Registry(tmp_path / "reg").aliases(DEFAULT_MODEL_NAME) == {CHAMPION: 1, CHALLENGER: 2}
