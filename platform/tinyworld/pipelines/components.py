"""The Kubeflow components: one thin wrapper per task of :mod:`tinyworld.pipelines.tasks`.

Each body imports its task inside the function (KFP ships the function's source to the
container, which has the tinyworld package installed) and calls it. Every component runs in
the one image named in :mod:`tinyworld.pipelines.image`; it already holds kfp, so KFP does not
install it again. (No ``from __future__ import annotations`` here: KFP reads the annotations.) A
condition reads a component's single output (``passed``): kfp.local resolves only those.
"""

from kfp import dsl

from tinyworld.pipelines.image import IMAGE


@dsl.component(base_image=IMAGE, install_kfp_package=False)
def etl(env: str, day: str, options: str) -> str:
    """The night's ETL (Spark): events of the window in, metrics and feature tables out."""
    from tinyworld.pipelines import tasks

    return tasks.etl(env, day, options)


@dsl.component(base_image=IMAGE, install_kfp_package=False)
def validate(env: str, etl: str) -> str:
    """The data-quality gate (Great Expectations): fails the run on a failed suite."""
    from tinyworld.pipelines import tasks

    return tasks.validate(env, etl)


@dsl.component(base_image=IMAGE, install_kfp_package=False)
def features(env: str, etl: str) -> str:
    """Feast: apply the definitions over the night's tables, materialise online."""
    from tinyworld.pipelines import tasks

    return tasks.features(env, etl)


@dsl.component(base_image=IMAGE, install_kfp_package=False)
def split(env: str, etl: str, options: str) -> str:
    """The night's split: by date (the days before the night train, its day tests) or, on a first night, temporal."""
    from tinyworld.pipelines import tasks

    return tasks.split(env, etl, options)


@dsl.component(base_image=IMAGE, install_kfp_package=False)
def train(env: str, etl: str, split: str, options: str) -> str:
    """Train the candidate (torch; torchrun with DDP above one process)."""
    from tinyworld.pipelines import tasks

    return tasks.train(env, etl, split, options)


@dsl.component(base_image=IMAGE, install_kfp_package=False)
def evaluate(env: str, train: str, split: str, options: str) -> str:
    """Evaluate the candidate against popularity and the champion, offline."""
    from tinyworld.pipelines import tasks

    return tasks.evaluate(env, train, split, options)


@dsl.component(base_image=IMAGE, install_kfp_package=False)
def passed(evaluate: str) -> bool:
    """The offline verdict, as the single output a pipeline condition reads."""
    from tinyworld.pipelines import tasks

    return tasks.passed(evaluate)


@dsl.component(base_image=IMAGE, install_kfp_package=False)
def refit(env: str, etl: str, train: str, options: str) -> str:
    """Train the passed candidate again on the whole window, its test day included (or pass it on as it is)."""
    from tinyworld.pipelines import tasks

    return tasks.refit(env, etl, train, options)


@dsl.component(base_image=IMAGE, install_kfp_package=False)
def register(env: str, train: str, evaluate: str) -> str:
    """Register the candidate and point the challenger alias at it."""
    from tinyworld.pipelines import tasks

    return tasks.register(env, train, evaluate)


@dsl.component(base_image=IMAGE, install_kfp_package=False)
def experiments(env: str, day: str) -> str:
    """The day's A/B outcome per arm (the ETL's experiments table for that day alone)."""
    from tinyworld.pipelines import tasks

    return tasks.experiments(env, day)


@dsl.component(base_image=IMAGE, install_kfp_package=False)
def promote(env: str, experiments: str) -> str:
    """Promote the challenger to champion, or retire it, from the day's online experiment."""
    from tinyworld.pipelines import tasks

    return tasks.promote(env, experiments)
