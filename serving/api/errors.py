"""How the API answers what the service layer refuses: one mapping from its typed errors to a
status and a body, used by the one exception handler in :mod:`serving.app`."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse

from serving.api.schemas import Problem
from serving.api.service import (
    JudgementRuleError,
    ObjectionConflictError,
    OutOfReachError,
    PlanRuleError,
    ServiceError,
    SuspendedError,
)
from serving.api.service.stagger import NotStartedError

NOT_FOUND = "Introuvable."
ALREADY_OBJECTED = "Une opposition est déjà enregistrée pour cet élève."
#: The problems every operation may answer, for the OpenAPI document.
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem, "description": "No token, or a refused one."},
    403: {
        "model": Problem,
        "description": "The caller's role does not allow this operation, or (staggered start, off by default) the "
        "school opens Vigie in a later school year: then the body also says when ('school_id', 'start_year').",
    },
    404: {"model": Problem, "description": "Not found, or outside the caller's reach (the same answer)."},
    503: {
        "model": Problem,
        "description": "Nothing loaded yet, the access log cannot be written, or Vigie is "
        "suspended (then the body also says why: 'reason', 'school_id', 'since').",
    },
}


def problem(error: ServiceError) -> JSONResponse:
    """404 for what is out of reach (the same body as for what does not exist); 422 naming the
    body fields a plan rule refuses, shaped like any invalid body's answer."""
    if isinstance(error, PlanRuleError | JudgementRuleError):
        detail = [{"loc": ["body", name], "msg": error.message, "type": "value_error"} for name in error.fields]
        return JSONResponse({"detail": detail}, status_code=422)
    if isinstance(error, OutOfReachError):
        return JSONResponse({"detail": NOT_FOUND}, status_code=404)
    if isinstance(error, SuspendedError):  # the stop switch: the reason, never a trace
        stop = error.suspension
        body = {"detail": stop.notice(), "reason": stop.reason, "school_id": stop.school_id,
                "since": stop.started_at.isoformat()}  # fmt: skip
        return JSONResponse(body, status_code=503, headers={"Retry-After": "3600"})
    if isinstance(error, ObjectionConflictError):
        return JSONResponse({"detail": ALREADY_OBJECTED}, status_code=409)
    if isinstance(error, NotStartedError):  # the staggered start (issue 28): the notice and the start year
        notice = {"detail": str(error), "school_id": error.school_id, "start_year": error.start_year}
        return JSONResponse(notice, status_code=403)
    raise TypeError(f"no answer for {type(error).__name__}")  # a new error type must be mapped here
