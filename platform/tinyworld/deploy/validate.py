"""Validate rendered Kubernetes objects against their schemas, offline (``make charts``).

Core kinds go to kubernetes-validate in strict mode (unknown fields are errors) for one
Kubernetes version; custom resources to the JSON schemas of their CRDs, laid out as
``<schemas>/<api-group>/<kind>_<version>.json`` (the layout of ../shared/schemas). An object whose
kind has neither schema is an error too: nothing is rendered unchecked.

Run: ``python -m tinyworld.deploy.validate --schemas DIR --kubernetes-version 1.35.0 FILE...``.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Problem:
    """One object that does not validate, and why."""

    source: str  # the file it was rendered into
    name: str  # kind/name of the object
    message: str

    def __str__(self) -> str:
        return f"{self.source}: {self.name}: {self.message}"


def crd_schema_path(schemas: Path, api_version: str, kind: str) -> Path:
    """Where the schema of a custom resource lives: ``<group>/<kind>_<version>.json``."""
    group, _, version = api_version.rpartition("/")
    return schemas / group / f"{kind.lower()}_{version}.json"


@cache
def _crd_validator(path: Path) -> Any:
    from jsonschema import Draft7Validator

    # Draft 7 compiles a pattern only when its field is present (one CRD pattern is Go-only).
    return Draft7Validator(json.loads(path.read_text(encoding="utf-8")))


def check(obj: dict[str, Any], schemas: Path, kubernetes_version: str) -> tuple[str, list[str]]:
    """Validate one object; return how (``crd`` or ``core``) and its errors (empty when valid)."""
    import kubernetes_validate

    api_version, kind = str(obj.get("apiVersion", "")), str(obj.get("kind", ""))
    if not api_version or not kind:
        return "none", ["no apiVersion or kind"]
    path = crd_schema_path(schemas, api_version, kind)
    if "/" in api_version and path.is_file():
        errors = sorted(_crd_validator(path).iter_errors(obj), key=lambda error: list(error.absolute_path))
        return "crd", [f"{'.'.join(map(str, error.absolute_path)) or '<root>'}: {error.message}" for error in errors]
    try:
        kubernetes_validate.validate(obj, kubernetes_version, strict=True)
    except kubernetes_validate.SchemaNotFoundError:
        return "none", [f"no schema for {kind} {api_version}: not a core kind and not under {schemas}"]
    except kubernetes_validate.ValidationError as error:
        return "core", [f"{'.'.join(map(str, error.path)) or '<root>'}: {error.message}"]
    return "core", []


def objects(paths: Iterable[Path]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every non-empty document of the YAML files, with the file it came from."""
    for path in paths:
        for document in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if document:
                yield str(path), document


def validate(paths: Iterable[Path], schemas: Path, kubernetes_version: str) -> tuple[Counter[str], list[Problem]]:
    """Validate every object in ``paths``; return the objects checked by kind and the problems."""
    checked: Counter[str] = Counter()
    problems = []
    for source, obj in objects(paths):
        how, errors = check(obj, schemas, kubernetes_version)
        name = f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}"
        checked[f"{obj.get('kind')} ({how})"] += 1
        problems += [Problem(source, name, error) for error in errors]
    return checked, problems


def main(argv: list[str] | None = None) -> int:
    """Validate the files; exit 1 if any object does not validate."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", type=Path, help="rendered manifests (YAML streams)")
    parser.add_argument("--schemas", type=Path, required=True, help="the CRD schemas' folder (../shared/schemas)")
    parser.add_argument("--kubernetes-version", required=True, help="the Kubernetes API of core kinds, e.g. 1.35.0")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if not args.schemas.is_dir():
        log.error("no CRD schemas at %s", args.schemas)
        return 2
    checked, problems = validate(args.files, args.schemas, args.kubernetes_version)
    for problem in problems:
        log.error("%s", problem)
    summary = ", ".join(f"{count} {kind}" for kind, count in sorted(checked.items()))
    log.info("%d objects in %d files, %d invalid: %s", sum(checked.values()), len(args.files), len(problems), summary)
    return 1 if problems or not checked else 0


if __name__ == "__main__":
    sys.exit(main())
