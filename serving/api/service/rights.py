"""The rules of issue 26 for the API and the pages alike: the objection register (GDPR art. 21),
staff judgements on a flag and the stop switch (AI Act art. 14). Every read and write is traced
through the :class:`AccessContext`; a broken rule is a typed error."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

from models.judgements import judgement_problem
from serving.api.rights import (
    AlreadyObjectedError,
    JudgedFlag,
    Judgement,
    JudgementIn,
    Objection,
    RightsStore,
    Suspension,
    SuspensionIn,
)
from serving.api.service.context import AccessContext
from serving.api.service.errors import JudgementRuleError, ObjectionConflictError, OutOfReachError
from serving.api.service.reads import ListFilters, reach_pupil, school_pupils
from serving.api.state import Serving

# --- objections (the data protection officer) --------------------------------------------------


def record_objection(ctx: AccessContext, rights: RightsStore, pupil_id: str | None) -> Objection:
    """Record a standing objection (traced); 409 when one stands already. The pupil need not be in
    the served batch: a family may object before the first score."""
    if pupil_id is None:  # an INE without the key: nothing to record it under
        ctx.trace(404)
        raise OutOfReachError
    try:
        objection = rights.object(pupil_id, ctx.caller.subject)
    except AlreadyObjectedError:
        ctx.trace(409, pupil_id=pupil_id)
        raise ObjectionConflictError from None
    ctx.trace(201, pupil_id=pupil_id)
    return objection


def withdraw_objection(ctx: AccessContext, rights: RightsStore, pupil_id: str) -> Objection:
    """Withdraw the pupil's standing objection (traced); 404 when none stands."""
    withdrawn = rights.withdraw(pupil_id, ctx.caller.subject)
    ctx.trace(404 if withdrawn is None else 200, pupil_id=pupil_id)
    if withdrawn is None:
        raise OutOfReachError
    return withdrawn


def objection_register(ctx: AccessContext, rights: RightsStore) -> list[Objection]:
    """The whole register, withdrawn entries included (traced)."""
    ctx.trace(200)
    return rights.objection_entries()


# --- judgements (school staff) -----------------------------------------------------------------


def flag_of(served: Serving, position: int) -> JudgedFlag:
    """The flag a judgement is about: the pupil at ``position`` in the served batch."""
    batch = served.batch
    return JudgedFlag(str(batch.index[position]), str(batch.school[position]), batch.as_of, served.model.label,
                      str(batch.tier[position]))  # fmt: skip


def record_judgement(
    ctx: AccessContext, served: Serving, rights: RightsStore, pupil_id: str, new: JudgementIn
) -> Judgement:
    """Staff's judgement on the pupil's current flag: reached like the pupil (404 otherwise),
    checked against the tier (422 naming the field), traced, kept. Never a model input."""
    flag = flag_of(served, reach_pupil(served, ctx, pupil_id))
    problem = judgement_problem(new.verdict, new.reason, flag.tier)
    if problem is not None:
        ctx.trace(ctx.refused, school_id=flag.school_id, pupil_id=pupil_id)
        raise JudgementRuleError(problem, "reason" if "reason" in problem else "verdict")
    ctx.trace(201, school_id=flag.school_id, pupil_id=pupil_id)
    return rights.judge(flag, new, ctx.caller.subject)


def pupil_judgements(ctx: AccessContext, served: Serving, rights: RightsStore, pupil_id: str) -> list[Judgement]:
    """The pupil's judgements, oldest first, traced; 404 outside the caller's reach."""
    position = reach_pupil(served, ctx, pupil_id)
    ctx.trace(200, school_id=str(served.batch.school[position]), pupil_id=pupil_id)
    return rights.pupil_judgements(pupil_id)


def batch_judgements(served: Serving, rights: RightsStore, school_id: str) -> dict[str, Judgement]:
    """The latest judgement of each pupil of the school on the served batch (untraced: for a
    list the caller has reached already)."""
    judged = rights.school_judgements(school_id, served.batch.as_of, served.model.label)
    return {pupil: j for pupil, j in judged.items() if served.batch.position(pupil) is not None}


class SchoolJudgements(BaseModel):
    """The latest judgement of each judged pupil of a school on the served batch."""

    school_id: str
    as_of: date
    model_version: str
    judgements: list[Judgement] = Field(description="One per judged pupil, the latest.")


def school_judgements(ctx: AccessContext, served: Serving, rights: RightsStore, school_id: str) -> SchoolJudgements:
    """A school's judgements on the served batch, traced as a read of its list (same reach rule)."""
    school_pupils(served, ctx, school_id, ListFilters(), page=1, page_size=1)
    judged = batch_judgements(served, rights, school_id)
    return SchoolJudgements(school_id=school_id, as_of=served.batch.as_of, model_version=served.model.label,
                            judgements=sorted(judged.values(), key=lambda j: j.pupil_id))  # fmt: skip


# --- the stop switch (administrators) ----------------------------------------------------------


def suspend(ctx: AccessContext, rights: RightsStore, new: SuspensionIn) -> Suspension | None:
    """Suspend a school or every school (traced); None when it is suspended already."""
    done = rights.suspend(new, ctx.caller.subject)
    ctx.trace(201 if done else 409, school_id=new.school_id)
    return done


def resume(ctx: AccessContext, rights: RightsStore, school_id: str | None) -> Suspension | None:
    """Lift a school's (or the general) suspension (traced); None when none stands."""
    done = rights.resume(school_id, ctx.caller.subject)
    ctx.trace(200 if done else 404, school_id=school_id)
    return done
