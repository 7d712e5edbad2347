"""The endpoints under ``/api/v1``: resource-shaped, typed, every read traced in the access log.

Pupil data is for school staff of the pupil's school only. A pupil or a school outside the
caller's reach answers 404, exactly like one that does not exist; an operation the caller's
role does not allow answers 403.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
from fastapi import APIRouter, Body, Depends, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from features.ingest import PSEUDONYM_PATTERN, UAI_PATTERN, pseudonym
from models.matrix import CATEGORIES, feature_matrix
from serving.api import reads
from serving.api.access_log import IMPLAUSIBLE_LOG_DAY, plausible_log_day
from serving.api.auth import Role
from serving.api.deps import Caller, Log, Served, require, settings, trace
from serving.api.reads import REASONS_SHOWN, ListFilters, as_reasons
from serving.api.schemas import (
    Aggregates,
    FairnessSummary,
    IneLookup,
    ModelCard,
    ModelInfo,
    Problem,
    PupilDetail,
    ReloadResult,
    SchoolPupils,
    WhatIf,
    WhatIfResult,
)
from serving.api.state import Serving
from serving.batch import explain_rows

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem, "description": "No token, or a refused one."},
    403: {"model": Problem, "description": "The caller's role does not allow this operation."},
    404: {"model": Problem, "description": "Not found, or outside the caller's reach (the same answer)."},
    503: {"model": Problem, "description": "Nothing loaded yet, or the access log cannot be written."},
}
router = APIRouter(prefix="/api/v1", responses=ERRORS)

SchoolId = Annotated[str, Path(pattern=UAI_PATTERN, examples=["0750001A"], description="UAI of the school.")]
PupilId = Annotated[str, Path(pattern=PSEUDONYM_PATTERN, examples=["3f9a1c0b7d2e4a6f8b1c"], description="Pseudonym.")]
Filters = Annotated[ListFilters, Depends()]


@router.get("/schools/{school_id}/pupils", response_model=SchoolPupils, tags=["pupils"])
def school_pupils(
    school_id: SchoolId,
    caller: Caller,
    served: Served,
    log: Log,
    request: Request,
    filters: Filters,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> SchoolPupils:
    """A school's pupils by risk, with counts by tier and grade level, filters and pages."""
    page_size = min(page_size, settings(request).max_page_size)
    endpoint = "GET /api/v1/schools/{school_id}/pupils"
    return reads.school_pupils(served, caller, log, endpoint, school_id, filters, page=page, page_size=page_size)


@router.get(
    "/schools/{school_id}/pupils/export",
    tags=["pupils"],
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "CSV for the staff meeting."}},
)
def export_school_pupils(
    school_id: SchoolId, caller: Caller, served: Served, log: Log, request: Request, filters: Filters
) -> Response:
    """The filtered list as CSV (highest risk first), up to the export limit."""
    export = reads.export_rows(
        served, caller, log, "GET /api/v1/schools/{school_id}/pupils/export", school_id, filters,
        settings(request).export_max_rows,
    )  # fmt: skip
    return Response(
        export.csv(),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{export.filename}.csv"',
            "X-Total-Count": str(export.total),
        },
    )


@router.get("/pupils/{pupil_id}", response_model=PupilDetail, tags=["pupils"])
def pupil(pupil_id: PupilId, caller: Caller, served: Served, log: Log) -> PupilDetail:
    """One pupil: risk, tier, reasons (from the batch, or computed now), risk over past batches."""
    return reads.pupil_detail(served, caller, log, "GET /api/v1/pupils/{pupil_id}", pupil_id)


@router.post("/pupils/lookup", response_model=PupilDetail, tags=["pupils"])
def lookup(
    body: Annotated[IneLookup, Body()], caller: Caller, served: Served, log: Log, request: Request
) -> PupilDetail:
    """Find a pupil by INE: pseudonymised in memory with the key, never stored, logged or echoed."""
    key: bytes | None = request.app.state.pseudonym_key
    pupil_id = pseudonym(key, body.ine) if key is not None else None
    return reads.pupil_detail(served, caller, log, "POST /api/v1/pupils/lookup", pupil_id)


def _what_if_frame(served: Serving, features: dict[str, float | str | None]) -> pd.DataFrame:
    """The vector as a one-row feature table in the model's column order (missing: NaN)."""
    names = list(served.model.estimator.feature_names_in_)
    row = {name: features.get(name) for name in names}
    return pd.DataFrame([{k: (np.nan if v is None and k not in CATEGORIES else v) for k, v in row.items()}])


@router.post("/model/what-if", response_model=WhatIfResult, tags=["model"])
def what_if(body: WhatIf, caller: Caller, served: Served, log: Log) -> WhatIfResult:
    """Score a feature vector (data scientists): risk and the signals that raise it."""
    require(caller, Role.DATA_SCIENTIST)
    vector: BaseModel = body.features
    frame = _what_if_frame(served, vector.model_dump())
    estimator = served.model.estimator
    risk = float(estimator.predict_proba(feature_matrix(frame, list(estimator.feature_names_in_)))[0, 1])
    reasons = as_reasons(explain_rows(frame, estimator, served.batch.references, REASONS_SHOWN)[0])
    trace(log, caller, "POST /api/v1/model/what-if", 200)
    return WhatIfResult(risk=risk, reasons=reasons, model_version=served.model.label)


