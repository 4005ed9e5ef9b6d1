"""The cluster environments' settings, generated from the chart (``make environments``).

Service names, ports and the bucket are defined once, in the chart's values: its
``<fullname>-environment`` ConfigMap renders the settings of the profile's environment, and
``platform/environments/<cluster>.yaml`` is that rendering, written here for each cluster profile.
The image carries those files, so pipeline steps and pods read the same names the chart deploys;
terraform reads them too. CI renders again and fails on a difference (``--check``).

Run: ``python -m tinyworld.deploy.environments [--check]``.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from pathlib import Path

from tinyworld.deploy import chart
from tinyworld.settings import ENVIRONMENTS_DIR, Settings

log = logging.getLogger(__name__)

TEMPLATE = "templates/configmap-environment.yaml"
"""The chart's template that renders an environment's settings."""


def rendered(profile: str) -> str:
    """The settings file of cluster ``profile``, as the chart renders it."""
    configmap = chart.one(chart.render(profile, "--show-only", TEMPLATE), "ConfigMap")
    name = chart.values(profile)["environment"]["name"]
    if name != profile:
        raise ValueError(f"profile {profile!r} renders environment {name!r}: a cluster profile names its environment")
    text = str(configmap["data"][f"{name}.yaml"])
    with tempfile.TemporaryDirectory() as folder:  # the file must load as Settings before it is written
        Path(folder, f"{name}.yaml").write_text(text, encoding="utf-8")
        Settings.from_environment(name, Path(folder))
    return text


def stale(directory: Path = ENVIRONMENTS_DIR) -> list[str]:
    """The cluster environments whose file under ``directory`` differs from the chart's rendering."""
    return [
        profile
        for profile in chart.CLUSTERS
        if not (directory / f"{profile}.yaml").is_file()
        or (directory / f"{profile}.yaml").read_text(encoding="utf-8") != rendered(profile)
    ]


def write(directory: Path = ENVIRONMENTS_DIR) -> list[Path]:
    """Write every cluster environment's file under ``directory``; return the files."""
    written = []
    for profile in chart.CLUSTERS:
        path = directory / f"{profile}.yaml"
        path.write_text(rendered(profile), encoding="utf-8")
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    """Write the files, or with ``--check`` exit 1 when one differs from the chart's rendering."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if a checked-in file is out of date")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        if args.check:
            differ = stale()
            if differ:
                log.error("out of date: %s; run `make environments` and commit", ", ".join(differ))
                return 1
            log.info("the cluster environments match the chart")
            return 0
        for path in write():
            log.info("wrote %s", path)
    except chart.HelmError as error:
        log.error("%s", error)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
