"""Fixtures for the control plane's unit tests."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(autouse=True)
def _no_tinyworld_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Isolate each test from TINYWORLD_* variables set in the developer's shell."""
    for key in list(os.environ):
        if key.upper().startswith("TINYWORLD_"):
            monkeypatch.delenv(key)
