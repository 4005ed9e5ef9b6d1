"""Feast's feature server and web UI over an environment's feature store (the chart's Feast pod).

The store is the one the pipeline's features step applies and materialises into
(:func:`tinyworld.steps.feature_store`): its registry in the object store, its online store in
Redis. Until the first night applies the definitions, Feast serves an empty registry and
refreshes it every ``registry_ttl_sec`` seconds, so the pod starts before any pipeline has run.

Run: ``python -m tinyworld.deploy.feast server --env kind --port 6566`` (or ``ui --port 8888``).
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

from tinyworld.settings import Settings

log = logging.getLogger(__name__)

REGISTRY_TTL_S = 60
"""Seconds between the feature server's reloads of the registry."""


def open_store(env: str) -> Any:
    """The environment's opened Feast repository (feature_store.yaml rendered under the working directory)."""
    from components.features.repo import open_repo
    from tinyworld import steps

    settings = Settings.from_environment(env)
    return open_repo(steps.feature_store(settings), storage=settings.storage())


def main(argv: list[str] | None = None) -> int:
    """Serve the feature server or the UI in the foreground."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["server", "ui"], help="the feature server (HTTP) or the web UI")
    parser.add_argument("--env", required=True, help="the environment (a file in platform/environments/)")
    parser.add_argument("--port", type=int, required=True, help="the port to listen on")
    parser.add_argument("--host", default="0.0.0.0", help="the interface to bind (all of the pod's)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    repo = open_store(args.env)
    log.info("Feast %s on %s:%d (registry %s)", args.what, args.host, args.port, repo.registry_path)
    if args.what == "server":
        repo.store.serve(host=args.host, port=args.port, registry_ttl_sec=REGISTRY_TTL_S)
    else:
        repo.store.serve_ui(host=args.host, port=args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
