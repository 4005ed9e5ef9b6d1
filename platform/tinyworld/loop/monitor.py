"""``tinyworld up --monitor``: a real Prometheus on this machine, with the chart's alert rules, watching a run.

The run's Prometheus (Debian's ``prometheus`` binary, a child process like the platform) listens on
127.0.0.1 at a free port, keeps its data under ``<run>/monitor/data`` and scrapes two targets
every :data:`SCRAPE_INTERVAL_S` seconds:

- ``tinyworld-platform``: the platform's ``GET /metrics`` (serving and the ingest mounted in it);
- ``tinyworld-loop``: this process, where :class:`NightMetrics` exports each night's outcome
  (``tinyworld_pipeline_*``, ``tinyworld_validation_*``, ``tinyworld_promotion_*``). In a cluster
  KFP runs the pipelines, and these series need an exporter there (docs/monitoring.md).

It loads ``charts/tinyworld/files/monitoring/rules.yaml``, the very file the chart's PrometheusRule
embeds. When the run's days are done, :meth:`Monitor.close` waits for one more scrape and rule
evaluation, then reads the run's SLO figures and every alert that was pending or firing from
Prometheus' HTTP API (:mod:`~tinyworld.loop.slo`), for the report.
"""

from __future__ import annotations

import logging
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import yaml
from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server
from pydantic import ValidationError

from components.validate.report import RESULTS_FILE
from components.validate.results import ValidationRun
from tinyworld import steps
from tinyworld.loop.children import await_ready, spawn, stop
from tinyworld.loop.nights import NightResult
from tinyworld.loop.slo import SloReport, slo_report
from tinyworld.settings import SOURCE_ROOT, Settings

if TYPE_CHECKING:
    from tinyworld.loop.state import RunFolder, RunState

log = logging.getLogger(__name__)

RULES_FILE = SOURCE_ROOT / "charts" / "tinyworld" / "files" / "monitoring" / "rules.yaml"
"""The alert rules: the chart's PrometheusRule embeds the same file."""

SCRAPE_INTERVAL_S = 2
"""Scrape and rule-evaluation interval of the run's Prometheus (a run's days last minutes)."""

PIPELINES = ("daily", "promote")


class MonitorUnavailable(RuntimeError):
    """Prometheus is not installed, or did not start."""


def prometheus_binary() -> str:
    """The ``prometheus`` executable, or MonitorUnavailable saying how to install it."""
    found = shutil.which("prometheus")
    if found is None:
        raise MonitorUnavailable(
            "--monitor needs Prometheus on this machine and `prometheus` is not on the PATH: "
            "install Debian's package with `apt-get install prometheus` (as root), or run without --monitor"
        )
    return found


