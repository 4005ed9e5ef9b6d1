"""The ``daily`` pipeline's tasks called one after another in this process, without KFP.

The same task functions, in the same order, with the same condition as ``daily.py``: what the
benchmark compares the kfp.local run with, and a quick way to run a night from Python.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from tinyworld.pipelines import tasks


def _timed(seconds: dict[str, float], name: str, call: Callable[[], Any]) -> Any:
    started = time.perf_counter()
    value = call()
    seconds[name] = round(time.perf_counter() - started, 3)
    return value


def daily(env: str, day: str, options: str = "") -> tuple[dict[str, str], dict[str, float]]:
    """Run the night of ``day``; return each task's result (JSON) and seconds, by task name.

    A failed validation raises (as it fails the KFP task); ``refit`` and ``register`` run only
    when the evaluation passed.
    """
    results: dict[str, str] = {}
    seconds: dict[str, float] = {}
    results["etl"] = _timed(seconds, "etl", lambda: tasks.etl(env, day, options))
    results["validate"] = _timed(seconds, "validate", lambda: tasks.validate(env, results["etl"]))
    results["features"] = _timed(seconds, "features", lambda: tasks.features(env, results["etl"]))
    results["split"] = _timed(seconds, "split", lambda: tasks.split(env, results["etl"], options))
    results["train"] = _timed(seconds, "train", lambda: tasks.train(env, results["etl"], results["split"], options))
    results["evaluate"] = _timed(
        seconds, "evaluate", lambda: tasks.evaluate(env, results["train"], results["split"], options)
    )
    if tasks.passed(results["evaluate"]):
        results["refit"] = _timed(seconds, "refit", lambda: tasks.refit(env, results["etl"], results["train"], options))
        results["register"] = _timed(
            seconds, "register", lambda: tasks.register(env, results["refit"], results["evaluate"])
        )
    return results, seconds
