"""The follow-up plans' rules and operations, for the API and the pages alike: a plan is reached
through its pupil's school (else it does not exist, traced), its dates are plausible, a review
never comes before the start. A broken rule is a typed error (:mod:`serving.api.service.errors`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from pydantic import BaseModel, Field

from serving.api.plans import Plan, PlanIn, PlanStore, PlanUpdate, SchoolPlans, implausible_dates, review_before_start
from serving.api.schemas import PupilRow
from serving.api.service.context import AccessContext
from serving.api.service.errors import (
    ImplausibleDatesError,
    PlanNotFoundError,
    PlanRuleError,
    ReviewBeforeStartError,
    SchoolNotFoundError,
)
from serving.api.service.reads import check_running, high_tier_without_plan, reach_pupil
from serving.api.service.stagger import check_started
from serving.api.state import Serving


def check_dates(day: date, **dates: date | None) -> None:
    """:class:`ImplausibleDatesError` naming the dates more than two years from ``day``."""
    wrong = implausible_dates(day, **dates)
    if wrong:
        raise ImplausibleDatesError(*wrong)


def check_review(plan: Plan, change: PlanUpdate, day: date) -> None:
    """The rules of a review: a plausible review date, not before the plan's start."""
    check_dates(day, review_date=change.review_date)
    if review_before_start(plan.start_date, change.review_date):
        raise ReviewBeforeStartError


def pupil_plans(ctx: AccessContext, served: Serving, plans: PlanStore, pupil_id: str, day: date) -> list[Plan]:
    """A pupil's plans, oldest first; traced; :class:`PupilNotFoundError` outside the caller's reach."""
    position = reach_pupil(served, ctx, pupil_id)
    ctx.trace(200, school_id=str(served.batch.school[position]), pupil_id=pupil_id)
    return plans.for_pupil(pupil_id, day)


def open_plan(ctx: AccessContext, served: Serving, plans: PlanStore, pupil_id: str, new: PlanIn, day: date) -> Plan:
    """A new plan for a pupil of the caller's school (its dates judged first, like any invalid body)."""
    check_dates(day, start_date=new.start_date, review_date=new.review_date)
    position = reach_pupil(served, ctx, pupil_id)
    school = str(served.batch.school[position])
    ctx.trace(201, school_id=school, pupil_id=pupil_id)
    return plans.create(pupil_id, school, new, ctx.caller.subject, day)


def reach_plan(ctx: AccessContext, plans: PlanStore, plan_id: str, day: date, served: Serving | None = None) -> Plan:
    """The plan, if the caller's school holds it; else :class:`PlanNotFoundError` exactly as for an id
    that does not exist, traced (before anything about the request itself is judged: no answer
    tells them apart). With ``served``: a plan of an objected pupil does not exist either, and a
    suspended school's plans wait for the suspension to be lifted."""
    plan = plans.get(plan_id, day)
    objected = served is not None and plan is not None and plan.pupil_id in served.objections
    if plan is None or objected or not ctx.reaches(plan.school_id):
        ctx.trace(404, pupil_id=plan.pupil_id if plan else None)
        raise PlanNotFoundError
    if served is not None:
        check_running(served, ctx, plan.school_id, plan.pupil_id)
    return plan


def review_plan(ctx: AccessContext, plans: PlanStore, plan: Plan, change: PlanUpdate, day: date) -> Plan:
    """Review a reached plan (:func:`reach_plan`); a broken rule is traced with the refusal's status."""
    try:
        check_review(plan, change, day)
    except PlanRuleError:
        ctx.trace(ctx.refused, school_id=plan.school_id, pupil_id=plan.pupil_id)
        raise
    ctx.trace(200, school_id=plan.school_id, pupil_id=plan.pupil_id)
    updated = plans.update(plan.id, change, ctx.caller.subject, day)
    if updated is None:  # deleted since it was reached
        raise PlanNotFoundError
    return updated


@dataclass(frozen=True)
class FollowUpLists:
    """What a school's follow-up shows: each pupil's latest plan, the high tier without an open
    plan (by risk), the open plans overdue for review (by review date)."""

    latest: dict[str, Plan]
    high_without_plan: list[PupilRow]
    overdue: list[Plan]


def follow_up_lists(served: Serving, plans: PlanStore, school_id: str, day: date) -> FollowUpLists:
    """A school's follow-up lists; untraced: the caller has reached the school already."""
    every = plans.for_school(school_id, day).latest
    latest = SchoolPlans({pupil: plan for pupil, plan in every.items() if pupil not in served.objections})
    overdue = sorted((p for p in latest.latest.values() if p.overdue), key=lambda p: p.review_date)
    without = high_tier_without_plan(served, school_id, latest.has_open_plan)
    return FollowUpLists(latest.latest, without, overdue)


class SchoolFollowUp(BaseModel):
    """A school's follow-up lists: the high-tier pupils without an open plan, and the plans overdue for review."""

    school_id: str
    as_of: date
    high_without_plan: list[PupilRow] = Field(description="High-tier pupils with no open plan, by risk.")
    overdue: list[Plan] = Field(description="Open plans whose review date has passed.")


def school_follow_up(
    ctx: AccessContext, served: Serving, plans: PlanStore, school_id: str, day: date
) -> SchoolFollowUp:
    """The school's follow-up, traced; :class:`SchoolNotFoundError` outside the caller's reach."""
    if school_id not in served.batch.by_school or not ctx.reaches(school_id):
        ctx.trace(404, school_id=school_id)
        raise SchoolNotFoundError
    check_running(served, ctx, school_id)
    check_started(served, ctx, school_id)  # the staggered start (issue 28), off by default
    ctx.trace(200, school_id=school_id)
    lists = follow_up_lists(served, plans, school_id, day)
    return SchoolFollowUp(
        school_id=school_id, as_of=served.batch.as_of, high_without_plan=lists.high_without_plan, overdue=lists.overdue
    )
