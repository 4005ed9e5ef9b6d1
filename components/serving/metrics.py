"""The recommender's Prometheus metrics, in a registry of its own (see components.ingest.metrics)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric

from components.ingest.metrics import LATENCY_BUCKETS

if TYPE_CHECKING:
    from components.serving.models import LoadedModel

PREFIX = "tinyworld_serving"


class ServingMetrics:
    """Latency per route, recommendations per arm and model version, errors, fallbacks, overload."""

    def __init__(
        self, in_flight: Callable[[], float], models: Callable[[], Mapping[str, LoadedModel]] | None = None
    ) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.request_seconds = Histogram(
            f"{PREFIX}_request_seconds",
            "Latency of each HTTP request, by route and status code",
            ["route", "status"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.recommendations = Counter(
            f"{PREFIX}_recommendations",
            "Feeds served, by experiment arm and model version",
            ["arm", "model_version"],
            registry=r,
        )
        self.fallbacks = Counter(
            f"{PREFIX}_fallbacks",
            "Feeds served by the popularity fallback, by reason (no_model, model_error, features_error)",
            ["reason"],
            registry=r,
        )
        self.errors = Counter(f"{PREFIX}_errors", "Requests that failed with a 5xx, by route", ["route"], registry=r)
        self.overloaded = Counter(
            f"{PREFIX}_overloaded", "Requests refused with 503 because too many were in flight", registry=r
        )
        self.batch_size = Histogram(
            f"{PREFIX}_batch_size",
            "Requests ranked together in one micro-batch",
            buckets=(1, 2, 4, 8, 16, 32, 64, 128),
            registry=r,
        )
        self.in_flight = Gauge(f"{PREFIX}_in_flight", "Recommendation requests being served", registry=r)
        self.in_flight.set_function(in_flight)
        self.model_swaps = Counter(f"{PREFIX}_model_swaps", "Times a new model set was published", registry=r)
        self.experiment_changes = Counter(
            f"{PREFIX}_experiment_changes",
            "Experiments applied while serving, by source (admin API, registry log)",
            ["source"],
            registry=r,
        )
        self.fresh_items = Counter(
            f"{PREFIX}_fresh_items", "Items added to the catalogue from create events", registry=r
        )
        if models is not None:
            r.register(_ModelCreated(models))

    def render(self) -> bytes:
        """The metrics in Prometheus' text exposition format."""
        return generate_latest(self.registry)


class _ModelCreated:
    """When each loaded model was trained (its artifact's ``created_at``), by registry reference: model age."""

    def __init__(self, models: Callable[[], Mapping[str, LoadedModel]]) -> None:
        self.models = models

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(
            f"{PREFIX}_model_created_timestamp_seconds",
            "Unix time at which the model each registry reference serves was trained",
            labels=["ref", "model_version"],
        )
        for ref, model in sorted(self.models().items()):
            created = model.artifact.metadata.get("created_at")
            try:
                family.add_metric([ref, model.label], datetime.fromisoformat(str(created)).timestamp())
            except ValueError:  # an artifact that does not say when it was trained
                continue
        yield family
