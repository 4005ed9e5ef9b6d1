"""Which way a step runs is the environment's: here by default, as a cluster job when its settings say so."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from pydantic import ValidationError

from components.etl.step import EtlParams, EtlStepResult
from components.split.run import SplitSummary
from components.split.splitters import SplitConfig
from components.split.step import SplitResult
from components.step import Lineage, Window
from components.train.step import TrainParams, TrainResult
from tests.unit.tinyworld.launch.fakes import FakeCore, FakeCustom, pod_args
from tinyworld import steps
from tinyworld.launch import dispatch, entry, sparkapp, trainjob
from tinyworld.pipelines import tasks
from tinyworld.settings import Settings

DAY = date(2026, 1, 3)


def etl_result(params: EtlParams) -> EtlStepResult:
    lineage = Lineage(step="etl", window=Window(start=params.start, end=params.end))
    return EtlStepResult(out=params.out, events=10, rows={"interactions": 5}, seconds={"read": 0.1}, lineage=lineage)


def split_result(out: str) -> SplitResult:
    config = SplitConfig(by="date", test_day=DAY)
    summary = SplitSummary(
        source=f"{out}/interactions",
        out=f"{out}/split",
        config=config,
        positive_rule="label == 1",
        rows=5,
        train_rows=4,
        test_rows=1,
        users=2,
        test_users=1,
        train_only_users=0,
        train_positives=3,
        test_positives=1,
    )
    return SplitResult(
        train=f"{out}/split/train.parquet",
        test=f"{out}/split/test.parquet",
        summary=summary,
        lineage=Lineage(step="split"),
    )


def trained(params: TrainParams) -> TrainResult:
    return TrainResult(model=params.out, version="v1", card="c", summary={}, lineage=Lineage(step="train"))


class Recorder:
    """Stands for a launcher or a step's run: records what it was handed and returns a made result."""

    def __init__(self, make: Any) -> None:
        self.make = make
        self.calls: list[tuple[Any, ...]] = []

    def __call__(self, *args: Any) -> Any:
        self.calls.append(args)
        params = next(arg for arg in args if isinstance(arg, EtlParams | TrainParams))
        return self.make(params)


def test_the_defaults_run_both_steps_here(monkeypatch: pytest.MonkeyPatch) -> None:
    """The local runtime is unchanged: the steps' own run, no launcher touched."""
    local = Settings()
    assert (local.train_launcher, local.etl_launcher) == ("process", "inline")
    ran_train, ran_etl = Recorder(trained), Recorder(etl_result)
    monkeypatch.setattr("components.train.step.run", ran_train)
    monkeypatch.setattr("components.etl.step.run", ran_etl)
    monkeypatch.setattr(trainjob, "launch", lambda *args: pytest.fail("launched a TrainJob locally"))
    monkeypatch.setattr(sparkapp, "launch", lambda *args: pytest.fail("launched a SparkApplication locally"))
    params = steps.etl(local, DAY)
    assert dispatch.etl(local, params).out == params.out
    assert ran_etl.calls[0][0] == params
    train_params = TrainParams(interactions="i", out="o")
    assert dispatch.train(local, train_params).model == "o"
    assert ran_train.calls[0][0] == train_params


def test_a_cluster_environment_launches_both(cluster: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """train_launcher=trainjob and etl_launcher=spark-operator hand the steps' parameters to the launchers."""
    launched_train, launched_etl = Recorder(trained), Recorder(etl_result)
    monkeypatch.setattr(trainjob, "launch", launched_train)
    monkeypatch.setattr(sparkapp, "launch", launched_etl)
    monkeypatch.setattr("components.train.step.run", lambda *args: pytest.fail("trained in the task's pod"))
    monkeypatch.setattr("components.etl.step.run", lambda *args: pytest.fail("ran Spark in the task's pod"))
    params = steps.etl(cluster, DAY)
    dispatch.etl(cluster, params)
    assert launched_etl.calls == [(cluster, params)]
    train_params = TrainParams(interactions="i", out="o", nproc=2)
    dispatch.train(cluster, train_params)
    assert launched_train.calls == [(cluster, train_params)]


def test_the_pipeline_tasks_train_and_refit_through_the_dispatch(monkeypatch: pytest.MonkeyPatch) -> None:
    """tasks.train and tasks.refit hand their parameters to dispatch.train, and return its result's JSON."""
    handed: list[TrainParams] = []

    def train(settings: Settings, params: TrainParams) -> TrainResult:
        handed.append(params)
        return trained(params)

    monkeypatch.setattr(dispatch, "train", train)
    local = Settings()
    etl_json = etl_result(steps.etl(local, DAY)).model_dump_json()
    night = steps.Night.of(local, DAY)
    first = tasks.train("local", etl_json, split_result(night.etl).model_dump_json())
    again = tasks.refit("local", etl_json, first)
    assert [params.out for params in handed] == [night.model, night.refit]
    assert TrainResult.model_validate_json(again).model == night.refit


def test_tasks_etl_launches_an_application_in_the_kind_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The kind environment (generated from the chart) launches the ETL: through the kubernetes client's
    CustomObjectsApi (a fake here) to the entry module the driver runs, whose result the task returns."""
    from kubernetes import client, config

    monkeypatch.setenv("TINYWORLD_ARTIFACTS_ROOT", "memory://kind-artifacts")
    kind = Settings.from_environment("kind")
    assert (kind.etl_launcher, kind.train_launcher) == ("spark-operator", "trainjob")
    expected: list[EtlStepResult] = []

    def driver(step: str, params_json: str, io: Any) -> EtlStepResult:
        expected.append(etl_result(EtlParams.model_validate_json(params_json)))
        return expected[0]

    monkeypatch.setattr(entry, "run_step", driver)
    custom = FakeCustom([{"applicationState": {"state": "COMPLETED"}}], on_create=lambda app: entry.main(pod_args(app)))
    monkeypatch.setattr(config, "load_incluster_config", lambda: None)
    monkeypatch.setattr(client, "CustomObjectsApi", lambda: custom)
    monkeypatch.setattr(client, "CoreV1Api", FakeCore)
    out = tasks.etl("kind", DAY.isoformat())
    assert EtlStepResult.model_validate_json(out) == expected[0]
    ((group, _, namespace, plural, app),) = custom.created
    assert (group, namespace, plural) == ("sparkoperator.k8s.io", kind.namespace, "sparkapplications")
    assert app["spec"]["driver"]["serviceAccount"] == kind.spark_service_account


@pytest.mark.parametrize(
    ("values", "error"),
    [
        ({"train_launcher": "trainjob"}, "train_launcher is 'trainjob' but namespace is not set"),
        (
            {"etl_launcher": "spark-operator", "namespace": "tinyworld", "spark_service_account": "s"},
            "artifacts_root 'data/artifacts' is a local folder",
        ),
        (
            {"etl_launcher": "spark-operator", "namespace": "tinyworld", "artifacts_root": "s3://b/a"},
            "spark_service_account is not set",
        ),
    ],
)
def test_settings_refuse_a_launcher_that_cannot_work(values: dict[str, Any], error: str) -> None:
    """A launcher needs a namespace, an object-store artifacts root (the result comes back there) and, for
    Spark, the drivers' ServiceAccount: a setting that lacks one fails when it is loaded."""
    with pytest.raises(ValidationError, match=error):
        Settings(**values)