class NightMetrics:
    """Each night's outcome as Prometheus metrics, served by this process on 127.0.0.1 (a free port)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.runs = Counter(
            "tinyworld_pipeline_runs", "Pipeline runs, by pipeline and status", ["pipeline", "status"], registry=r
        )
        self.last_success = Gauge(
            "tinyworld_pipeline_last_run_success",
            "1 if the pipeline's last run succeeded, else 0",
            ["pipeline"],
            registry=r,
        )
        self.last_run = Gauge(
            "tinyworld_pipeline_last_run_timestamp_seconds",
            "Unix time the pipeline last ended",
            ["pipeline"],
            registry=r,
        )
        self.duration = Gauge(
            "tinyworld_pipeline_last_run_duration_seconds",
            "Seconds the pipeline's last run took",
            ["pipeline"],
            registry=r,
        )
        self.step_seconds = Gauge(
            "tinyworld_pipeline_step_seconds", "Seconds each step took in the last night", ["step"], registry=r
        )
        self.validations = Counter(
            "tinyworld_validation_runs", "Data validations, by status (passed, failed)", ["status"], registry=r
        )
        self.validation_success = Gauge(  # labelled, so that there is no series (no verdict) before the first
            "tinyworld_validation_last_run_success",
            "1 if the last data validation passed, else 0, by the pipeline it ran in",
            ["pipeline"],
            registry=r,
        )
        self.decisions = Counter(
            "tinyworld_promotion_decisions",
            "Online A/B decisions on challengers (promote, retire, keep)",
            ["decision"],
            registry=r,
        )
        self.effect = Gauge(
            "tinyworld_experiment_effect",
            "The last judged experiment: challenger - champion on the primary metric, with its 95% interval",
            ["bound"],
            registry=r,
        )
        for pipeline in PIPELINES:  # counters exist at 0 before the first night, so increase() sees it
            for status in ("succeeded", "failed"):
                self.runs.labels(pipeline, status)
        for status in ("passed", "failed"):
            self.validations.labels(status)
        for decision in ("promote", "retire", "keep"):
            self.decisions.labels(decision)
        self._server: Any = None

    def record(self, night: NightResult, *, experiment: bool, validation: bool | None) -> None:
        """One night: whether promote ran (``experiment``) and each pipeline succeeded, and the validation's verdict."""
        ran = {"daily": True, "promote": experiment}
        for pipeline in PIPELINES:
            if not ran[pipeline]:
                continue
            ok = pipeline in night.pipeline_seconds
            self.runs.labels(pipeline, "succeeded" if ok else "failed").inc()
            self.last_success.labels(pipeline).set(1.0 if ok else 0.0)
            self.last_run.labels(pipeline).set_to_current_time()
            if ok:
                self.duration.labels(pipeline).set(night.pipeline_seconds[pipeline])
        for step, seconds in night.seconds.items():
            self.step_seconds.labels(step).set(seconds)
        if validation is not None:
            self.validations.labels("passed" if validation else "failed").inc()
            self.validation_success.labels("daily").set(1.0 if validation else 0.0)
        if night.decision is not None:
            self.decisions.labels(night.decision.decision).inc()
            figures = night.decision.figures
            for bound in ("low", "diff", "high"):
                value = getattr(figures, bound, None) if figures is not None else None
                if value is not None:
                    self.effect.labels(bound).set(value)

    def serve(self) -> int:
        """Serve ``/metrics`` on 127.0.0.1 at a free port; returns the port."""
        self._server, _ = start_http_server(0, addr="127.0.0.1", registry=self.registry)
        return int(self._server.server_port)

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


def validation_verdict(settings: Settings, day: date) -> bool | None:
    """Whether the night's data validation passed; None when it did not run."""
    results = steps.Night.of(settings, day).root.join("validation", RESULTS_FILE)
    try:
        return ValidationRun.model_validate_json(results.read_text()).success
    except (OSError, ValidationError):
        return None


