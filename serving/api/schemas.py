"""The API's typed responses and requests (they make the OpenAPI document, with examples)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, create_model

from features.catalog import FEATURES
from features.school import Tier
from models.fairness_summary import FairnessSummary as PublishedAudit
from models.matrix import CATEGORIES
from models.reasons import ReasonItem

Change = Literal["first", "new_high", "up", "down", "stable"]
PUPIL_EXAMPLE = "3f9a1c0b7d2e4a6f8b1c"
SCHOOL_EXAMPLE = "0750001A"
REASON_EXAMPLE: dict[str, JsonValue] = {
    "signal": "Absences non justifiées",
    "value": 0.18,
    "contribution": 0.62,
    "text": "18 % des demi-journées manquées sans justification depuis la rentrée (4 % en moyenne au même niveau)",
}


class Problem(BaseModel):
    """Every 4xx and 5xx answer: a short French message, never a trace or an internal path."""

    detail: str = Field(examples=["Introuvable."])


class Reason(ReasonItem):
    """A reason as :mod:`models.reasons` makes it (signal, value, contribution, text)."""

    model_config = ConfigDict(json_schema_extra={"examples": [REASON_EXAMPLE]})


class PupilRow(BaseModel):
    """One pupil in a school's list."""

    pupil_id: str = Field(examples=[PUPIL_EXAMPLE])
    grade_level: str = Field(examples=["3E"])
    track: str = Field(examples=["college"])
    risk: float = Field(ge=0, le=1, examples=[0.31])
    tier: Tier
    reasons: list[Reason] = Field(description="The batch's reasons (high and medium tiers); empty for low.")
    change: Change = Field(description="Since the previous batch: entered the high tier, risk up or down.")
    previous_risk: float | None = Field(default=None, examples=[0.22])


class Counts(BaseModel):
    """Pupils per tier, overall and per grade level."""

    by_tier: dict[str, int] = Field(examples=[{"high": 41, "medium": 83, "low": 290}])
    by_grade_level: dict[str, dict[str, int]] = Field(examples=[{"3E": {"high": 12, "medium": 20, "low": 70}}])


class SchoolPupils(BaseModel):
    """One page of a school's pupils by risk, with the school's counts and the total matching the filters."""

    school_id: str = Field(examples=[SCHOOL_EXAMPLE])
    as_of: date
    model_version: str = Field(examples=["vigie-dropout/3"])
    counts: Counts
    total: int = Field(description="Pupils matching the filters.")
    page: int
    page_size: int
    pupils: list[PupilRow]


class HistoryPoint(BaseModel):
    """A pupil's risk and tier in one earlier batch."""

    as_of: date
    risk: float
    tier: Tier
    model_version: str


class PupilDetail(BaseModel):
    """One pupil's risk, tier and reasons, with the risk's history and the follow-up plans."""

    pupil_id: str = Field(examples=[PUPIL_EXAMPLE])
    school_id: str = Field(examples=[SCHOOL_EXAMPLE])
    grade_level: str
    track: str
    risk: float = Field(ge=0, le=1)
    tier: Tier
    reasons: list[Reason]
    reasons_source: Literal["batch", "on_demand"] = Field(
        description="From the batch (high and medium tiers) or computed now with exact TreeSHAP."
    )
    change: Change
    previous_risk: float | None = None
    history: list[HistoryPoint]
    as_of: date
    model_version: str


class IneLookup(BaseModel):
    """The INE travels in the body only; it is pseudonymised in memory and never stored or echoed."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"ine": "1234567890A"}]})
    ine: str = Field(min_length=11, max_length=11, pattern=r"^[0-9A-Za-z]{11}$")


def _feature_vector() -> type[BaseModel]:
    """Every model input of the catalogue as an optional field: numbers, or one of the fixed
    categories; anything else is a 422 naming the field (and the OpenAPI document says so)."""
    fields: dict[str, Any] = {}
    for feature in FEATURES:
        kind: Any = Literal[CATEGORIES[feature.name]] if feature.categorical else float
        fields[feature.name] = (kind | None, Field(default=None, description=feature.meaning))
    config = ConfigDict(extra="forbid", allow_inf_nan=False)
    return create_model("FeatureVector", __config__=config, **fields)


FeatureVector = _feature_vector()


class WhatIf(BaseModel):
    """A feature vector to score; features left out are missing (the model accepts that)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"features": {"grade_level": "2PRO", "unjustified_absence_rate_4w": 0.15, "grade_mean_year": 8.5}}
            ]
        },
    )
    features: FeatureVector  # type: ignore[valid-type]


class WhatIfResult(BaseModel):
    """The risk and reasons the served model gives a feature vector."""

    risk: float = Field(ge=0, le=1)
    reasons: list[Reason]
    model_version: str


class ModelInfo(BaseModel):
    """What the served model is: its version and run, its features, horizon and operating point."""

    name: str
    version: str
    run_id: str
    features: list[dict[str, Any]]
    horizon_days: int
    trained_on: str = Field(description="Hash of the extract the model was trained on.")
    batch_as_of: date
    batch_pupils: int
    thresholds: dict[str, Any]


class ModelCard(BaseModel):
    """The served version's model card, in Markdown (French)."""

    version: str
    markdown: str


class FairnessSummary(BaseModel):
    """The newest fairness audit of the served version, if any."""

    version: str
    report: PublishedAudit | None = Field(description="Gate, alerts and figures of the newest audit; None if none.")


class Aggregates(BaseModel):
    """Counts only: what reviewers see of a batch."""

    as_of: date
    model_version: str
    pupils: int
    schools: int
    by_tier: dict[str, int]
    by_grade_level: dict[str, dict[str, int]]
    by_track: dict[str, dict[str, int]]


class Readiness(BaseModel):
    """Whether the service can answer: the model and batch loaded, the last reload's failure, the database."""

    ready: bool
    model_version: str | None = None
    batch_as_of: date | None = None
    loaded_at: datetime | None = None
    last_reload_error: str | None = None
    database: Literal["ok", "unavailable"]


class ReloadResult(BaseModel):
    """Whether a reload swapped in a new model or batch, and why not if it failed."""

    reloaded: bool
    model_version: str | None
    batch_as_of: date | None
    error: str | None
