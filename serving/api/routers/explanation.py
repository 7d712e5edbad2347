"""The explanation a family may ask for, and why a pupil's risk changed (staff of the pupil's
school; 404 otherwise, as for any pupil). Issuing an explanation is traced under its own route."""

from __future__ import annotations

from fastapi import APIRouter

from serving.api.deps import Context, Served
from serving.api.errors import ERRORS
from serving.api.routers.params import PupilId
from serving.api.service import explanation
from serving.api.service.explanation import PupilChange, PupilExplanation

router = APIRouter(prefix="/api/v1", tags=["pupils"], responses=ERRORS)


@router.get("/pupils/{pupil_id}/explanation", response_model=PupilExplanation)
def pupil_explanation(pupil_id: PupilId, ctx: Context, served: Served) -> PupilExplanation:
    """Every model input with its value and exact contribution (log-odds, adding up to the raw
    score), the tables read and their sources, the operations, the tiers at this batch
    (CRPA L311-3-1, R311-3-1-2; GDPR 15(1)(h), 22)."""
    return explanation.pupil_explanation(served, ctx, pupil_id)


@router.get("/pupils/{pupil_id}/change", response_model=PupilChange)
def pupil_change(pupil_id: PupilId, ctx: Context, served: Served) -> PupilChange:
    """Why the risk moved since the previous batch: each signal's change of contribution
    (log-odds), adding up to the change of the raw score, the one that moved most first."""
    return explanation.pupil_change(served, ctx, pupil_id)
