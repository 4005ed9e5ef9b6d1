"""The ingest service's Prometheus metrics, in a registry of their own.

A registry per service (not prometheus_client's global one) lets several services live in one
process, as in tests or a Ray Serve replica that mounts more than one app.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

PREFIX = "tinyworld_ingest"

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class IngestMetrics:
    """Counters, gauges and histograms of one ingest service."""

    def __init__(self, pending: Callable[[], float]) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.accepted = Counter(f"{PREFIX}_events_accepted", "Events stored for the first time", registry=r)
        self.duplicates = Counter(
            f"{PREFIX}_events_duplicate", "Events dropped because their event_id was seen", registry=r
        )
        self.batches = Counter(
            f"{PREFIX}_batches", "Stored batches, by body format (json, arrow)", ["format"], registry=r
        )
        self.rejected = Counter(f"{PREFIX}_events_rejected", "Invalid events named in refused batches", registry=r)
        self.batches_rejected = Counter(
            f"{PREFIX}_batches_rejected",
            "Refused batches, by reason (invalid, malformed, too_large)",
            ["reason"],
            registry=r,
        )
        self.request_seconds = Histogram(
            f"{PREFIX}_request_seconds",
            "Latency of POST /events, by status code",
            ["status"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.pending = Gauge(f"{PREFIX}_pending_events", "Events accepted but not yet in the lake", registry=r)
        self.pending.set_function(pending)
        self.flushed = Counter(f"{PREFIX}_events_flushed", "Events written to the lake", registry=r)
        self.flush_seconds = Histogram(
            f"{PREFIX}_flush_seconds",
            "Duration of one micro-batch flush",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.flush_errors = Counter(f"{PREFIX}_flush_errors", "Flushes that failed (retried)", registry=r)
        self.caught_up_at = time.time()  # when the last successful flush began (at first: when this started)
        self.lag = Gauge(
            f"{PREFIX}_lag_seconds",
            "Longest an acknowledged event may have waited for the lake: seconds since the last successful "
            "flush began, 0 when none waits",
            registry=r,
        )
        self.lag.set_function(lambda: max(0.0, time.time() - self.caught_up_at) if pending() > 0 else 0.0)

    def caught_up(self, began: float) -> None:
        """A flush that began at ``began`` (Unix time) left every event acknowledged before then in the lake."""
        self.caught_up_at = max(self.caught_up_at, began)

    def render(self) -> bytes:
        """The metrics in Prometheus' text exposition format."""
        return generate_latest(self.registry)
