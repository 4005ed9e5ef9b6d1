"""Feast, imported without its side effect on every other Prometheus metric in the process.

``feast.metrics`` sets ``PROMETHEUS_MULTIPROC_DIR`` when imported. prometheus_client reads that
variable once, when it is first imported, and then stores every metric's value in shared files
keyed by metric name: counters of unrelated services in the same process (ingest, serving)
would add up across instances. Importing prometheus_client first keeps its in-process values,
and removing the variable again keeps child processes from inheriting it.
"""

from __future__ import annotations

import os

import prometheus_client  # noqa: F401  (must be imported before feast)

_PRESET = "PROMETHEUS_MULTIPROC_DIR" in os.environ

import feast  # noqa: E402

if not _PRESET:
    os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)

__all__ = ["feast"]
