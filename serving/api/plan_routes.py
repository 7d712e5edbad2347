"""Follow-up plans under ``/api/v1``: staff of the pupil's school open, read, review and close
them; every read and write is traced in the access log; anyone else gets 404, as for pupils."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Body, HTTPException, Path, Request
from pydantic import BaseModel, Field

from features.ingest import PSEUDONYM_PATTERN, UAI_PATTERN
from serving.api import reads
from serving.api.access_log import AccessLog
from serving.api.auth import Principal
from serving.api.deps import NOT_FOUND, Caller, Log, Served, trace
from serving.api.plans import (
    REVIEW_BEFORE_START,
    Plan,
    PlanIn,
    PlanStore,
    PlanUpdate,
    implausible_dates,
    review_before_start,
)
from serving.api.routes import ERRORS
from serving.api.schemas import PupilRow
from serving.api.settings import ServiceSettings
from serving.api.state import Serving

router = APIRouter(prefix="/api/v1", tags=["follow-up"], responses=ERRORS)
PupilId = Annotated[str, Path(pattern=PSEUDONYM_PATTERN, description="Pseudonym.")]
SchoolId = Annotated[str, Path(pattern=UAI_PATTERN, description="UAI of the school.")]
PlanId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$", description="Plan identifier.")]


def store(request: Request) -> PlanStore:
    return request.app.state.plans


def today(request: Request) -> date:
    settings: ServiceSettings = request.app.state.settings
    return settings.today()


class SchoolFollowUp(BaseModel):
    school_id: str
    as_of: date
    high_without_plan: list[PupilRow] = Field(description="High-tier pupils with no open plan, by risk.")
    overdue: list[Plan] = Field(description="Open plans whose review date has passed.")


def pupil_plans(
    served: Serving, caller: Principal, log: AccessLog, plans: PlanStore, endpoint: str, pupil_id: str, day: date
) -> list[Plan]:
    """A pupil's plans, oldest first; traced; 404 outside the caller's reach."""
    position = reads.reach_pupil(served, caller, log, endpoint, pupil_id)
    school = str(served.batch.school[position])
    trace(log, caller, endpoint, 200, school_id=school, pupil_id=pupil_id)
    return plans.for_pupil(pupil_id, day)


def _plausible(day: date, **dates: date | None) -> None:
    """422 naming the field, as for any invalid body, for a date more than two years from today."""
    wrong = implausible_dates(day, **dates)
    if wrong:
        detail = [{"loc": ["body", name], "msg": "date more than two years from today", "type": "value_error"}
                  for name in wrong]  # fmt: skip
        raise HTTPException(422, detail)


def open_plan(
    served: Serving, caller: Principal, log: AccessLog, plans: PlanStore, endpoint: str, pupil_id: str,
    new: PlanIn, day: date,
) -> Plan:  # fmt: skip
    _plausible(day, start_date=new.start_date, review_date=new.review_date)
    position = reads.reach_pupil(served, caller, log, endpoint, pupil_id)
    school = str(served.batch.school[position])
    trace(log, caller, endpoint, 201, school_id=school, pupil_id=pupil_id)
    return plans.create(pupil_id, school, new, caller.subject, day)


def reach_plan(caller: Principal, log: AccessLog, plans: PlanStore, endpoint: str, plan_id: str, day: date) -> Plan:
    """The plan, if the caller's school holds it; else 404 exactly as for an id that does not
    exist, traced (before anything about the request itself is judged: no answer tells them apart)."""
    plan = plans.get(plan_id, day)
    if plan is None or not caller.reaches(plan.school_id):
        trace(log, caller, endpoint, 404, pupil_id=plan.pupil_id if plan else None)
        raise HTTPException(404, NOT_FOUND)
    return plan


def review_plan(
    caller: Principal, log: AccessLog, plans: PlanStore, endpoint: str, plan_id: str, change: PlanUpdate, day: date
) -> Plan:
    """Only staff of the plan's school change it; for anyone else it does not exist."""
    plan = reach_plan(caller, log, plans, endpoint, plan_id, day)
    _plausible(day, review_date=change.review_date)
    if review_before_start(plan.start_date, change.review_date):
        trace(log, caller, endpoint, 422, school_id=plan.school_id, pupil_id=plan.pupil_id)
        raise HTTPException(422, [{"loc": ["body", "review_date"], "msg": REVIEW_BEFORE_START, "type": "value_error"}])
    trace(log, caller, endpoint, 200, school_id=plan.school_id, pupil_id=plan.pupil_id)
    updated = plans.update(plan_id, change, caller.subject, day)
    assert updated is not None
    return updated


def school_follow_up(
    served: Serving, caller: Principal, log: AccessLog, plans: PlanStore, endpoint: str, school_id: str, day: date
) -> SchoolFollowUp:
    if school_id not in served.batch.by_school or not caller.reaches(school_id):
        trace(log, caller, endpoint, 404, school_id=school_id)
        raise HTTPException(404, NOT_FOUND)
    trace(log, caller, endpoint, 200, school_id=school_id)
    latest = plans.for_school(school_id, day)
    overdue = sorted((p for p in latest.latest.values() if p.overdue), key=lambda p: p.review_date)
    without = reads.high_tier_without_plan(served, school_id, latest.has_open_plan)
    return SchoolFollowUp(school_id=school_id, as_of=served.batch.as_of, high_without_plan=without, overdue=overdue)


@router.get("/pupils/{pupil_id}/plans", response_model=list[Plan])
def list_pupil_plans(pupil_id: PupilId, caller: Caller, served: Served, log: Log, request: Request) -> list[Plan]:
    """The pupil's follow-up plans, oldest first (staff of the pupil's school)."""
    return pupil_plans(served, caller, log, store(request), "GET /api/v1/pupils/{pupil_id}/plans", pupil_id,
                       today(request))  # fmt: skip


@router.post("/pupils/{pupil_id}/plans", response_model=Plan, status_code=201)
def create_pupil_plan(
    pupil_id: PupilId, body: Annotated[PlanIn, Body()], caller: Caller, served: Served, log: Log, request: Request
) -> Plan:
    """Open a plan: an action from the fixed list, its owner as a role, start and review dates."""
    return open_plan(served, caller, log, store(request), "POST /api/v1/pupils/{pupil_id}/plans", pupil_id, body,
                     today(request))  # fmt: skip


@router.patch("/plans/{plan_id}", response_model=Plan)
def update_plan(
    plan_id: PlanId, body: Annotated[PlanUpdate, Body()], caller: Caller, log: Log, request: Request
) -> Plan:
    """Review a plan (status, review date) or close it with its outcome."""
    return review_plan(caller, log, store(request), "PATCH /api/v1/plans/{plan_id}", plan_id, body, today(request))


@router.get("/schools/{school_id}/plans", response_model=SchoolFollowUp)
def school_plans(school_id: SchoolId, caller: Caller, served: Served, log: Log, request: Request) -> SchoolFollowUp:
    """High-tier pupils without a plan yet, and plans overdue for review."""
    return school_follow_up(served, caller, log, store(request), "GET /api/v1/schools/{school_id}/plans", school_id,
                            today(request))  # fmt: skip
