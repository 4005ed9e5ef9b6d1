"""TinyWorld's Helm chart as data: its values per profile and its objects rendered by ``helm template``.

A profile is a file ``charts/tinyworld/ci/<profile>-values.yaml`` laid over the chart's
``values.yaml``; the cluster profiles (``kind``, ``hetzner``) are also the names of environments.
The chart's resource names do not carry the release name, and its namespace is a value
(``environment.namespace``, which the chart requires the release to be installed in), so what is
rendered here is what a cluster runs.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from tinyworld.settings import SOURCE_ROOT

log = logging.getLogger(__name__)

CHART_DIR = SOURCE_ROOT / "charts" / "tinyworld"
"""The chart's folder."""

PROFILES_DIR = CHART_DIR / "ci"
"""Where the profiles' values files live (``<profile>-values.yaml``)."""

RELEASE = "tinyworld"
"""The release name ``make deploy`` installs the chart under (names do not depend on it)."""

CLUSTERS = ("kind", "hetzner")
"""Profiles that are clusters, each with an environment file generated from the chart."""


class HelmError(RuntimeError):
    """Raised when helm is missing or refuses the chart."""


def profiles() -> list[str]:
    """Every profile under ``charts/tinyworld/ci``, sorted."""
    return sorted(path.name.removesuffix("-values.yaml") for path in PROFILES_DIR.glob("*-values.yaml"))


def profile_path(profile: str) -> Path:
    """The values file of ``profile``; ValueError naming the known ones if there is none."""
    path = PROFILES_DIR / f"{profile}-values.yaml"
    if not path.is_file():
        raise ValueError(f"unknown chart profile {profile!r} (known: {', '.join(profiles())})")
    return path


def merged(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``override`` laid over ``base`` as Helm merges values files: mappings key by key, the rest replaced."""
    result = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(result.get(key), Mapping):
            result[key] = merged(result[key], value)
        elif value is None:
            result.pop(key, None)
        else:
            result[key] = value
    return result


def _load(path: Path) -> dict[str, Any]:
    loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(loaded, dict):
        raise ValueError(f"{path} must hold a mapping")
    return loaded


def values(profile: str) -> dict[str, Any]:
    """The chart's values for ``profile``: ``values.yaml`` with the profile's file laid over it."""
    return merged(_load(CHART_DIR / "values.yaml"), _load(profile_path(profile)))


def namespace(profile: str) -> str:
    """The namespace the chart is installed in for ``profile``."""
    return str(values(profile)["environment"]["namespace"])


def helm() -> str:
    """The helm binary: ``helm`` beside this interpreter (``make tools`` puts it in .venv/bin), else on PATH."""
    beside = Path(sys.executable).parent / "helm"
    found = str(beside) if beside.is_file() else shutil.which("helm")
    if found is None:
        raise HelmError("helm is not installed: run `make tools`")
    return found


def _values_args(profile: str) -> list[str]:
    return ["--namespace", namespace(profile), "--values", str(profile_path(profile))]


def template_args(profile: str, *extra: str) -> list[str]:
    """The ``helm template`` command line of ``profile`` (release, namespace and values as deployed)."""
    return [helm(), "template", RELEASE, str(CHART_DIR), *_values_args(profile), *extra]


def lint(profile: str) -> None:
    """``helm lint --strict`` of the chart with ``profile``'s values; HelmError with its report if it fails."""
    done = subprocess.run(
        [helm(), "lint", "--strict", "--quiet", str(CHART_DIR), *_values_args(profile)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise HelmError(f"helm lint ({profile}) failed:\n{done.stdout.strip()}\n{done.stderr.strip()}")


def render_text(profile: str, *extra: str) -> str:
    """The chart rendered for ``profile`` as one YAML stream."""
    done = subprocess.run(template_args(profile, *extra), capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise HelmError(f"helm template ({profile}) failed:\n{done.stderr.strip()}")
    return done.stdout


def render(profile: str, *extra: str) -> list[dict[str, Any]]:
    """The objects the chart renders for ``profile`` (empty documents dropped)."""
    return [doc for doc in yaml.safe_load_all(render_text(profile, *extra)) if doc]


def find(objects: list[dict[str, Any]], kind: str, component: str | None = None) -> list[dict[str, Any]]:
    """The rendered objects of ``kind``, of one component (``app.kubernetes.io/component``) if given."""
    return [
        obj
        for obj in objects
        if obj.get("kind") == kind
        and (component is None or obj["metadata"].get("labels", {}).get("app.kubernetes.io/component") == component)
    ]


def one(objects: list[dict[str, Any]], kind: str, component: str | None = None) -> dict[str, Any]:
    """The single rendered object of ``kind`` (and ``component``); LookupError unless exactly one."""
    found = find(objects, kind, component)
    if len(found) != 1:
        raise LookupError(f"expected one {kind} {component or ''} in the chart, found {len(found)}")
    return found[0]


def main(argv: list[str] | None = None) -> int:
    """Lint the chart and render it for every profile into ``--out/<profile>.yaml`` (``make charts``)."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--out", type=Path, required=True, help="folder for the rendered manifests")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    args.out.mkdir(parents=True, exist_ok=True)
    try:
        for profile in profiles():
            lint(profile)
            text = render_text(profile)
            (args.out / f"{profile}.yaml").write_text(text, encoding="utf-8")
            count = sum(1 for doc in yaml.safe_load_all(text) if doc)
            log.info("%s: helm lint passed; %d objects rendered into %s", profile, count, args.out / f"{profile}.yaml")
    except HelmError as error:
        log.error("%s", error)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
