"""The recommender as a Ray Serve application: the same ASGI app, one replica per rank.

Serving speed on a small machine is decided by the path a request takes into the replica, not by
the ranking (see docs/serving.md). :func:`ray_environment` turns on Ray Serve's throughput-optimised
mode, in which the ingress replica listens for HTTP itself (direct ingress) instead of behind the
Python HTTP proxy, and keeps per-request access logs off. Requests arriving while a batch is ranked
are batched by the app itself (:mod:`components.serving.batcher`), so the Ray host and a bare uvicorn
host run identical request code.

A replica's ``reconfigure`` is how a rolling ``serve.run`` with a new ``user_config`` reaches live
replicas without restarting them: it asks the recommender to apply the registry's newest experiment
and swap in its current models.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from typing import Any, cast

from pydantic import SecretStr
from pydantic_core import to_jsonable_python
from ray import serve

from components.serving.config import ServingConfig
from components.serving.host import Services, open_services

log = logging.getLogger(__name__)

APP_NAME = "tinyworld"
DEPLOYMENT_NAME = "recommender"


PORT_SPAN = 100
"""Direct-ingress ports per host: replica rank r listens on about ``port + r`` (Ray allocates them)."""


def ray_environment(port: int) -> dict[str, str]:
    """Environment for the Ray processes: no usage stats, throughput-optimised Serve, quiet logs.

    Ray's own metrics pipeline is off: Serve records several metrics per request and its
    workers export them through an agent, which on two cores cost about a third of the
    throughput (docs/serving.md). The app's ``GET /metrics`` carries what TinyWorld monitors.

    Direct ingress makes each ingress replica listen for HTTP itself, on a port from a range
    (here starting at ``port``, so the first replica answers where the API is expected). With no
    port quarantine, a replica that replaces a dead one takes its port again, so the API stays at
    the same address. (Several replicas behind one address need Ray's HAProxy mode: the cluster's.)
    """
    return {
        "RAY_USAGE_STATS_ENABLED": "0",
        "RAY_enable_metrics_collection": "0",
        "RAY_SERVE_THROUGHPUT_OPTIMIZED": "1",
        "RAY_SERVE_ENABLE_DIRECT_INGRESS": "1",
        "RAY_SERVE_DIRECT_INGRESS_MIN_HTTP_PORT": str(port),
        "RAY_SERVE_DIRECT_INGRESS_MAX_HTTP_PORT": str(port + PORT_SPAN - 1),
        "RAY_SERVE_PORT_QUARANTINE_S": "0",
        "RAY_SERVE_LOG_TO_STDERR": "0",
    }


@serve.deployment(
    name=DEPLOYMENT_NAME,
    num_replicas=1,
    ray_actor_options={"num_cpus": 0},
    health_check_period_s=5,
    graceful_shutdown_timeout_s=10,
    logging_config={"enable_access_log": False, "log_level": "WARNING"},
)
@serve.ingress()
class RecommenderDeployment:
    """One replica: loads the models, opens its ingest state (by rank) and serves the app."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = ServingConfig.model_validate(config)
        context = serve.get_replica_context()
        self.services: Services = open_services(self.config, rank=_rank(context.rank if context else None))

    def __serve_build_asgi_app__(self) -> Any:
        return self.services.app()

    def reconfigure(self, user_config: dict[str, Any]) -> None:
        """Apply the registry's newest experiment and current models (``serve.run`` with a new user_config)."""
        self.services.recommender.reload()
        log.info("reconfigured (%s): serving %s", user_config, self.services.recommender.served())

    def check_health(self) -> None:
        """Unhealthy (and so replaced) when the ingest service can no longer flush to the lake."""
        ingest = self.services.ingest
        if ingest is not None and not ingest.flusher.running:
            raise RuntimeError("the ingest flusher has stopped; events would pile up unwritten")

    def __del__(self) -> None:
        services = getattr(self, "services", None)
        if services is not None:
            services.close()


def _rank(rank: object) -> int:
    """The replica's global rank (Ray gives a ReplicaRank model, older versions an int)."""
    value = getattr(rank, "rank", rank)
    return value if isinstance(value, int) else 0


def deployment_for(config: ServingConfig) -> Any:
    """The bound application, sized by ``config``: the queue bound maps to max_ongoing_requests."""
    deployment: Any = RecommenderDeployment
    return deployment.options(
        max_ongoing_requests=config.max_in_flight,
        max_queued_requests=config.max_in_flight,
        user_config={"generation": 0},
    ).bind(replica_config(config))


def replica_config(config: ServingConfig) -> dict[str, Any]:
    """``config`` as the JSON a replica is built from, secrets included (a JSON dump masks them)."""
    return cast(dict[str, Any], to_jsonable_python(_revealed(config.model_dump())))


def _revealed(value: Any) -> Any:
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, dict):
        return {key: _revealed(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_revealed(item) for item in value]
    return value


def serve_ray(config: ServingConfig, host: str, port: int, *, address: str | None = None, blocking: bool = True) -> str:
    """Start (or join) Ray and run the recommender; returns its URL. See :func:`serve_ray_app`."""
    return serve_ray_app(deployment_for(config), host, port, name=APP_NAME, address=address, blocking=blocking)


def serve_ray_app(
    app: Any, host: str, port: int, *, name: str, address: str | None = None, blocking: bool = False
) -> str:
    """Start (or join) Ray and run a bound Serve application at ``/``; returns ``http://host:port``.

    The application's ingress replica answers on ``port`` itself (direct ingress); Ray's own HTTP
    proxy, the slow path, is moved aside to ``port + PORT_SPAN``. ``blocking`` serves until SIGINT or
    SIGTERM (:func:`stop_signals`), then stops Serve and Ray.
    """
    import ray

    environment = ray_environment(port)
    os.environ.update(environment)
    # Ray starts its workers (the replicas among them) at niceness 15: below anything else on the
    # machine, even the loop's reference runs (10), which then took the replica's core while the
    # world waited for its feeds. The Ray this process starts runs them at normal priority.
    os.environ.setdefault("RAY_worker_niceness", "0")  # read by the raylet ray.init starts
    # A direct-ingress replica that stops first waits 30 s for external load balancers to let go of
    # it; here no balancer stands in front, and stopping the server would wait that out.
    os.environ.setdefault("RAY_SERVE_DIRECT_INGRESS_MIN_DRAINING_PERIOD_S", "2")
    if not ray.is_initialized():
        ray.init(
            address=address,
            include_dashboard=False,
            logging_level=logging.WARNING,
            runtime_env={"env_vars": environment},
        )
    stop = stop_signals() if blocking else None  # after ray.init, whose own SIGTERM handler would end us
    serve.start(http_options={"host": host, "port": port + PORT_SPAN})
    serve.run(app, name=name, route_prefix="/", blocking=False)
    if stop is not None:
        while not stop.wait(1.0):
            pass
        log.warning("stopping: the application's replicas (each flushes what it acknowledged), then Ray")
        serve.delete(name)  # not serve.shutdown(): it waits out the proxy's 30 s draining period
        ray.shutdown()
    return f"http://{host}:{port}"


def stop_signals() -> threading.Event:
    """An event set by SIGINT or SIGTERM from now on, whatever this process inherited for them.

    A process started in the background inherits SIGINT ignored, and Python only turns SIGINT into
    KeyboardInterrupt when it is not; SIGTERM (what Kubernetes, a parent's death signal and
    ``tinyworld up`` send) would end the process without stopping Serve and Ray. Both stop the server.
    """
    received = threading.Event()
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, lambda *_: received.set())
    return received
