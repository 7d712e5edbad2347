"""The endpoints under ``/api/v1``: resource-shaped, typed, every read traced in the access log.

Pupil data is for school staff of the pupil's school only. A pupil or a school outside the
caller's reach answers 404, exactly like one that does not exist; an operation the caller's
role does not allow answers 403.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
from fastapi import APIRouter, Body, Depends, HTTPException, Path, Query, Request, Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from features.ingest import GRADE_LEVELS, PSEUDONYM_PATTERN, UAI_PATTERN, pseudonym
from models.matrix import CATEGORIES, feature_matrix
from models.reasons import reasons as explain
from serving.api.access_log import AccessLog
from serving.api.auth import Principal, Role
from serving.api.deps import NOT_FOUND, Caller, Log, Served, require, settings, trace
from serving.api.schemas import (
    Aggregates,
    Counts,
    FairnessSummary,
    HistoryPoint,
    IneLookup,
    ModelCard,
    ModelInfo,
    Problem,
    PupilDetail,
    PupilRow,
    Reason,
    ReloadResult,
    SchoolPupils,
    Tier,
    WhatIf,
    WhatIfResult,
)
from serving.api.state import ServedBatch, Serving
from serving.batch import explain_rows

REASONS_SHOWN = 3
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem, "description": "No token, or a refused one."},
    403: {"model": Problem, "description": "The caller's role does not allow this operation."},
    404: {"model": Problem, "description": "Not found, or outside the caller's reach (the same answer)."},
    503: {"model": Problem, "description": "Nothing loaded yet, or the access log cannot be written."},
}
router = APIRouter(prefix="/api/v1", responses=ERRORS)

SchoolId = Annotated[str, Path(pattern=UAI_PATTERN, examples=["0750001A"], description="UAI of the school.")]
PupilId = Annotated[str, Path(pattern=PSEUDONYM_PATTERN, examples=["3f9a1c0b7d2e4a6f8b1c"], description="Pseudonym.")]
GradeLevel = Literal[GRADE_LEVELS]  # type: ignore[valid-type]
Track = Literal["college", "lycee_gt", "lycee_pro"]


def _reasons(items: Any) -> list[Reason]:
    return [Reason(**dict(item)) for item in (items if items is not None else [])]


def _previous(batch: ServedBatch, position: int) -> float | None:
    value = float(batch.previous_risk[position])
    return None if np.isnan(value) else value


def _row(batch: ServedBatch, position: int) -> PupilRow:
    return PupilRow(
        pupil_id=str(batch.index[position]),
        grade_level=str(batch.grade_level[position]),
        track=str(batch.track[position]),
        risk=float(batch.risk[position]),
        tier=batch.tier[position],
        reasons=_reasons(batch.reasons[position].as_py()),
        change=batch.change[position],
        previous_risk=_previous(batch, position),
    )


@dataclass(frozen=True)
class ListFilters:
    """The filters of a school's list, shared by the page and the export (query parameters)."""

    tier: Tier | None = None
    grade_level: GradeLevel | None = None
    track: Track | None = None


Filters = Annotated[ListFilters, Depends()]


