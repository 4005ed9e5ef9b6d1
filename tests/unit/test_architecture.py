"""The dependency direction of DESIGN.md section 1, checked on the source: tinyworld -> components -> simnet.protocol.

Every ``import`` and ``from ... import`` of every module is read with :mod:`ast` (those inside
functions and ``if TYPE_CHECKING:`` blocks too), so a forbidden import fails here wherever it hides.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

SOURCE = Path(__file__).resolve().parents[2]
"""The source tree."""


def imports(tree: ast.AST, module: str) -> Iterator[tuple[int, str]]:
    """(line, absolute module name) of every import in ``tree``, relative ones resolved against ``module``."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")[: -node.level]
                name = ".".join([*base, node.module] if node.module else base)
            else:
                name = node.module or ""
            for alias in node.names:  # `from simnet import runner` imports simnet.runner
                yield node.lineno, f"{name}.{alias.name}"


def violations(package: str, allowed: tuple[str, ...], forbidden: tuple[str, ...], source: Path = SOURCE) -> list[str]:
    """``path:line imports name`` for each import under ``source/package`` of a forbidden top-level package.

    An import of a forbidden package is fine when it is, or is inside, one of the ``allowed`` modules.
    """
    found = []
    for path in sorted((source / package).rglob("*.py")):
        relative = path.relative_to(source)
        module = ".".join(relative.with_suffix("").parts)  # a package's `from . import` starts at its __init__
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for line, name in imports(tree, module):
            top = name.split(".")[0]
            if top in forbidden and not any(name == a or name.startswith(f"{a}.") for a in allowed):
                found.append(f"{relative}:{line} imports {name}")
    return sorted(set(found))


def test_components_never_import_the_control_plane() -> None:
    """No module of components/ imports tinyworld: steps are handed parameters, never Settings."""
    assert violations("components", (), ("tinyworld",)) == []


def test_components_import_only_the_protocol_of_simnet() -> None:
    """components/ may import simnet.protocol (the wire schemas) and nothing else of SimNet."""
    assert violations("components", ("simnet.protocol",), ("simnet",)) == []


def test_simnet_imports_nothing_of_the_platform() -> None:
    """simnet/ imports neither components nor tinyworld: the world knows the platform only by its protocol."""
    assert violations("simnet", (), ("components", "tinyworld")) == []


def _component_violations(code: str, source: Path) -> list[str]:
    """The rule's findings for one module ``components/features/bad.py`` holding ``code``."""
    module = source / "components" / "features" / "bad.py"
    module.parent.mkdir(parents=True)
    module.write_text(code + "\n", encoding="utf-8")
    return violations("components", ("simnet.protocol",), ("simnet", "tinyworld"), source=source)


@pytest.mark.parametrize(
    "code",
    [
        "from tinyworld.settings import Settings",
        "import tinyworld",
        "def f():\n    from tinyworld import settings",
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import tinyworld.settings",
        "from simnet import runner",
        "import simnet.config",
        "from ...tinyworld import settings",
    ],
)
def test_the_check_finds_a_forbidden_import_wherever_it_is(code: str, tmp_path: Path) -> None:
    """A control-plane or SimNet-internal import at top level, in a function or under TYPE_CHECKING fails."""
    found = _component_violations(code, tmp_path)
    assert len(found) == 1 and found[0].startswith("components/features/bad.py:")


@pytest.mark.parametrize(
    "code",
    [
        "from simnet import protocol",
        "from simnet.protocol import Event",
        "import simnet.protocol",
        "from ..step import x",
        "from . import config",
    ],
)
def test_the_protocol_and_relative_imports_pass(code: str, tmp_path: Path) -> None:
    """The protocol may be imported in any spelling; relative imports inside components resolve to components."""
    assert _component_violations(code, tmp_path) == []
