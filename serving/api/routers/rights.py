"""The rights of pupils and the oversight of staff (issue 26): the objection register for the data
protection officer (GDPR art. 21), staff judgements on a flag and the stop switch for the
administrator (AI Act art. 14). The rules are the service layer's (:mod:`serving.api.service.rights`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from features.ingest import UAI_PATTERN, pseudonym
from serving.api.deps import ADMINS, DPOS, Context, Rights, Served
from serving.api.errors import ERRORS
from serving.api.rights import Judgement, JudgementIn, Objection, ObjectionIn, Suspension, SuspensionIn
from serving.api.routers.params import PupilId, SchoolId
from serving.api.service import rights as rules
from serving.api.service.rights import SchoolJudgements

router = APIRouter(prefix="/api/v1", tags=["rights"], responses=ERRORS)
REFUSED: dict[int | str, dict[str, Any]] = {409: {"description": "Already recorded (an objection, a suspension)."}}


@router.post("/objections", response_model=Objection, status_code=201, dependencies=[DPOS], responses=REFUSED)
def record_objection(body: Annotated[ObjectionIn, Body()], ctx: Context, rights: Rights, request: Request) -> Objection:
    """Record that a pupil objects (GDPR art. 21; data protection officer): from now on the pupil is
    in no list, export, count, page or answer, and no later batch, training, audit or monitoring
    reads them. By pseudonym, or by INE pseudonymised in memory (never stored or echoed)."""
    key: bytes | None = request.app.state.pseudonym_key
    pupil_id = body.pupil_id or (pseudonym(key, body.ine) if key is not None and body.ine else None)
    return rules.record_objection(ctx, rights, pupil_id)


@router.post("/objections/{pupil_id}/withdraw", response_model=Objection, dependencies=[DPOS])
def withdraw_objection(pupil_id: PupilId, ctx: Context, rights: Rights) -> Objection:
    """Withdraw a standing objection: the pupil is served again (from the next reload of the batch)."""
    return rules.withdraw_objection(ctx, rights, pupil_id)


@router.get("/objections", response_model=list[Objection], dependencies=[DPOS])
def objection_register(ctx: Context, rights: Rights) -> list[Objection]:
    """The register: pseudonym, when and by whom recorded, when and by whom withdrawn; nothing else."""
    return rules.objection_register(ctx, rights)


@router.post("/pupils/{pupil_id}/judgements", response_model=Judgement, status_code=201)
def record_judgement(
    pupil_id: PupilId, body: Annotated[JudgementIn, Body()], ctx: Context, served: Served, rights: Rights
) -> Judgement:
    """Staff's professional judgement on the pupil's flag (AI Act art. 14(4)), from fixed lists:
    'accord' or 'pas_une_inquietude' (with its reason) for the high and medium tiers,
    'inquietude_malgre_score' (with its reason) for the low tier. Never a model input."""
    return rules.record_judgement(ctx, served, rights, pupil_id, body)


@router.get("/pupils/{pupil_id}/judgements", response_model=list[Judgement])
def pupil_judgements(pupil_id: PupilId, ctx: Context, served: Served, rights: Rights) -> list[Judgement]:
    """The pupil's judgements, oldest first (staff of the pupil's school)."""
    return rules.pupil_judgements(ctx, served, rights, pupil_id)


@router.get("/schools/{school_id}/judgements", response_model=SchoolJudgements)
def school_judgements(school_id: SchoolId, ctx: Context, served: Served, rights: Rights) -> SchoolJudgements:
    """The latest judgement of each judged pupil of the school on the served batch."""
    return rules.school_judgements(ctx, served, rights, school_id)


@router.post("/admin/suspensions", response_model=Suspension, status_code=201, dependencies=[ADMINS],
             responses=REFUSED)  # fmt: skip
def suspend(body: Annotated[SuspensionIn, Body()], ctx: Context, rights: Rights) -> Suspension | JSONResponse:
    """Suspend Vigie for one school or everywhere (AI Act art. 14(4)(e)): pages show a French
    notice, the API answers 503 with the reason; nothing else changes, and lifting it restores all."""
    done = rules.suspend(ctx, rights, body)
    if done is None:
        return JSONResponse({"detail": "Vigie est déjà suspendu pour ce périmètre."}, status_code=409)
    return done


class Lift(BaseModel):
    """Which suspension to lift: a school's, or the general one (no school)."""

    school_id: str | None = Field(default=None, pattern=UAI_PATTERN)


@router.post("/admin/suspensions/lift", response_model=Suspension, dependencies=[ADMINS])
def resume(body: Annotated[Lift, Body()], ctx: Context, rights: Rights) -> Suspension | JSONResponse:
    """Lift a suspension: Vigie serves that school (or every school) again, as before."""
    done = rules.resume(ctx, rights, body.school_id)
    if done is None:
        return JSONResponse({"detail": "Aucune suspension en cours pour ce périmètre."}, status_code=404)
    return done


@router.get("/admin/suspensions", response_model=list[Suspension], dependencies=[ADMINS])
def suspensions(ctx: Context, rights: Rights) -> list[Suspension]:
    """Every suspension, standing or lifted, with who and when: the stop switch's log."""
    ctx.trace(200)
    return rights.suspension_entries()
