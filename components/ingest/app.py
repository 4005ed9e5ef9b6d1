"""The ingest HTTP API: ``POST /events``, ``POST /events/flush``, ``GET /healthz``, ``GET /metrics``.

A thin FastAPI wrapper over :class:`~components.ingest.service.IngestService`. The body of
``POST /events`` is read raw (no FastAPI body model) and handed, with its ``Content-Type``, to the
service: a JSON array (the default) or an Arrow IPC stream (``ARROW_STREAM``). Parsing, storing
and flushing run in a worker thread so the event loop stays free while SQLite commits.

:func:`events_router` is the events routes alone, for a host app that serves more than ingestion
(the recommender mounts it): it reads the service from ``request.app.state.ingest``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from components.ingest.batch import BatchRejected
from components.ingest.config import IngestConfig
from components.ingest.service import IngestService
from simnet.protocol import ARROW_STREAM, EVENTS_FLUSH_PATH, EVENTS_PATH

log = logging.getLogger(__name__)


class IngestResponse(BaseModel):
    """What a stored batch did: events new to the lake, and events already seen (dropped)."""

    accepted: int
    duplicates: int


class FlushResponse(BaseModel):
    """A flush barrier passed: every batch numbered up to last_seq is in the lake."""

    flushed: int
    pending: int
    last_seq: int


class RejectionResponse(BaseModel):
    """A refused batch (nothing of it was stored): why, and each bad event with its field."""

    detail: str
    reason: str
    invalid_events: int
    errors: list[dict[str, object]]


def create_app(config: IngestConfig, *, service: IngestService | None = None) -> FastAPI:
    """The ingest app for ``config``.

    Without ``service`` the app opens its own :class:`IngestService` at startup and closes it
    (flushing what is pending) at shutdown. A host that manages the service's life itself, such
    as a Ray Serve deployment, builds and starts one and passes it in; the app then only uses it.
    """
    if service is not None and service.config != config:
        raise ValueError("the service passed in was built for another configuration")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if service is not None:
            app.state.ingest = service
            yield
            return
        owned = await run_in_threadpool(IngestService, config)
        owned.start()
        app.state.ingest = owned
        try:
            yield
        finally:
            await run_in_threadpool(owned.close)

    app = FastAPI(
        title="TinyWorld ingest",
        summary="SimNet's events in, deduplicated Parquet in the lake out.",
        lifespan=lifespan,
    )
    app.include_router(events_router(config.max_body_bytes))

    @app.get("/healthz")
    async def healthz(request: Request) -> dict[str, object]:
        """Liveness and a little state: pending events, whether flushing works."""
        svc: IngestService = request.app.state.ingest
        return svc.health()

    @app.get("/metrics")
    async def metrics(request: Request) -> Response:
        """Prometheus metrics (text exposition format)."""
        svc: IngestService = request.app.state.ingest
        return Response(svc.metrics.render(), media_type=CONTENT_TYPE_LATEST)

    return app


def events_router(max_body_bytes: int) -> APIRouter:
    """``POST /events`` and ``POST /events/flush`` over the service at ``request.app.state.ingest``."""
    router = APIRouter()

    @router.post(
        EVENTS_PATH,
        response_model=IngestResponse,
        responses={
            413: {"model": RejectionResponse},
            422: {"model": RejectionResponse},
            503: {"description": "the batch could not be stored; retry it"},
        },
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": {"type": "array", "items": {"type": "object"}}},
                    ARROW_STREAM: {"schema": {"type": "string", "format": "binary"}},
                },
            }
        },
    )
    async def post_events(request: Request) -> Response:
        """Store a batch of protocol events (a JSON array, or an Arrow IPC stream); 200 once durable.

        The batch is atomic: one invalid event refuses all of it (422, naming each bad event and
        field). Events whose event_id was seen before are counted as duplicates and dropped.
        """
        started = time.perf_counter()
        svc: IngestService = request.app.state.ingest
        try:
            body = await _read_body(request, max_body_bytes)
            result = await run_in_threadpool(svc.ingest, body, request.headers.get("content-type"))
        except BatchRejected as rejection:
            response: Response = JSONResponse(rejection.to_json(), status_code=rejection.status_code)
        except ClientDisconnect:
            log.debug("a client went away while sending its batch")
            response = Response(status_code=400)
        except Exception:
            log.exception("could not store a batch")
            detail = "the batch could not be stored (nothing of it is acknowledged); retry it"
            response = JSONResponse({"detail": detail, "reason": "unavailable"}, status_code=503)
        else:
            response = JSONResponse({"accepted": result.accepted, "duplicates": result.duplicates})
        svc.metrics.request_seconds.labels(str(response.status_code)).observe(time.perf_counter() - started)
        return response

    @router.post(
        EVENTS_FLUSH_PATH,
        response_model=FlushResponse,
        responses={503: {"description": "the flush failed; the events are kept, retry it"}},
    )
    async def flush_events(request: Request) -> Response:
        """Return once every event acknowledged before this call is written to the lake."""
        svc: IngestService = request.app.state.ingest
        try:
            result = await run_in_threadpool(svc.flush)
        except Exception as error:
            log.exception("a flush barrier failed")
            detail = (
                f"the flush to the lake failed ({type(error).__name__}: {error}); the events are kept "
                "in the store and the flusher retries them: retry the flush"
            )
            return JSONResponse({"detail": detail, "reason": "unavailable"}, status_code=503)
        return JSONResponse(result.to_json())

    return router


async def _read_body(request: Request, limit: int) -> bytes:
    """The request body, refusing (413) one larger than ``limit`` bytes before reading it all."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(limit: int) -> BatchRejected:
    return BatchRejected(413, "too_large", f"the body is larger than {limit} bytes; split the batch")
