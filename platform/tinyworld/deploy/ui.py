"""``make ui``: port forwards to the cluster's UIs, printed as URLs on this machine.

Which Services to forward comes from the chart rendered for the cluster's profile (the recommender's
RayService, the Feast Service) and from its values (KFP's and Grafana's Services, installed beside
the chart), so the names are the deployed ones. The forwards run until Ctrl-C.

Run: ``python -m tinyworld.deploy.ui --profile kind [--kubeconfig PATH]``.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tinyworld.deploy import chart

log = logging.getLogger(__name__)

RAY_DASHBOARD_PORT = 8265
"""The Ray dashboard's port on the head Service KubeRay creates."""


@dataclass(frozen=True)
class Forward:
    """One UI: a Service port forwarded to a port on 127.0.0.1."""

    title: str
    namespace: str
    service: str
    port: int
    local: int
    path: str = "/"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.local}{self.path}"

    def command(self, kubectl: str, kubeconfig: Path | None) -> list[str]:
        config = ["--kubeconfig", str(kubeconfig)] if kubeconfig else []
        target = f"svc/{self.service}"
        return [kubectl, *config, "-n", self.namespace, "port-forward", target, f"{self.local}:{self.port}"]


def _port(service: dict[str, Any], name: str) -> int:
    return int(next(port["port"] for port in service["spec"]["ports"] if port["name"] == name))


def forwards(profile: str) -> list[Forward]:
    """The UIs of ``profile``'s deployment, each on its own local port."""
    values, objects = chart.values(profile), chart.render(profile)
    namespace = chart.namespace(profile)
    recommender = chart.one(objects, "RayService")["metadata"]["name"]
    found = [
        Forward("KFP UI", values["kfp"]["namespace"], values["kfp"]["uiService"], values["kfp"]["uiPort"], 8080),
        Forward("Ray dashboard", namespace, f"{recommender}-head-svc", RAY_DASHBOARD_PORT, RAY_DASHBOARD_PORT),
        Forward(
            "Grafana",
            values["monitoring"]["namespace"],
            values["monitoring"]["grafana"]["service"],
            values["monitoring"]["grafana"]["port"],
            3000,
        ),
        Forward(
            "Recommendation API",
            namespace,
            f"{recommender}-serve-svc",
            values["environment"]["servePort"],
            values["environment"]["servePort"],
            "/healthz",
        ),
    ]
    for service in chart.find(objects, "Service", "feast"):
        if any(port["name"] == "ui" for port in service["spec"]["ports"]):
            port = _port(service, "ui")
            found.append(Forward("Feast UI", namespace, service["metadata"]["name"], port, port))
    return found


def main(argv: list[str] | None = None) -> int:
    """Start every forward, print the URLs, and wait until Ctrl-C (or until every forward has died)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="kind", help="the cluster's chart profile (kind, hetzner)")
    parser.add_argument("--kubeconfig", type=Path, default=None, help="the cluster's kubeconfig (default: kubectl's)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    beside = Path(sys.executable).parent / "kubectl"
    kubectl = str(beside) if beside.is_file() else shutil.which("kubectl")
    if kubectl is None:
        log.error("kubectl is not installed: run `make tools`")
        return 2
    try:
        planned = forwards(args.profile)
    except (chart.HelmError, ValueError, LookupError) as error:
        log.error("%s", error)
        return 2
    running = [
        (forward, subprocess.Popen(forward.command(kubectl, args.kubeconfig), stdout=subprocess.DEVNULL))
        for forward in planned
    ]
    for forward, _ in running:
        where = f"{forward.namespace}/svc/{forward.service}:{forward.port}"
        log.info("%-19s %s   (%s)", forward.title, forward.url, where)
    log.info("Ctrl-C stops the forwards.")
    try:
        while any(process.poll() is None for _, process in running):
            time.sleep(1)
        log.error("every port-forward exited: is the cluster up (make deploy) and the kubeconfig right?")
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        for _, process in running:
            process.terminate()


if __name__ == "__main__":
    sys.exit(main())
