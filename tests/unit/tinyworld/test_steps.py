"""The Settings -> step parameters mapping: the nightly layout, windows, and the date split."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from components.etl.step import EtlStepResult
from components.split.run import SplitSummary
from components.split.splitters import SplitConfig
from components.split.step import SplitResult
from components.step import Lineage, Window
from components.train.config import TrainConfig
from components.train.step import TrainResult
from tinyworld import steps
from tinyworld.pipelines.tasks import night_of, options_of
from tinyworld.settings import Settings

DAY = date(2026, 1, 3)


def _settings(tmp_path: Path) -> Settings:
    return Settings(artifacts_root=str(tmp_path / "a"), lake_root=str(tmp_path / "lake"))


def _etl_result(settings: Settings, day: date) -> EtlStepResult:
    params = steps.etl(settings, day, steps.NightlyOptions(history_days=3))
    lineage = Lineage(step="etl", inputs={"lake": params.lake}, window=Window(start=params.start, end=params.end))
    return EtlStepResult(out=params.out, events=10, rows={}, seconds={}, lineage=lineage)


def test_the_nights_etl_ends_on_its_day_and_spans_the_history(tmp_path: Path) -> None:
    """The ETL window is history_days long, ends on the night's day, and writes under nightly/dt=D."""
    settings = _settings(tmp_path)
    params = steps.etl(settings, DAY, steps.NightlyOptions(history_days=3))
    assert (params.start, params.end) == (date(2026, 1, 1), DAY)
    assert params.out == str(tmp_path / "a" / "nightly" / "dt=2026-01-03" / "etl")
    assert params.spark_master == settings.spark_master


def test_object_store_roots_stay_urls() -> None:
    """An s3:// artifacts root yields s3:// step locations, never a local folder named 's3:'."""
    settings = Settings(artifacts_root="s3://bucket/artifacts", s3_endpoint_url="http://127.0.0.1:9000")
    assert steps.etl(settings, DAY).out == "s3://bucket/artifacts/nightly/dt=2026-01-03/etl"
    assert steps.io(settings).storage.s3_endpoint_url == "http://127.0.0.1:9000"


def test_validation_covers_the_nights_day_and_every_table(tmp_path: Path) -> None:
    """The gate validates the raw events of the last day and the ETL's tables; state carries over nights."""
    settings = _settings(tmp_path)
    params = steps.validate(settings, _etl_result(settings, DAY))
    assert params.window == Window(start=DAY, end=DAY)
    assert params.etl_out is not None and params.etl_out.endswith("dt=2026-01-03/etl")
    assert params.state == str(tmp_path / "a" / "validation" / "state.json")


def test_split_is_a_date_split_on_the_nights_day(tmp_path: Path) -> None:
    """Training sees the days before the night; the night's day is the test set."""
    settings = _settings(tmp_path)
    params = steps.split(settings, _etl_result(settings, DAY))
    assert params.config.by == "date" and params.config.test_day == DAY
    assert params.interactions.endswith("etl/interactions")


def test_refit_trains_the_same_config_on_the_whole_window(tmp_path: Path) -> None:
    """Once evaluated, the candidate's config is trained again on every day of the ETL, test day included."""
    settings = _settings(tmp_path)
    etl_result = _etl_result(settings, DAY)
    options = steps.NightlyOptions(train={"epochs": 5}, nproc=2)
    trained = TrainResult(
        model="m", version="v", card="c", summary={}, lineage=Lineage(step="train", inputs={"interactions": "split"})
    )
    params = steps.refit(settings, etl_result, trained, options)
    assert params.interactions == etl_result.table("interactions")
    assert params.out == str(tmp_path / "a" / "nightly" / "dt=2026-01-03" / "refit")
    assert params.config.epochs == 5 and params.nproc == 2
    assert [lineage.step for lineage in params.upstream] == ["train", "etl"]


def test_night_of_resolves_empty_to_yesterday_and_rejects_garbage() -> None:
    """An empty day is yesterday (UTC); a malformed one is a clear error."""
    assert night_of("2026-01-03") == DAY
    assert night_of("") == datetime.now(UTC).date() - timedelta(days=1)
    with pytest.raises(ValueError, match="not a date"):
        night_of("03/01/2026")


