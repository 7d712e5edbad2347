"""For the administrator: the access log's export (for the data protection officer) and reload."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from starlette.concurrency import run_in_threadpool

from serving.api.access_log import IMPLAUSIBLE_LOG_DAY, plausible_log_day
from serving.api.deps import ADMINS, Context
from serving.api.errors import ERRORS
from serving.api.schemas import ReloadResult

router = APIRouter(prefix="/api/v1", tags=["admin"], responses=ERRORS, dependencies=[ADMINS])


@router.get(
    "/access-log",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}, "application/json": {}}, "description": "The entries."}},
)
def export_access_log(
    ctx: Context,
    start: Annotated[date, Query(alias="from", description="First day (UTC), included; 2000-01-01 at the earliest.")],
    end: Annotated[date, Query(alias="to", description="Last day (UTC), included; a year from today at the latest.")],
    format: Literal["csv", "json"] = "csv",
) -> Response:
    """The access log of a period, for the data protection officer (admin); empty when 'to' is before 'from'.
    Days outside the log's plausible range answer 422 naming the field (and are traced as 422)."""
    wrong = [name for name, day in (("from", start), ("to", end)) if not plausible_log_day(day)]
    if wrong:
        ctx.trace(422)
        raise RequestValidationError(
            [{"loc": ("query", name), "msg": IMPLAUSIBLE_LOG_DAY, "type": "value_error"} for name in wrong]
        )
    ctx.trace(200)
    body = ctx.log.export(
        datetime.combine(start, time.min, UTC), datetime.combine(end + timedelta(days=1), time.min, UTC), format
    )
    media = "text/csv; charset=utf-8" if format == "csv" else "application/json"
    return Response(body, media_type=media)


@router.post("/admin/reload", response_model=ReloadResult)
async def reload(ctx: Context, request: Request) -> ReloadResult:
    """Load the champion and its newest batch again; on failure the previous ones keep serving."""
    await run_in_threadpool(ctx.trace, 200)
    state = request.app.state.serving
    swapped = await run_in_threadpool(state.reload)
    current = state.current
    return ReloadResult(
        reloaded=swapped,
        model_version=current.model.label if current else None,
        batch_as_of=current.batch.as_of if current else None,
        error=state.last_error,
    )