def _matching(served: Serving, caller: Principal, log: AccessLog, endpoint: str, school_id: str,
              filters: ListFilters) -> np.ndarray:  # fmt: skip
    """The school's pupils matching the filters, by risk (ties by pupil_id); 404, traced, when the
    school is outside the caller's reach."""
    batch = served.batch
    positions = batch.by_school.get(school_id)
    if positions is None or not caller.reaches(school_id):
        trace(log, caller, endpoint, 404, school_id=school_id)
        raise HTTPException(404, NOT_FOUND)
    keep = np.ones(len(positions), dtype=bool)
    for column, value in ((batch.tier, filters.tier), (batch.grade_level, filters.grade_level),
                          (batch.track, filters.track)):  # fmt: skip
        if value is not None:
            keep &= column[positions] == value
    return positions[keep]


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
    batch = served.batch
    matching = _matching(served, caller, log, "GET /api/v1/schools/{school_id}/pupils", school_id, filters)
    page_size = min(page_size, settings(request).max_page_size)
    shown = matching[(page - 1) * page_size : page * page_size]
    trace(log, caller, "GET /api/v1/schools/{school_id}/pupils", 200, school_id=school_id)
    return SchoolPupils(
        school_id=school_id,
        as_of=batch.as_of,
        model_version=served.model.label,
        counts=Counts(**batch.counts[school_id]),
        total=len(matching),
        page=page,
        page_size=page_size,
        pupils=[_row(batch, int(i)) for i in shown],
    )


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
    endpoint = "GET /api/v1/schools/{school_id}/pupils/export"
    batch = served.batch
    matching = _matching(served, caller, log, endpoint, school_id, filters)
    shown = matching[: settings(request).export_max_rows]
    table = pa.table(
        {
            "pupil_id": batch.index.take(shown).to_numpy(),
            "grade_level": batch.grade_level[shown],
            "track": batch.track[shown],
            "risk": pc.round(pa.array(batch.risk[shown]), 4),
            "tier": batch.tier[shown],
            "change": batch.change[shown],
            "reasons": batch.reason_texts[shown],
        }
    )
    buffer = pa.BufferOutputStream()  # Arrow's CSV writer: a 1,000-row export in about a millisecond
    buffer.write((",".join(table.column_names) + "\n").encode())
    pa_csv.write_csv(table, buffer, pa_csv.WriteOptions(include_header=False, quoting_style="needed"))
    trace(log, caller, endpoint, 200, school_id=school_id)
    name = f"vigie_{school_id}_{batch.as_of.isoformat()}.csv"
    return Response(
        buffer.getvalue().to_pybytes(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"', "X-Total-Count": str(len(matching))},
    )


def _detail(served: Serving, position: int) -> PupilDetail:
    batch = served.batch
    reasons = _reasons(batch.reasons[position].as_py())
    source: Literal["batch", "on_demand"] = "batch"
    if not reasons:  # a low-tier pupil: exact TreeSHAP now, on the inputs the batch was scored on
        values = batch.inputs[position : position + 1]
        contributions = served.model.estimator.contributions(values)
        explained = explain(contributions, values, batch.grade_level[position : position + 1], batch.features,
                            batch.references, REASONS_SHOWN)  # fmt: skip
        reasons, source = _reasons(explained[0]), "on_demand"
    history = [
        HistoryPoint(as_of=day, risk=float(risk[position]), tier=tier[position], model_version=version)
        for day, version, risk, tier in batch.history
        if not np.isnan(risk[position])
    ]
    return PupilDetail(
        pupil_id=str(batch.index[position]),
        school_id=str(batch.school[position]),
        grade_level=str(batch.grade_level[position]),
        track=str(batch.track[position]),
        risk=float(batch.risk[position]),
        tier=batch.tier[position],
        reasons=reasons,
        reasons_source=source,
        change=batch.change[position],
        previous_risk=_previous(batch, position),
        history=history,
        as_of=batch.as_of,
        model_version=served.model.label,
    )


def _served_pupil(
    served: Serving, caller: Principal, log: AccessLog, endpoint: str, pupil_id: str | None
) -> PupilDetail:
    """The pupil's detail, traced; 404 (traced too) when unknown or outside the caller's reach."""
    position = None if pupil_id is None else served.batch.position(pupil_id)
    if position is None or not caller.reaches(str(served.batch.school[position])):
        trace(log, caller, endpoint, 404, pupil_id=pupil_id)
        raise HTTPException(404, NOT_FOUND)
    detail = _detail(served, position)
    trace(log, caller, endpoint, 200, school_id=detail.school_id, pupil_id=pupil_id)
    return detail


@router.get("/pupils/{pupil_id}", response_model=PupilDetail, tags=["pupils"])
def pupil(pupil_id: PupilId, caller: Caller, served: Served, log: Log) -> PupilDetail:
    """One pupil: risk, tier, reasons (from the batch, or computed now), risk over past batches."""
    return _served_pupil(served, caller, log, "GET /api/v1/pupils/{pupil_id}", pupil_id)


@router.post("/pupils/lookup", response_model=PupilDetail, tags=["pupils"])
def lookup(
    body: Annotated[IneLookup, Body()], caller: Caller, served: Served, log: Log, request: Request
) -> PupilDetail:
    """Find a pupil by INE: pseudonymised in memory with the key, never stored, logged or echoed."""
    key: bytes | None = request.app.state.pseudonym_key
    pupil_id = pseudonym(key, body.ine) if key is not None else None
    return _served_pupil(served, caller, log, "POST /api/v1/pupils/lookup", pupil_id)


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
    reasons = _reasons(explain_rows(frame, estimator, served.batch.references, REASONS_SHOWN)[0])
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
    start: Annotated[date, Query(alias="from", description="First day (UTC), included.")],
    end: Annotated[date, Query(alias="to", description="Last day (UTC), included.")],
    format: Literal["csv", "json"] = "csv",
) -> Response:
    """The access log of a period, for the data protection officer (admin); empty when 'to' is before 'from'."""
    require(caller, Role.ADMIN)
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
