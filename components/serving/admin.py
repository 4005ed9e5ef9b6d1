"""The admin API: the experiment in force, read and changed while serving (``/admin/experiment``).

- ``PUT /admin/experiment`` with ``{"experiment": {...ExperimentConfig...}, "reason": "...", "by": "..."}``
  records the experiment in the registry's experiment log (when the recommender has a registry),
  applies it at once (:meth:`~components.serving.recommender.Recommender.change_experiment`: new
  models are loaded before any request sees the new arms) and answers with the record.
- ``GET /admin/experiment``: the record in force and the history applied by this process, each
  with when it was applied here and where it came from (config, registry, admin).

Both need ``Authorization: Bearer <ServingConfig.admin_token>``: without a token configured the
routes answer 403 saying how to enable them, and a missing or wrong token gets a 401. The body is
read only once the caller is authorised.
"""

from __future__ import annotations

import hmac
import logging
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from components.registry.experiments import ExperimentConfig
from components.serving.recommender import Recommender
from simnet.protocol import UtcDatetime

log = logging.getLogger(__name__)

ROUTE_EXPERIMENT = "/admin/experiment"
"""``GET`` the experiment in force and its history; ``PUT`` an :class:`ExperimentChange`."""

MAX_BODY_BYTES = 64 * 1024
"""An experiment is a few arms: a larger body is refused (413)."""

EXAMPLE = 'send {"experiment": {"name": "e1", "arms": [{"name": "control", "model": "champion"}]}, "reason": "why"}'
"""What a 422 shows: a valid body."""

DISABLED = (
    "the admin API is off: set ServingConfig.admin_token (tinyworld serve --admin-token, or the "
    "TINYWORLD_ADMIN_TOKEN environment variable) and send it as 'Authorization: Bearer <token>'"
)


Credentials = Annotated[
    HTTPAuthorizationCredentials | None, Depends(HTTPBearer(auto_error=False, description="ServingConfig.admin_token"))
]
"""The bearer token of a request, if it sent one."""


class ExperimentChange(BaseModel):
    """The body of ``PUT /admin/experiment``: the experiment to serve from now on, and why."""

    model_config = ConfigDict(extra="forbid")

    experiment: ExperimentConfig
    # why the arms change: kept in the experiment log with the record
    reason: str = Field(min_length=1, max_length=2000)
    # who changes them: the closed loop, a person
    by: str = Field(default="admin", min_length=1, max_length=200)
    # when they take effect on the events' clock (the ETL files each event under the experiment live
    # at its time): now by default; a simulated world passes its own time
    at: UtcDatetime | None = None


def admin_router(recommender: Recommender) -> APIRouter:
    """The ``/admin`` routes over ``recommender``, guarded by its config's admin token."""
    token = recommender.config.admin_token

    def authorised(credentials: Credentials) -> None:
        if token is None:
            raise HTTPException(403, DISABLED)
        expected = token.get_secret_value().encode()
        if credentials is None or not hmac.compare_digest(credentials.credentials.encode(), expected):
            raise HTTPException(401, "a valid admin token is required", headers={"WWW-Authenticate": "Bearer"})

    router = APIRouter(dependencies=[Depends(authorised)], tags=["admin"])

    @router.get(ROUTE_EXPERIMENT)
    async def current() -> dict[str, object]:
        """The experiment in force and those this process applied before it (oldest first)."""
        return {
            "current": recommender.live.applied.to_json(),
            "history": [applied.to_json() for applied in list(recommender.history)],
            "arms": recommender.served(),
        }

    @router.put(ROUTE_EXPERIMENT)
    async def change(request: Request) -> JSONResponse:
        """Record and apply an experiment; answers with its record (the experiment log's entry)."""
        body = await request.body()
        if len(body) > MAX_BODY_BYTES:
            return JSONResponse({"detail": f"the body is larger than {MAX_BODY_BYTES} bytes"}, 413)
        try:
            wanted = ExperimentChange.model_validate_json(body)
        except ValidationError as error:
            errors = [{"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in error.errors()]
            detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
            return JSONResponse({"detail": f"invalid experiment change: {detail}. {EXAMPLE}", "errors": errors}, 422)
        try:
            applied = await run_in_threadpool(
                recommender.change_experiment, wanted.experiment, reason=wanted.reason, by=wanted.by, at=wanted.at
            )
        except OSError as error:
            log.exception("the experiment log could not be written")
            detail = f"the experiment could not be recorded in the registry's log ({error}); nothing changed: retry"
            return JSONResponse({"detail": detail}, 503, headers={"Retry-After": "5"})
        log.info("admin: experiment %s applied (by %r: %s)", wanted.experiment.name, wanted.by, wanted.reason)
        return JSONResponse(applied.record.model_dump(mode="json"))

    return router
