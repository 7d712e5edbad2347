"""Liveness and readiness, for anyone (orchestrators, load balancers): no sign-in, no pupil data."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from serving.api.schemas import Readiness
from serving.api.state import ServiceState

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process answers."""
    return {"status": "ok"}


@router.get("/readyz", response_model=Readiness, responses={503: {"model": Readiness}})
def readyz(request: Request) -> JSONResponse:
    """Ready when a model and a batch are served and the access log answers; says why not."""
    state: ServiceState = request.app.state.serving
    current = state.current
    try:
        with request.app.state.access_log.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        database = "ok"
    except SQLAlchemyError:
        database = "unavailable"
    body = Readiness(
        ready=current is not None and database == "ok",
        model_version=current.model.label if current else None,
        batch_as_of=current.batch.as_of if current else None,
        loaded_at=current.loaded_at if current else None,
        last_reload_error=state.last_error,
        database=database,
    )
    return JSONResponse(body.model_dump(mode="json"), status_code=200 if body.ready else 503)
