"""Fixtures for the chart's tests: the chart rendered once per profile (helm from `make tools`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tinyworld.deploy import chart
from tinyworld.settings import SOURCE_ROOT

SCHEMAS = SOURCE_ROOT.parent / "shared" / "schemas"
"""The CRD schemas beside the repository (../shared/schemas)."""


@pytest.fixture(scope="session")
def helm() -> str:
    """The helm binary, or a skip saying how to install it."""
    try:
        return chart.helm()
    except chart.HelmError as error:
        pytest.skip(f"{error} (the chart's tests render it with helm)")


@pytest.fixture(scope="session")
def rendered(helm: str) -> dict[str, list[dict[str, Any]]]:
    """Every profile's objects, rendered as `make deploy` installs them."""
    return {profile: chart.render(profile) for profile in chart.profiles()}


@pytest.fixture(scope="session")
def schemas() -> Path:
    """The CRD schemas' folder, or a skip naming where it was looked for."""
    if not SCHEMAS.is_dir():
        pytest.skip(f"no CRD schemas at {SCHEMAS} (../shared/schemas beside the repository)")
    return SCHEMAS
