"""Run the heavy steps where the environment says: in this process, or as a job in the cluster.

The pipeline's tasks (:mod:`tinyworld.pipelines.tasks`) call these instead of the steps' ``run``:
``Settings.train_launcher`` (``process`` | ``trainjob``) and ``Settings.etl_launcher`` (``inline``
| ``spark-operator``) decide. Either way the step's own result comes back, so what a task returns
does not depend on where the step ran. The defaults keep the local runtime as it was.
"""

from __future__ import annotations

from components.etl.step import EtlParams, EtlStepResult
from components.train.step import TrainParams, TrainResult
from tinyworld import steps
from tinyworld.settings import Settings


def train(settings: Settings, params: TrainParams) -> TrainResult:
    """Train here (torchrun above one process) or in a Kubeflow Trainer TrainJob."""
    if settings.train_launcher == "trainjob":
        from tinyworld.launch import trainjob

        return trainjob.launch(settings, params)
    from components.train.step import run

    return run(params, steps.io(settings))


def etl(settings: Settings, params: EtlParams) -> EtlStepResult:
    """Run the ETL in a Spark session here (on ``spark_master``) or as a SparkApplication."""
    if settings.etl_launcher == "spark-operator":
        from tinyworld.launch import sparkapp

        return sparkapp.launch(settings, params)
    from components.etl.step import run

    return run(params, steps.io(settings))