class LocalPrometheus:
    """Prometheus in a child process, scraping ``targets`` (job -> host:port) with :data:`RULES_FILE`."""

    def __init__(self, root: Path, log_file: Path, targets: dict[str, str], start_timeout_s: float = 60.0) -> None:
        self.root, self.log_file, self.targets = root, log_file, targets
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.http = httpx.Client(base_url=self.url, timeout=30.0)
        self.start_timeout_s = start_timeout_s
        self._process: subprocess.Popen[bytes] | None = None

    def config(self) -> dict[str, Any]:
        """prometheus.yml: the scrape jobs and the rules file."""
        interval = f"{SCRAPE_INTERVAL_S}s"
        return {
            "global": {"scrape_interval": interval, "evaluation_interval": interval},
            "rule_files": [str(RULES_FILE)],
            "scrape_configs": [
                {"job_name": job, "static_configs": [{"targets": [target]}]} for job, target in self.targets.items()
            ],
        }

    def start(self) -> None:
        """Write the config, start Prometheus and wait until it is ready."""
        binary = prometheus_binary()
        if not RULES_FILE.is_file():
            raise MonitorUnavailable(f"the alert rules {RULES_FILE} are missing from the source tree")
        self.root.mkdir(parents=True, exist_ok=True)
        config = self.root / "prometheus.yml"
        config.write_text(yaml.safe_dump(self.config(), sort_keys=False), encoding="utf-8")
        command = [
            binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={self.root / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--log.level=warn",
        ]
        self._process = spawn(command, self.log_file, self.log_file.with_suffix(".pid"))
        outcome = await_ready(
            self._process, lambda: self.http.get("/-/ready").status_code == 200, self.start_timeout_s, 0.25
        )
        if outcome == "exited":
            raise MonitorUnavailable(f"Prometheus exited with code {self._process.returncode}; see {self.log_file}")
        if outcome == "ready":
            log.info("Prometheus up at %s", self.url)
            return
        self.stop()
        raise MonitorUnavailable(f"Prometheus was not ready within {self.start_timeout_s:g} s; see {self.log_file}")

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            stop(process, self.log_file.with_suffix(".pid"), signal.SIGTERM, 30.0)
        self.http.close()

    def query(self, expr: str) -> list[dict[str, Any]]:
        """An instant query's result vector (each item: ``metric`` labels and ``value``)."""
        response = self.http.get("/api/v1/query", params={"query": expr})
        response.raise_for_status()
        result: list[dict[str, Any]] = response.json()["data"]["result"]
        return result

    def settle(self, timeout_s: float = 30.0) -> None:
        """Wait until every target was scraped, and every rule group evaluated, after this call."""
        mark = time.time()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            targets = self.http.get("/api/v1/targets").json()["data"]["activeTargets"]
            groups = self.http.get("/api/v1/rules").json()["data"]["groups"]
            scraped = [_unix(t.get("lastScrape")) for t in targets]
            if scraped and min(scraped) > mark and min(_unix(g.get("lastEvaluation")) for g in groups) > max(scraped):
                return
            time.sleep(0.25)
        log.warning(
            "Prometheus did not scrape and evaluate within %s s; the report may miss the last moments", timeout_s
        )

    def report(self, window_s: float) -> SloReport:
        """The SLO figures over the last ``window_s`` seconds, and the alerts that went off."""
        return slo_report(self.query, window_s, 2 * SCRAPE_INTERVAL_S)


class Monitor:
    """A run's monitoring: the nights' exporter and the Prometheus that scrapes it and the platform."""

    def __init__(self, root: Path, logs: Path, platform: str) -> None:
        self.nights = NightMetrics()
        self.root, self.logs, self.platform = root, logs, platform
        self.prometheus: LocalPrometheus | None = None

    def start(self) -> None:
        prometheus_binary()  # say what is missing before starting anything
        port = self.nights.serve()
        targets = {"tinyworld-platform": self.platform, "tinyworld-loop": f"127.0.0.1:{port}"}
        self.prometheus = LocalPrometheus(self.root, self.logs / "prometheus.log", targets)
        try:
            self.prometheus.start()
        except BaseException:
            self.nights.close()
            raise

    def record(self, night: NightResult, settings: Settings, *, experiment: bool) -> None:
        """Export a night's outcome (scraped at the next interval)."""
        self.nights.record(night, experiment=experiment, validation=validation_verdict(settings, night.day))

    def close(self, since: datetime | None) -> SloReport | None:
        """The SLO report from ``since`` to now (None: no report, or Prometheus cannot answer); then stop."""
        report = None
        try:
            if self.prometheus is not None and since is not None:
                self.prometheus.settle()
                report = self.prometheus.report((datetime.now(UTC) - since).total_seconds())
        except (httpx.HTTPError, KeyError, ValueError) as error:
            log.warning("no SLO report: Prometheus did not answer (%s)", error)
        finally:
            if self.prometheus is not None:
                self.prometheus.stop()
            self.nights.close()
        return report


@contextmanager
def monitoring(state: RunState, folder: RunFolder, platform_url: str) -> Iterator[Monitor | None]:
    """A :class:`Monitor` for the run when its options say ``monitor`` (else None); on a normal
    exit the SLO report goes to ``state.slo``."""
    if not state.options.monitor:
        yield None
        return
    monitor = Monitor(folder.path("monitor"), folder.path("logs"), platform_url.removeprefix("http://"))
    monitor.start()
    try:
        yield monitor
    except BaseException:
        monitor.close(None)
        raise
    state.slo = monitor.close(state.started_at)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


_FRACTION = re.compile(r"(\.\d{6})\d+")


def _unix(stamp: str | None) -> float:
    """Unix time of an RFC 3339 stamp from Prometheus' API (nanoseconds cut to micro); 0 if absent."""
    if not stamp or stamp.startswith("0001-"):
        return 0.0
    return datetime.fromisoformat(_FRACTION.sub(r"\1", stamp).replace("Z", "+00:00")).timestamp()