def test_nightly_options_from_json() -> None:
    """Options travel as JSON; empty means the defaults, unknown keys are refused."""
    assert options_of("") == steps.NightlyOptions()
    assert options_of('{"history_days": 2}').history_days == 2
    with pytest.raises(ValueError, match="extra"):
        options_of('{"histroy_days": 2}')


def test_refit_keeps_the_family_and_settings_training_picked(tmp_path: Path) -> None:
    """The refit fits the chosen family, lambda, weights, epochs and searched settings again: nothing is re-chosen."""
    settings = _settings(tmp_path)
    etl_result = _etl_result(settings, DAY)
    picked = {
        "chosen": {"family": "ease+two-tower", "ease_lambda": 100.0, "weight": 2.0, "popularity": 1.0},
        "epochs": 4,
        "tuned": {"dim": 64, "lr": 0.005},
    }
    trained = TrainResult(
        model="m",
        version="v",
        card="c",
        summary={"selection": picked},
        lineage=Lineage(step="train", inputs={"interactions": "split"}),
    )
    config = steps.refit(settings, etl_result, trained).config
    assert config.epochs == 4 and config.dim == 64 and config.lr == 0.005
    assert config.selection.validation == "none"
    assert config.selection.families == ("ease+two-tower",)
    assert config.selection.ease_lambdas == (100.0,) and config.selection.blend_weights == (2.0,)
    assert config.selection.popularity_weights == (1.0,)


@pytest.mark.parametrize(("by", "cut"), [("date", "last-day"), ("temporal", "temporal")])
def test_training_holds_out_what_the_nights_split_holds_out(tmp_path: Path, by: str, cut: str) -> None:
    """The family is picked on the last day before a date split's test day, or on users' latest rows."""
    settings = _settings(tmp_path)
    etl_result = _etl_result(settings, DAY)
    config = SplitConfig(by="date", test_day=DAY) if by == "date" else SplitConfig(by="temporal")
    counts = dict.fromkeys(
        ("rows", "train_rows", "test_rows", "users", "test_users", "train_only_users", "train_positives"), 1
    )
    summary = SplitSummary(source="s", out="o", config=config, positive_rule="label", test_positives=1, **counts)
    split = SplitResult(train="t", test="e", summary=summary, lineage=Lineage(step="split", inputs={}))
    assert steps.train(settings, etl_result, split).config.selection.validation == cut
    fixed = {"validation": "none", "families": ["two-tower"], "popularity_weights": [0.0]}
    pinned = steps.NightlyOptions(train={"selection": fixed})
    assert steps.train(settings, etl_result, split, pinned).config.selection.validation == "none"


def test_the_nightly_pipeline_offers_no_popularity_term_unless_asked(tmp_path: Path) -> None:
    """A night's logs are its own serving's: training's defaults less the term; options may offer it again."""
    settings = _settings(tmp_path)
    etl_result = _etl_result(settings, DAY)
    counts = dict.fromkeys(
        ("rows", "train_rows", "test_rows", "users", "test_users", "train_only_users", "train_positives"), 1
    )
    config = SplitConfig(by="date", test_day=DAY)
    summary = SplitSummary(source="s", out="o", config=config, positive_rule="label", test_positives=1, **counts)
    split = SplitResult(train="t", test="e", summary=summary, lineage=Lineage(step="split", inputs={}))
    selection = steps.train(settings, etl_result, split).config.selection
    assert selection.popularity_weights == (0.0,)
    assert selection.ease_lambdas == TrainConfig().selection.ease_lambdas  # the rest of training's defaults
    offered = steps.NightlyOptions(train={"selection": {"popularity_weights": [0.0, 0.5]}})
    assert steps.train(settings, etl_result, split, offered).config.selection.popularity_weights == (0.0, 0.5)
    assert offered.train.selection.ease_lambdas == TrainConfig().selection.ease_lambdas
    other = options_of('{"train": {"epochs": 4}}')  # options given in part keep the night's selection
    assert other.train.epochs == 4 and other.train.selection.popularity_weights == (0.0,)
