"""The ``daily`` pipeline: what the platform learns every night.

etl -> validate (a failed suite stops the run) -> features -> split -> train -> evaluate against
the champion -> if it passes: refit on the whole window (the test day included) -> register that
fit as ``challenger``.
"""

# No `from __future__ import annotations`: KFP reads the parameters' annotations as types.
from kfp import dsl

from tinyworld.pipelines import components
from tinyworld.pipelines.cluster import in_cluster


@dsl.pipeline(
    name="daily",
    description="TinyWorld's nightly run: ETL, data-quality gate, features, split, training, "
    "offline evaluation against the champion and, when it passes, a refit on the whole window "
    "registered as challenger.",
)
def daily(day: str = "", env: str = "local", options: str = "") -> None:
    """``day``: the UTC day to learn from (YYYY-MM-DD; empty: yesterday). ``env``: the environment.
    ``options``: NightlyOptions as JSON (history days, training config, processes, offline gate;
    empty: the defaults)."""
    etl = in_cluster(components.etl(env=env, day=day, options=options)).set_display_name("etl")
    gate = in_cluster(components.validate(env=env, etl=etl.output)).set_display_name("validate")
    store = in_cluster(components.features(env=env, etl=etl.output)).after(gate).set_display_name("features")
    halves = in_cluster(components.split(env=env, etl=etl.output, options=options)).after(gate)
    halves.set_display_name("split")
    model = in_cluster(components.train(env=env, etl=etl.output, split=halves.output, options=options)).after(store)
    model.set_display_name("train")
    verdict = in_cluster(components.evaluate(env=env, train=model.output, split=halves.output, options=options))
    verdict.set_display_name("evaluate")
    gate = components.passed(evaluate=verdict.output).set_display_name("passed")
    with dsl.If(gate.output == True, name="passed-offline"):  # noqa: E712  (a KFP condition, not Python)
        final = in_cluster(components.refit(env=env, etl=etl.output, train=model.output, options=options))
        final.set_display_name("refit")
        registered = in_cluster(components.register(env=env, train=final.output, evaluate=verdict.output))
        registered.set_display_name("register")
