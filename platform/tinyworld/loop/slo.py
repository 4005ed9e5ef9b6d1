"""A monitored run's SLO figures and alerts, read from its Prometheus (``tinyworld up --monitor``).

The whole-run figures are totals of every sample Prometheus took, not ``increase()``: a series
born during the run (the first 503, the first feed) counts from zero, a restart of a resumed run
(a counter reset) adds what came after it, and nothing is extrapolated. The 99th percentiles are
interpolated in the histogram's buckets as ``histogram_quantile`` does. The alerts are every
``ALERTS`` series of the run, with the worst state each reached.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

Query = Callable[[str], list[dict[str, Any]]]
"""An instant query of Prometheus' HTTP API: the result's list of series (``metric``, ``value(s)``)."""

FEED = 'route="/recommendations"'


class AlertSeen(BaseModel):
    """An alert that was pending or firing at some point of the run."""

    model_config = ConfigDict(extra="forbid")

    name: str
    state: Literal["firing", "pending"]  # the worst state it reached
    severity: str | None = None
    labels: dict[str, str] = {}  # the alert's other labels (pipeline, ref...)


class SloReport(BaseModel):
    """The run's SLO figures, from its Prometheus, and the alerts that went off."""

    model_config = ConfigDict(extra="forbid")

    window_s: float  # the span the figures cover: from the run's start to its end
    requests: int | None = None  # POST /recommendations answered
    p99_latency_s: float | None = None  # their 99th percentile latency (interpolated in the buckets)
    error_rate: float | None = None  # their share answered with a 5xx (503 overload included)
    events_p99_latency_s: float | None = None  # POST /events, 99th percentile
    ingest_lag_max_s: float | None = None  # the longest an acknowledged event waited for the lake
    ingest_lag_mean_s: float | None = None  # that lag, averaged over the run's scrapes
    alerts: list[AlertSeen] = []


def slo_report(query: Query, window_s: float, min_window_s: int) -> SloReport:
    """The figures over the last ``window_s`` seconds (at least ``min_window_s``)."""
    window = f"{max(math.ceil(window_s), min_window_s)}s"
    statuses = totals(query, f"tinyworld_serving_request_seconds_count{{{FEED}}}[{window}]", "status")
    answered = sum(statuses.values())
    failed = sum(count for status, count in statuses.items() if status.startswith("5"))
    return SloReport(
        window_s=round(window_s, 1),
        requests=round(answered) if statuses else None,
        p99_latency_s=quantile(0.99, totals(query, f"tinyworld_serving_request_seconds_bucket{{{FEED}}}[{window}]")),
        error_rate=failed / answered if answered else None,
        events_p99_latency_s=quantile(0.99, totals(query, f"tinyworld_ingest_request_seconds_bucket[{window}]")),
        ingest_lag_max_s=_scalar(query, f"max(max_over_time(tinyworld_ingest_lag_seconds[{window}]))"),
        ingest_lag_mean_s=_scalar(query, f"avg(avg_over_time(tinyworld_ingest_lag_seconds[{window}]))"),
        alerts=alerts(query, window),
    )


def totals(query: Query, range_selector: str, by: str = "le") -> dict[str, float]:
    """Counter totals over a range from its raw samples, summed by the label ``by``.

    A series counts from zero at its first sample; after a drop (a restart), its new value is added.
    """
    summed: dict[str, float] = defaultdict(float)
    for series in query(range_selector):
        values = [float(value) for _, value in series["values"]]
        summed[series["metric"].get(by, "")] += values[0] + sum(
            b - a if b >= a else b for a, b in zip(values, values[1:], strict=False)
        )
    return dict(summed)


def quantile(q: float, buckets: dict[str, float]) -> float | None:
    """The ``q`` quantile of cumulative bucket counts (upper bound -> count), as ``histogram_quantile``."""
    bounds = sorted((float(le), count) for le, count in buckets.items())
    if not bounds or not math.isinf(bounds[-1][0]) or bounds[-1][1] <= 0:
        return None
    rank = q * bounds[-1][1]
    lower, below = 0.0, 0.0
    for upper, count in bounds:
        if count >= rank:
            if math.isinf(upper):
                return lower  # in the +Inf bucket: the highest finite bound is all that is known
            return lower + (upper - lower) * (rank - below) / (count - below) if count > below else upper
        lower, below = upper, count
    return None


def alerts(query: Query, window: str) -> list[AlertSeen]:
    """Every alert pending or firing within ``window``, with the worst state it reached."""
    seen: dict[tuple[str, tuple[tuple[str, str], ...]], AlertSeen] = {}
    for series in query(f"max_over_time(ALERTS[{window}])"):
        labels = dict(series["metric"])
        name, state, severity = labels.pop("alertname"), labels.pop("alertstate"), labels.pop("severity", None)
        for noise in ("instance", "job", "slo"):
            labels.pop(noise, None)
        key = (name, tuple(sorted(labels.items())))
        if key not in seen or state == "firing":
            seen[key] = AlertSeen(name=name, state=state, severity=severity, labels=labels)
    return sorted(seen.values(), key=lambda alert: (alert.state != "firing", alert.name))


def _scalar(query: Query, expr: str) -> float | None:
    result = query(expr)
    value = float(result[0]["value"][1]) if result else math.nan
    return None if math.isnan(value) or math.isinf(value) else value
