"""Shared test set-up: tier markers from the directory, and Hypothesis profiles.

A test under ``tests/unit`` is marked ``unit``, under ``tests/integration`` ``integration`` and under
``tests/cluster`` ``cluster``, so ``pytest -m unit`` selects a tier without decorating every test.
"""

from __future__ import annotations

import os
from pathlib import Path

import prometheus_client  # noqa: F401  (before any feast import: see components/features/feast_import.py)
import pytest
from hypothesis import HealthCheck, settings

TESTS_DIR = Path(__file__).resolve().parent
TIERS = ("unit", "integration", "cluster")

# Simulations and dataframes make single examples slow on a shared 2-core machine: no deadline.
settings.register_profile("default", deadline=None)
# CI (which sets CI=true) runs fewer examples, printing any failing example's reproduction blob.
settings.register_profile(
    "ci",
    deadline=None,
    max_examples=50,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("ci" if os.environ.get("CI") else "default")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark each test with its tier, taken from the first directory under tests/."""
    for item in items:
        try:
            parts = item.path.resolve().relative_to(TESTS_DIR).parts
        except ValueError:
            continue
        if parts and parts[0] in TIERS:
            item.add_marker(getattr(pytest.mark, parts[0]))
