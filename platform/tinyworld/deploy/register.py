"""The chart's registration Job: upload the compiled pipelines to KFP and schedule them, idempotently.

Runs after every install and upgrade. Each pipeline in :data:`~tinyworld.pipelines.client.SCHEDULES`
is uploaded (a new version only when its YAML changed) and gets one recurring run in the
environment, named ``<pipeline>-<env>``: the recurring runs an earlier install created under that
name are deleted first, so a second deploy does not run the nights twice.

Run: ``python -m tinyworld.deploy.register --env kind --host http://ml-pipeline.kubeflow:8888``.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from typing import Any, Protocol

from tinyworld.pipelines.client import EXPERIMENT, SCHEDULES, KfpClient, connect, schedule

log = logging.getLogger(__name__)

PAGE = 100
"""Recurring runs read per request."""


class RegisteringClient(KfpClient, Protocol):
    """The KFP client calls registration adds to those of :mod:`tinyworld.pipelines.client`."""

    def list_recurring_runs(self, page_token: str, page_size: int, experiment_id: str | None) -> Any: ...
    def delete_recurring_run(self, recurring_run_id: str) -> Any: ...


def run_name(pipeline: str, env: str) -> str:
    """The recurring run's name (``job_name``) of ``pipeline`` in environment ``env``."""
    return f"{pipeline}-{env}"


def recurring_runs(client: RegisteringClient, experiment_id: str, name: str) -> list[str]:
    """The ids of the recurring runs called ``name`` in the experiment, across every page."""
    found, token = [], ""
    while True:
        page = client.list_recurring_runs(page_token=token, page_size=PAGE, experiment_id=experiment_id)
        found += [str(run.recurring_run_id) for run in page.recurring_runs or [] if run.display_name == name]
        token = page.next_page_token or ""
        if not token:
            return found


def register(client: RegisteringClient, env: str, crons: dict[str, str] | None = None) -> dict[str, str]:
    """Upload and schedule every pipeline in ``env``, replacing its earlier recurring runs; return their new ids."""
    crons = crons or {}
    unknown = sorted(set(crons) - set(SCHEDULES))
    if unknown:
        raise KeyError(f"no pipeline {', '.join(unknown)} to schedule (known: {', '.join(SCHEDULES)})")
    experiment_id = str(client.create_experiment(EXPERIMENT).experiment_id)
    created = {}
    for pipeline in SCHEDULES:
        for old in recurring_runs(client, experiment_id, run_name(pipeline, env)):
            client.delete_recurring_run(old)
            log.info("deleted the earlier recurring run %s of %s", old, pipeline)
        created[pipeline] = schedule(client, pipeline, env, crons.get(pipeline))
    return created


def parse_schedules(pairs: list[str]) -> dict[str, str]:
    """``NAME=CRON`` pairs as a mapping; ValueError for a pair without ``=``."""
    crons = {}
    for pair in pairs:
        name, sep, cron = pair.partition("=")
        if not sep or not name or not cron.strip():
            raise ValueError(f"bad --schedule {pair!r}: use NAME=CRON, e.g. daily='0 30 2 * * *'")
        crons[name] = cron.strip()
    return crons


def main(argv: list[str] | None = None) -> int:
    """Register the pipelines, retrying while the KFP API is not answering yet."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", required=True, help="the environment the runs get as their parameter")
    parser.add_argument("--host", required=True, help="the KFP API, e.g. http://ml-pipeline.kubeflow:8888")
    parser.add_argument("--schedule", action="append", default=[], help="NAME=CRON (six fields, UTC); repeatable")
    parser.add_argument("--attempts", type=int, default=30, help="tries while KFP is unreachable")
    parser.add_argument("--wait", type=float, default=10.0, help="seconds between tries")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        crons = parse_schedules(args.schedule)
    except ValueError as error:
        log.error("%s", error)
        return 2
    for attempt in range(1, args.attempts + 1):
        try:
            client: Any = connect(args.host)
            created = register(client, args.env, crons)
        except (KeyError, FileNotFoundError) as error:
            log.error("%s", error)
            return 2
        except Exception as error:  # KFP still starting: connection refused, 503
            log.warning("KFP at %s not ready (attempt %d/%d): %s", args.host, attempt, args.attempts, error)
            time.sleep(args.wait)
            continue
        for pipeline, run_id in created.items():
            log.info("scheduled %s in %s: recurring run %s", pipeline, args.env, run_id)
        return 0
    log.error("gave up: KFP at %s did not answer after %d attempts", args.host, args.attempts)
    return 1


if __name__ == "__main__":
    sys.exit(main())
