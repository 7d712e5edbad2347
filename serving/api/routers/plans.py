"""Follow-up plans: staff of the pupil's school open, read, review and close them; anyone else
gets 404, as for pupils. The rules are the service layer's (:mod:`serving.api.service.plans`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body

from serving.api.deps import Context, Plans, Served, Today
from serving.api.errors import ERRORS
from serving.api.plans import Plan, PlanIn, PlanUpdate
from serving.api.routers.params import PlanId, PupilId, SchoolId
from serving.api.service import plans as rules
from serving.api.service.plans import SchoolFollowUp

router = APIRouter(prefix="/api/v1", tags=["follow-up"], responses=ERRORS)


@router.get("/pupils/{pupil_id}/plans", response_model=list[Plan])
def list_pupil_plans(pupil_id: PupilId, ctx: Context, served: Served, plans: Plans, day: Today) -> list[Plan]:
    """The pupil's follow-up plans, oldest first (staff of the pupil's school)."""
    return rules.pupil_plans(ctx, served, plans, pupil_id, day)


@router.post("/pupils/{pupil_id}/plans", response_model=Plan, status_code=201)
def create_pupil_plan(
    pupil_id: PupilId, body: Annotated[PlanIn, Body()], ctx: Context, served: Served, plans: Plans, day: Today
) -> Plan:
    """Open a plan: an action from the fixed list, its owner as a role, start and review dates."""
    return rules.open_plan(ctx, served, plans, pupil_id, body, day)


@router.patch("/plans/{plan_id}", response_model=Plan)
def update_plan(
    plan_id: PlanId, body: Annotated[PlanUpdate, Body()], ctx: Context, served: Served, plans: Plans, day: Today
) -> Plan:
    """Review a plan (status, review date) or close it with its outcome."""
    return rules.review_plan(ctx, plans, rules.reach_plan(ctx, plans, plan_id, day, served), body, day)


@router.get("/schools/{school_id}/plans", response_model=SchoolFollowUp)
def school_plans(school_id: SchoolId, ctx: Context, served: Served, plans: Plans, day: Today) -> SchoolFollowUp:
    """High-tier pupils without a plan yet, and plans overdue for review."""
    return rules.school_follow_up(ctx, served, plans, school_id, day)
