"""The recommendation API: ``POST /recommendations``, ``POST /events``, ``GET /healthz``, ``GET /metrics``,
and the admin routes (``/admin/experiment``, :mod:`components.serving.admin`).

One ASGI app, served as it is by uvicorn or by a Ray Serve replica (:mod:`components.serving.
deployment`). Its host builds the :class:`Recommender` and, optionally, the
:class:`~components.ingest.service.IngestService` mounted at ``POST /events``; stored events are
handed to the recommender (seen items, popularity, fresh items). Past ``max_in_flight``
recommendation requests, new ones get an immediate 503 instead of queueing without bound.
``GET /healthz`` answers 503 ("degraded", with an ``errors`` list) while an arm serves the popularity
fallback because its model's registry reference does not resolve: it is a readiness signal for
people and the closed loop, not a liveness probe (the server still answers every request).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from components.ingest.app import events_router
from components.ingest.service import IngestService
from components.serving.admin import admin_router
from components.serving.batcher import MicroBatcher
from components.serving.recommender import Recommender, Slate
from simnet.protocol import RecommendationBatchRequest, RecommendationRequest

log = logging.getLogger(__name__)

ROUTE_RECOMMEND = "/recommendations"


def create_app(recommender: Recommender, ingest: IngestService | None = None) -> FastAPI:
    """The API over a ready ``recommender`` (and ``ingest``, if events are to be taken here)."""
    config = recommender.config
    metrics = recommender.metrics

    def rank(batch: list[tuple[int, int]]) -> list[Slate]:
        if len({k for _, k in batch}) == 1:
            return recommender.recommend([u for u, _ in batch], batch[0][1])
        return [recommender.recommend([u], k)[0] for u, k in batch]

    batcher: MicroBatcher[tuple[int, int], Slate] = MicroBatcher(
        rank, config.max_batch_size, on_batch=metrics.batch_size.observe
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            batcher.close()

    app = FastAPI(
        title="TinyWorld recommender",
        summary="Feeds for SimNet users from the champion (and challengers), with A/B arms.",
        lifespan=lifespan,
    )
    app.state.recommender = recommender
    app.include_router(admin_router(recommender))
    if ingest is not None:
        app.state.ingest = ingest
        ingest.add_listener(recommender.observe)
        app.include_router(events_router(ingest.config.max_body_bytes))

    def observe(route: str, status: int, started: float) -> None:
        metrics.request_seconds.labels(route, str(status)).observe(time.perf_counter() - started)
        if status >= 500:
            metrics.errors.labels(route).inc()

    async def recommendations(request: Request) -> Response:
        """A feed for one user ({user_id, k}) or for many ({user_ids, k, ts}); 503 when overloaded."""
        started = time.perf_counter()
        if recommender.in_flight >= config.max_in_flight:
            metrics.overloaded.inc()
            observe(ROUTE_RECOMMEND, 503, started)
            return JSONResponse(
                {"detail": "overloaded: too many requests in flight; retry shortly"},
                status_code=503,
                headers={"Retry-After": "1"},
            )
        recommender.in_flight += 1
        try:
            response = await _recommend(await _body(request, config.max_request_bytes))
        except _TooLarge as error:
            response = JSONResponse({"detail": str(error)}, status_code=413)
        except Exception:
            log.exception("a recommendation request failed")
            response = JSONResponse({"detail": "internal error while ranking"}, status_code=500)
        finally:
            recommender.in_flight -= 1
        observe(ROUTE_RECOMMEND, response.status_code, started)
        return response

    # The hot path is a plain Starlette route: FastAPI's dependency solving and response
    # serialisation cost about a quarter of a request's CPU here, and the body is validated
    # by the protocol's models anyway. The route is documented in docs/serving.md.
    app.add_route(ROUTE_RECOMMEND, recommendations, methods=["POST"])

    async def _recommend(body: bytes) -> Response:
        try:
            payload = json.loads(body)
            if isinstance(payload, dict) and "user_ids" in payload:
                batch = RecommendationBatchRequest.model_validate(payload)
                if len(batch.user_ids) > config.max_batch_users:
                    raise _TooLarge(
                        f"the batch names {len(batch.user_ids)} users; at most {config.max_batch_users} per "
                        "request: split it"
                    )
                slates = await run_in_threadpool(recommender.recommend, batch.user_ids, batch.k)
                return JSONResponse(_batch_json(slates))
            single = RecommendationRequest.model_validate(payload)
        except (ValueError, ValidationError) as error:
            return _invalid(error)
        except RecursionError:
            return _invalid(ValueError("it is nested too deeply"))
        slate = await batcher.submit((single.user_id, single.k))
        return JSONResponse(slate.to_json())

    @app.get("/healthz")
    async def healthz() -> JSONResponse:
        """What each arm serves, the catalogue's size and the ingest service's state; 503 while an arm
        serves the popularity fallback because its model's reference does not resolve."""
        arms = recommender.health()
        errors = [{"arm": a.arm, "model": a.model, "message": a.error} for a in arms if a.error]
        body: dict[str, object] = {
            "status": "degraded" if errors else "ok",
            "experiment": recommender.live.applied.record.experiment.name,
            "arms": {a.arm: a.serves for a in arms},
            "errors": errors,
            "warnings": [{"arm": a.arm, "model": a.model, "message": a.warning} for a in arms if a.warning],
            "catalogue_items": len(recommender.catalogue),
            "in_flight": recommender.in_flight,
        }
        if ingest is not None:
            body["ingest"] = ingest.health()
        return JSONResponse(body, status_code=503 if errors else 200)

    @app.get("/metrics")
    async def prometheus() -> Response:
        """Prometheus metrics of the recommender (and of the ingest service, if mounted)."""
        text = metrics.render() + (ingest.metrics.render() if ingest is not None else b"")
        return Response(text, media_type=CONTENT_TYPE_LATEST)

    return app


class _TooLarge(Exception):
    """A request beyond one of the server's size bounds (answered 413 with the bound)."""


async def _body(request: Request, limit: int) -> bytes:
    """The request body, refused before it is all read when it is larger than ``limit`` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _TooLarge(f"the body is {declared} bytes; at most {limit} per request: split it")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _TooLarge(f"the body is larger than {limit} bytes; at most {limit} per request: split it")
        chunks.append(chunk)
    return b"".join(chunks)


def _invalid(error: Exception) -> JSONResponse:
    """422 naming what was wrong with the request body."""
    if isinstance(error, ValidationError):
        errors = [{"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in error.errors()]
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
    else:
        errors = [{"field": "", "message": str(error)}]
        detail = f"the body is not JSON: {error}"
    hint = 'send {"user_id": 1, "k": 10} or {"user_ids": [1, 2], "k": 10, "ts": "2026-01-01T00:00:00Z"}'
    return JSONResponse({"detail": f"invalid recommendation request: {detail}. {hint}", "errors": errors}, 422)


def _batch_json(slates: Sequence[Slate]) -> dict[str, object]:
    """The protocol's RecommendationBatchResponse (columns, in request order) as a plain dict."""
    return {
        "request_ids": [s.request_id for s in slates],
        "item_ids": [s.item_ids for s in slates],
        "scores": [s.scores for s in slates],
        "arms": [s.arm for s in slates],
        "model_versions": [s.model_version for s in slates],
        "fallback": [s.fallback for s in slates],
    }
