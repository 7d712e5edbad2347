"""The serving model: its metadata, card and fairness audit, what-if scoring, and counts over
the whole batch (no pupil-level data). Roles are the routes' dependencies."""

from __future__ import annotations

from dataclasses import asdict

import numpy as np
import pandas as pd
from fastapi import APIRouter
from pydantic import BaseModel

from models.matrix import CATEGORIES, feature_matrix
from serving.api.deps import DATA_SCIENTISTS, MODEL_READERS, Context, Running, Served
from serving.api.errors import ERRORS
from serving.api.schemas import Aggregates, FairnessSummary, ModelCard, ModelInfo, WhatIf, WhatIfResult
from serving.api.service.reads import REASONS_SHOWN, as_reasons
from serving.api.state import Serving
from serving.batch import explain_rows

router = APIRouter(prefix="/api/v1", tags=["model"], responses=ERRORS)


def _what_if_frame(served: Serving, features: dict[str, float | str | None]) -> pd.DataFrame:
    """The vector as a one-row feature table in the model's column order (missing: NaN)."""
    names = list(served.model.estimator.feature_names_in_)
    row = {name: features.get(name) for name in names}
    return pd.DataFrame([{k: (np.nan if v is None and k not in CATEGORIES else v) for k, v in row.items()}])


@router.post("/model/what-if", response_model=WhatIfResult, dependencies=[DATA_SCIENTISTS])
def what_if(body: WhatIf, ctx: Context, served: Running) -> WhatIfResult:
    """Score a feature vector (data scientists): risk and the signals that raise it."""
    vector: BaseModel = body.features
    frame = _what_if_frame(served, vector.model_dump())
    estimator = served.model.estimator
    risk = float(estimator.predict_proba(feature_matrix(frame, list(estimator.feature_names_in_)))[0, 1])
    reasons = as_reasons(explain_rows(frame, estimator, served.batch.references, REASONS_SHOWN)[0])
    ctx.trace(200)
    return WhatIfResult(risk=risk, reasons=reasons, model_version=served.model.label)


@router.get("/model", response_model=ModelInfo, dependencies=[MODEL_READERS])
def model_info(ctx: Context, served: Served) -> ModelInfo:
    """The serving version: features, horizon, the data it was trained on, the batch's thresholds."""
    meta = served.model.features
    ctx.trace(200)
    return ModelInfo(
        name=served.model.name,
        version=served.model.version,
        run_id=served.model.run_id,
        features=[f.model_dump() for f in meta.features],
        horizon_days=meta.horizon_days,
        trained_on=meta.input_hash,
        batch_as_of=served.batch.as_of,
        batch_pupils=served.batch.pupils,
        thresholds=asdict(served.batch.metadata.thresholds),
    )


@router.get("/model/card", response_model=ModelCard)
def model_card(ctx: Context, served: Served) -> ModelCard:
    """The French model card of the serving version (every role: staff read it in « Comprendre le score »)."""
    ctx.trace(200)
    return ModelCard(version=served.model.label, markdown=served.model_card)


@router.get("/model/fairness", response_model=FairnessSummary)
def fairness_summary(ctx: Context, served: Served) -> FairnessSummary:
    """The newest fairness audit of the serving version: gate, alerts, figures by group."""
    ctx.trace(200)
    return FairnessSummary(version=served.model.label, report=served.fairness)


def _cross(frame: pd.DataFrame, column: str) -> dict[str, dict[str, int]]:
    table = frame.groupby([column, "tier"]).size().unstack(fill_value=0)
    return {str(k): {str(t): int(v) for t, v in row.items()} for k, row in table.iterrows()}


@router.get("/aggregates", response_model=Aggregates, dependencies=[MODEL_READERS])
def aggregates(ctx: Context, served: Running) -> Aggregates:
    """Counts by tier, grade level and track over the whole batch: no pupil-level data."""
    batch = served.batch
    frame = pd.DataFrame({"tier": batch.tier, "grade_level": batch.grade_level, "track": batch.track})
    ctx.trace(200)
    return Aggregates(
        as_of=batch.as_of,
        model_version=served.model.label,
        pupils=batch.pupils,
        schools=len(batch.by_school),
        by_tier={str(k): int(v) for k, v in frame["tier"].value_counts().items()},
        by_grade_level=_cross(frame, "grade_level"),
        by_track=_cross(frame, "track"),
    )
