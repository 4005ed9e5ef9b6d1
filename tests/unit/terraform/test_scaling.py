"""docs/scaling.py, the capacity model behind docs/scaling.md: generated tables, consistent change points."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[3] / "docs" / "scaling.py"


@pytest.fixture(scope="module")
def scaling() -> ModuleType:
    """docs/scaling.py, loaded by path (docs/ is not a package)."""
    spec = importlib.util.spec_from_file_location("scaling", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve their module through sys.modules
    spec.loader.exec_module(module)
    return module


def test_doc_tables_are_the_generated_ones(scaling: ModuleType) -> None:
    """docs/scaling.md holds exactly what `python docs/scaling.py` prints, between its markers."""
    assert scaling.documented() == scaling.tables()


def test_every_figure_names_its_source(scaling: ModuleType) -> None:
    """Each measured figure is positive and says where it was measured."""
    for name, figure in scaling.MEASURED.items():
        assert figure.value > 0 and figure.source.strip(), name


def test_needs_grow_with_users(scaling: ModuleType) -> None:
    """Every quantity of the model is non-decreasing in users (more users never need less)."""
    rows = [scaling.model(u) for u in scaling.USERS]
    for key in rows[0]:
        if key in ("exact_rps",):
            assert all(a[key] >= b[key] for a, b in zip(rows, rows[1:], strict=False)), key
        else:
            assert all(a[key] <= b[key] for a, b in zip(rows, rows[1:], strict=False)), key


@pytest.mark.parametrize(
    ("part", "key", "below", "above"),
    [
        ("ingest", "ingest_processes", 1, 2),
        ("Redis", "redis_shards", 1, 2),
        ("serving top-k", "ann", 0.0, 1.0),
        ("training time", "gpus", 1, 2),
    ],
)
def test_change_points_agree_with_the_model(
    scaling: ModuleType, part: str, key: str, below: float, above: float
) -> None:
    """Just under a change point the model still fits the old design; just over, it does not."""
    users = next(u for p, _, u, _ in scaling.change_points() if p == part)
    assert scaling.model(int(users * 0.99))[key] == below
    assert scaling.model(int(users * 1.01))[key] == above


def test_scan_follows_the_bytes(scaling: ModuleType) -> None:
    """The exact scan's cost is the measured 100k x 64 figure scaled by items and floats."""
    assert scaling.scan_ms(100_000) == pytest.approx(scaling.m("topk_ms_per_100k_64") * 33 / 64)
    assert scaling.scan_ms(1_000_000) == pytest.approx(10 * scaling.scan_ms(100_000))