@router.get("/model", response_model=ModelInfo, tags=["model"])
def model_info(caller: Caller, served: Served, log: Log) -> ModelInfo:
    """The serving version: features, horizon, the data it was trained on, the batch's thresholds."""
    require(caller, Role.DATA_SCIENTIST, Role.REVIEWER, Role.ADMIN)
    meta = served.model.features
    trace(log, caller, "GET /api/v1/model", 200)
    return ModelInfo(
        name=served.model.name,
        version=served.model.version,
        run_id=served.model.run_id,
        features=[f.model_dump() for f in meta.features],
        horizon_days=meta.horizon_days,
        trained_on=meta.input_hash,
        batch_as_of=served.batch.as_of,
        batch_pupils=served.batch.pupils,
        thresholds=served.batch.thresholds.get("thresholds", {}),
    )


@router.get("/model/card", response_model=ModelCard, tags=["model"])
def model_card(caller: Caller, served: Served, log: Log) -> ModelCard:
    """The French model card of the serving version (every role: staff read it in « Comprendre le score »)."""
    trace(log, caller, "GET /api/v1/model/card", 200)
    return ModelCard(version=served.model.label, markdown=served.model_card)


@router.get("/model/fairness", response_model=FairnessSummary, tags=["model"])
def fairness_summary(caller: Caller, served: Served, log: Log) -> FairnessSummary:
    """The newest fairness audit of the serving version: gate, alerts, figures by group."""
    trace(log, caller, "GET /api/v1/model/fairness", 200)
    return FairnessSummary(version=served.model.label, report=served.fairness)


def _cross(frame: pd.DataFrame, column: str) -> dict[str, dict[str, int]]:
    table = frame.groupby([column, "tier"]).size().unstack(fill_value=0)
    return {str(k): {str(t): int(v) for t, v in row.items()} for k, row in table.iterrows()}


@router.get("/aggregates", response_model=Aggregates, tags=["model"])
def aggregates(caller: Caller, served: Served, log: Log) -> Aggregates:
    """Counts by tier, grade level and track over the whole batch: no pupil-level data."""
    require(caller, Role.REVIEWER, Role.DATA_SCIENTIST, Role.ADMIN)
    batch = served.batch
    frame = pd.DataFrame({"tier": batch.tier, "grade_level": batch.grade_level, "track": batch.track})
    trace(log, caller, "GET /api/v1/aggregates", 200)
    return Aggregates(
        as_of=batch.as_of,
        model_version=served.model.label,
        pupils=batch.pupils,
        schools=len(batch.by_school),
        by_tier={str(k): int(v) for k, v in frame["tier"].value_counts().items()},
        by_grade_level=_cross(frame, "grade_level"),
        by_track=_cross(frame, "track"),
    )


@router.get(
    "/access-log",
    tags=["admin"],
    response_class=Response,
    responses={200: {"content": {"text/csv": {}, "application/json": {}}, "description": "The entries."}},
)
def export_access_log(
    caller: Caller,
    log: Log,
    start: Annotated[date, Query(alias="from", description="First day (UTC), included; 2000-01-01 at the earliest.")],
    end: Annotated[date, Query(alias="to", description="Last day (UTC), included; a year from today at the latest.")],
    format: Literal["csv", "json"] = "csv",
) -> Response:
    """The access log of a period, for the data protection officer (admin); empty when 'to' is before 'from'.
    Days outside the log's plausible range answer 422 naming the field (and are traced as 422)."""
    require(caller, Role.ADMIN)
    wrong = [name for name, day in (("from", start), ("to", end)) if not plausible_log_day(day)]
    if wrong:
        trace(log, caller, "GET /api/v1/access-log", 422)
        raise RequestValidationError(
            [{"loc": ("query", name), "msg": IMPLAUSIBLE_LOG_DAY, "type": "value_error"} for name in wrong]
        )
    trace(log, caller, "GET /api/v1/access-log", 200)
    body = log.export(
        datetime.combine(start, time.min, UTC), datetime.combine(end + timedelta(days=1), time.min, UTC), format
    )
    media = "text/csv; charset=utf-8" if format == "csv" else "application/json"
    return Response(body, media_type=media)


@router.post("/admin/reload", response_model=ReloadResult, tags=["admin"])
async def reload(caller: Caller, log: Log, request: Request) -> ReloadResult:
    """Load the champion and its newest batch again; on failure the previous ones keep serving."""
    require(caller, Role.ADMIN)
    await run_in_threadpool(trace, log, caller, "POST /api/v1/admin/reload", 200)
    state = request.app.state.serving
    swapped = await run_in_threadpool(state.reload)
    current = state.current
    return ReloadResult(
        reloaded=swapped,
        model_version=current.model.label if current else None,
        batch_as_of=current.batch.as_of if current else None,
        error=state.last_error,
    )
