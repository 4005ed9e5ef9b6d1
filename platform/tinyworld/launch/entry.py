"""What a launched pod runs: one step, from its parameters' JSON, with its result JSON written to a URL.

    python -m tinyworld.launch.entry train --env kind --params-json '{...}' --result s3://.../x.json

A TrainJob's node runs the module; a SparkApplication's driver runs this file (spark-submit takes a
main file's path), so it imports only absolute names, and no module beside it may share a name
with the standard library or an installed package (the file's folder leads ``sys.path`` then). The
step runs exactly as a local call runs it, with the environment's storage (its endpoint from the
environment's file, in the image; its keys from the pod's variables). Exit status: 0 when the
result is written, 1 when the step raised (its traceback is the pod's log).
"""

from __future__ import annotations

import argparse
import logging
import sys

from pydantic import BaseModel

from components.step import StepIO
from components.storage import resolve

log = logging.getLogger(__name__)

STEPS = ("train", "etl")
"""The steps a pod can be launched with."""


def run_step(step: str, params_json: str, io: StepIO) -> BaseModel:
    """Run ``step`` with its parameters parsed from ``params_json``; return its result."""
    if step == "train":
        from components.train.step import TrainParams
        from components.train.step import run as train

        return train(TrainParams.model_validate_json(params_json), io)
    if step == "etl":
        from components.etl.step import EtlParams
        from components.etl.step import run as etl

        return etl(EtlParams.model_validate_json(params_json), io)
    raise ValueError(f"no step {step!r} to launch (known: {', '.join(STEPS)})")


def main(argv: list[str] | None = None) -> int:
    """Run the step named on the command line and write its result JSON to ``--result``."""
    from tinyworld import steps
    from tinyworld.commands.common import LOG_FORMAT, quiet_libraries
    from tinyworld.settings import Settings

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("step", choices=STEPS, help="the step to run")
    parser.add_argument("--env", required=True, help="the environment (its file in the image): storage, log level")
    parser.add_argument("--params-json", required=True, help="the step's parameters as JSON")
    parser.add_argument("--result", required=True, help="where to write the step's result JSON (a path or URL)")
    args = parser.parse_args(argv)
    settings = Settings.from_environment(args.env)
    logging.basicConfig(level=settings.log_level, format=LOG_FORMAT)
    quiet_libraries(settings.log_level)
    result = run_step(args.step, args.params_json, steps.io(settings))
    resolve(args.result, settings.storage()).write_text(result.model_dump_json())
    log.info("%s: result written to %s", args.step, args.result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
