"""Fixtures for SimNet's unit tests: one small world run per reference policy."""

from __future__ import annotations

import pytest

from tests.unit.simnet.worlds import DAYS, POLICY_NAMES, SEED, Run, run_world, small_config


@pytest.fixture(scope="module", params=POLICY_NAMES)
def small_run(request: pytest.FixtureRequest) -> Run:
    """A 600-user world run for three days under each reference policy."""
    return run_world(small_config(), request.param, DAYS, SEED)
