"""One pupil (staff of the pupil's school): by pseudonym, or found by INE."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Request

from features.ingest import pseudonym
from serving.api.deps import Context, Served
from serving.api.errors import ERRORS
from serving.api.routers.params import PupilId
from serving.api.schemas import IneLookup, PupilDetail
from serving.api.service import reads

router = APIRouter(prefix="/api/v1", tags=["pupils"], responses=ERRORS)


@router.get("/pupils/{pupil_id}", response_model=PupilDetail)
def pupil(pupil_id: PupilId, ctx: Context, served: Served) -> PupilDetail:
    """One pupil: risk, tier, reasons (from the batch, or computed now), risk over past batches."""
    return reads.pupil_detail(served, ctx, pupil_id)


@router.post("/pupils/lookup", response_model=PupilDetail)
def lookup(body: Annotated[IneLookup, Body()], ctx: Context, served: Served, request: Request) -> PupilDetail:
    """Find a pupil by INE: pseudonymised in memory with the key, never stored, logged or echoed."""
    key: bytes | None = request.app.state.pseudonym_key
    pupil_id = pseudonym(key, body.ine) if key is not None else None
    return reads.pupil_detail(served, ctx, pupil_id)
