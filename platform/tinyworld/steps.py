"""From an environment's settings to each step's parameters: the one place that wires the steps.

Every consumer (the CLI, the Kubeflow components, the closed loop, the benchmarks) builds a
step's parameters here, so the roots, the nightly layout and the defaults are decided once.
The nightly layout under ``artifacts_root``::

    nightly/dt=YYYY-MM-DD/etl/<table>/          the ETL's tables for the night's window
    nightly/dt=YYYY-MM-DD/validation/           report.html, results.json
    nightly/dt=YYYY-MM-DD/split/                train.parquet, test.parquet, split.json
    nightly/dt=YYYY-MM-DD/model/                the candidate model and its card
    nightly/dt=YYYY-MM-DD/evaluation.json       the offline evaluation
    nightly/dt=YYYY-MM-DD/experiment/           the day's A/B outcome (the promote pipeline's ETL)
    validation/state.json                       row counts carried from night to night
    features/                                   Feast's registry (and SQLite online store)
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from components.etl.job import EtlOptions
from components.etl.step import EtlParams, EtlStepResult, ExperimentLogLocation
from components.evaluate.promotion import PromotionConfig
from components.evaluate.step import EvaluateParams, EvaluateResult
from components.features.config import FeatureStoreConfig
from components.features.step import FeaturesParams
from components.registry.registry import DEFAULT_MODEL_NAME
from components.registry.step import PromoteParams, RegisterParams
from components.split.splitters import SplitConfig
from components.split.step import SplitParams, SplitResult
from components.step import Lineage, Progress, StepIO, Window
from components.storage import Root, resolve
from components.train.config import TrainConfig
from components.train.step import TrainParams, TrainResult
from components.validate.step import ValidateParams
from tinyworld.settings import Settings

NIGHTLY_DIR = "nightly"
VALIDATION_STATE = "validation/state.json"
FEATURES_DIR = "features"


def nightly_train_config() -> TrainConfig:
    """Training's defaults, less the popularity term: a night's logs are the platform's own serving.

    Held-out clicks of those logs follow what the serving policy showed (popularity on the first
    day, the champion after), so a popularity term wins offline by ranking the policy's own picks
    higher, whether or not users prefer them: in the loop it was picked every night on one seed and
    lowered its challenger's live score (docs/loop.md). The A/B test judges a model on live traffic;
    the term stays for logs from elsewhere (``tinyworld train``), and options can offer it again.
    """
    config = TrainConfig()
    return config.model_copy(update={"selection": config.selection.model_copy(update={"popularity_weights": (0.0,)})})


class NightlyOptions(BaseModel):
    """The knobs of one night that are not the environment's: history, model and processes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # days of events the night's ETL reports (the night's day included); training sees all but the last
    history_days: int = Field(7, ge=2, le=90)
    train: TrainConfig = Field(default_factory=nightly_train_config)  # the model's hyper-parameters
    nproc: int = Field(1, ge=1, le=64)  # training processes (torchrun above 1)
    promotion: PromotionConfig = Field(default_factory=PromotionConfig)  # the offline gate to challenger
    # date: the days before the night's day train and the day tests; temporal: each user's latest
    # interactions test (a first night, when no earlier day exists to train on)
    split_by: Literal["date", "temporal"] = "date"
    # once the candidate passes offline, train it again with the same config on the whole window
    # (the test day included) and register that fit: the served model then knows the newest day's
    # users and items. The gate judged the held-out fit; the refit only adds the day it held out
    refit: bool = True

    @field_validator("train", mode="before")
    @classmethod
    def _over_the_nightly_defaults(cls, value: object) -> object:
        """Training options given in part override the nightly defaults, not training's own.

        ``{"epochs": 4}`` keeps the night's selection (no popularity term); a ``selection`` given
        in part is merged into the night's the same way.
        """
        if not isinstance(value, dict):
            return value
        base = nightly_train_config().model_dump()
        return {**base, **value, "selection": {**base["selection"], **value.get("selection", {})}}


def io(settings: Settings, progress: Progress | None = None) -> StepIO:
    """The I/O context every step of this environment runs with."""
    return StepIO(storage=settings.storage(), progress=progress) if progress else StepIO(settings.storage())


def artifacts(settings: Settings) -> Root:
    """The environment's artifacts root."""
    return resolve(settings.artifacts_root, settings.storage())


@dataclass(frozen=True)
class Night:
    """Where one night's outputs live (the module doc's layout)."""

    root: Root  # <artifacts_root>/nightly/dt=<day>
    day: date

    @classmethod
    def of(cls, settings: Settings, day: date) -> Night:
        return cls(artifacts(settings).join(NIGHTLY_DIR, f"dt={day.isoformat()}"), day)

    @property
    def etl(self) -> str:
        return self.root.join("etl").url

    @property
    def validation(self) -> str:
        return self.root.join("validation").url

    @property
    def split(self) -> str:
        return self.root.join("split").url

    @property
    def model(self) -> str:
        return self.root.join("model").url

    @property
    def refit(self) -> str:
        return self.root.join("refit").url

    @property
    def evaluation(self) -> str:
        return self.root.join("evaluation.json").url

    @property
    def experiment(self) -> str:
        return self.root.join("experiment").url


def etl(settings: Settings, day: date, options: NightlyOptions | None = None) -> EtlParams:
    """The night's ETL: the ``history_days`` days that end on ``day``."""
    history = (options or NightlyOptions()).history_days
    return EtlParams(
        lake=settings.lake_root,
        out=Night.of(settings, day).etl,
        start=day - timedelta(days=history - 1),
        end=day,
        spark_master=settings.spark_master,
    )


def validate(settings: Settings, etl_result: EtlStepResult) -> ValidateParams:
    """The gate over the night's raw events (its last day) and every table the ETL wrote."""
    window = etl_result.lineage.window
    assert window is not None  # the ETL always records its window
    return ValidateParams(
        report=Night.of(settings, window.end).validation,
        lake=etl_result.lineage.inputs["lake"],
        window=Window(start=window.end, end=window.end),
        etl_out=etl_result.out,
        tables_end=window.end,
        state=artifacts(settings).join(VALIDATION_STATE).url,
    )


def feature_store(settings: Settings) -> FeatureStoreConfig:
    """The feature store of an environment: state under ``<artifacts_root>/features``, its stores and Spark.

    The offline store follows where the ETL writes (under ``artifacts_root``): Dask reads local
    Parquet, Spark reads an object store. Raises ValueError for settings the store cannot use.
    """
    return FeatureStoreConfig(
        source_dir=settings.feature_repo,
        state=artifacts(settings).join(FEATURES_DIR).url,
        online_store=settings.online_store,
        redis_url=settings.redis_url,
        offline_store="file" if artifacts(settings).is_local else "spark",
        spark_master=settings.spark_master,
    )


def features(settings: Settings, etl_result: EtlStepResult) -> FeaturesParams:
    """Apply the definitions over the night's tables and materialise up to their newest row."""
    return FeaturesParams(etl_out=etl_result.out, store=feature_store(settings))


def split(settings: Settings, etl_result: EtlStepResult, options: NightlyOptions | None = None) -> SplitParams:
    """The night's split: by date (the days before the night's day train, the day tests), or temporal."""
    window = etl_result.lineage.window
    assert window is not None
    by_date = (options or NightlyOptions()).split_by == "date"
    return SplitParams(
        interactions=etl_result.table("interactions"),
        out=Night.of(settings, window.end).split,
        config=SplitConfig(by="date", test_day=window.end) if by_date else SplitConfig(by="temporal"),
    )


def train(
    settings: Settings, etl_result: EtlStepResult, split_result: SplitResult, options: NightlyOptions | None = None
) -> TrainParams:
    """Train on the split's train half with the ETL's item content; the card carries both lineages.

    The family is picked on a held-out part cut the way the night's split cuts (the last day
    for a date split, each user's latest rows for a temporal one), unless the options pin it.
    """
    options = options or NightlyOptions()
    out = _night_of_etl(settings, etl_result).model
    selection = options.train.selection
    if selection.validation != "none":
        cut = "last-day" if split_result.summary.config.by == "date" else "temporal"
        selection = selection.model_copy(update={"validation": cut})
    config = options.train.model_copy(update={"selection": selection})
    return _training(etl_result, split_result.train, out, split_result.lineage, options, config)


def refit(
    settings: Settings, etl_result: EtlStepResult, trained: TrainResult, options: NightlyOptions | None = None
) -> TrainParams:
    """Fit the evaluated candidate's family and settings again on the night's whole interactions table.

    Nothing is chosen again: the family, EASE's lambda, the blend weight, the popularity term, the
    epochs and any searched two-tower settings are the ones training picked (its summary's ``selection``).
    """
    options = options or NightlyOptions()
    out = _night_of_etl(settings, etl_result).refit
    picked = trained.summary.get("selection", {})
    config = options.train
    if "chosen" in picked:
        chosen = picked["chosen"]
        lam = chosen["ease_lambda"] or config.selection.ease_lambdas[0]
        selection = config.selection.pinned(chosen["family"], lam, chosen["weight"], chosen.get("popularity", 0.0))
        epochs = picked.get("epochs", config.epochs)
        config = config.model_copy(update={**picked.get("tuned", {}), "selection": selection, "epochs": epochs})
    return _training(etl_result, etl_result.table("interactions"), out, trained.lineage, options, config)


def _night_of_etl(settings: Settings, etl_result: EtlStepResult) -> Night:
    """The night whose ETL this is: the end of its window."""
    window = etl_result.lineage.window
    assert window is not None
    return Night.of(settings, window.end)


def _training(
    etl_result: EtlStepResult,
    interactions: str,
    out: str,
    before: Lineage,
    options: NightlyOptions,
    config: TrainConfig,
) -> TrainParams:
    """A night's training: ``interactions`` and the ETL's content tables into ``out``; ``before`` leads the lineage."""
    return TrainParams(
        interactions=interactions,
        out=out,
        items=etl_result.table("item_features"),
        users=etl_result.table("user_features"),
        config=config,
        nproc=options.nproc,
        upstream=[before, etl_result.lineage],
    )


def evaluate(
    settings: Settings, train_result: TrainResult, split_result: SplitResult, options: NightlyOptions | None = None
) -> EvaluateParams:
    """Judge the candidate on the split's test half against popularity and the registry's champion."""
    day = split_result.summary.config.test_day or _night_of(train_result)
    return EvaluateParams(
        model=train_result.model,
        train=split_result.train,
        test=split_result.test,
        report=Night.of(settings, day).evaluation,
        registry=settings.registry_root,
        promotion=(options or NightlyOptions()).promotion,
        upstream=[train_result.lineage],
    )


def _night_of(train_result: TrainResult) -> date:
    """The night a candidate was trained in: the end of its ETL's window."""
    for upstream in train_result.lineage.upstream:
        if upstream.step == "etl" and upstream.window is not None:
            return upstream.window.end
    raise ValueError("the trained model's lineage names no ETL window: cannot tell which night it belongs to")


def register(settings: Settings, train_result: TrainResult, evaluate_result: EvaluateResult) -> RegisterParams:
    """Register the night's candidate and point the challenger alias at it (the champion's, for the first)."""
    return RegisterParams(
        registry_root=settings.registry_root,
        model=train_result.model,
        evaluation=evaluate_result.report,
        first_is_champion=True,
    )


def experiments(settings: Settings, day: date) -> EtlParams:
    """The ETL of one day's A/B outcome only (the ``experiments`` table), for the promote pipeline."""
    return EtlParams(
        lake=settings.lake_root,
        out=Night.of(settings, day).experiment,
        start=day,
        end=day,
        spark_master=settings.spark_master,
        options=EtlOptions(tables=("experiments",)),
        experiment_log=ExperimentLogLocation(registry_root=settings.registry_root, model_name=DEFAULT_MODEL_NAME),
    )


def promote(settings: Settings, experiment: EtlStepResult) -> PromoteParams:
    """Judge the challenger on the day's experiment, against the registry's champion."""
    return PromoteParams(
        registry_root=settings.registry_root,
        experiments=experiment.table("experiments"),
        window=experiment.lineage.window,
        date=experiment.lineage.window.end if experiment.lineage.window else None,
    )


def kfp_root(settings: Settings) -> Path:
    """Where kfp.local keeps its run folders: under a local artifacts root, else in the temporary folder."""
    root = artifacts(settings)
    return Path(root.path if root.is_local else tempfile.gettempdir()) / "kfp"
