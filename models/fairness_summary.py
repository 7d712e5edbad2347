"""The fairness summary: what an audit publishes with a model version, and what the service reads.

Written by ``fairness/`` (``fairness_report.json``, logged to the version's run) and read back by
``serving/`` (``GET /api/v1/model/fairness``, the « Comprendre le score » page). It lives here,
in ``models/``, because serving may not import ``fairness/``. The figures by group keep their JSON
shape; the parts the service shows (gate, alerts, date, synthetic data) are typed, so a page never
guards a missing key. Versioned and checked on read like the feature metadata.
"""

from __future__ import annotations

import json
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from models.operating_point import OperatingPoint
from models.stored import parse_stored

#: The file an audit writes and logs under the run's ``fairness/`` artifacts.
FAIRNESS_REPORT_ARTIFACT: Final = "fairness_report.json"
FAIRNESS_SUMMARY_VERSION: Final = 1
#: The audited attributes and intersections as reports, the notice and the dossier name them.
ATTRIBUTE_LABELS_FR: dict[str, str] = {
    "sex": "sexe",
    "scholarship": "bourse",
    "scholarship_band": "échelon de bourse",
    "disability_plan": "plan d'accompagnement",
    "priority_education": "éducation prioritaire (collèges)",
    "allophone": "allophone",
    "track": "voie",
    "sex_x_scholarship": "sexe × bourse",
    "priority_education_x_plan": "éducation prioritaire × plan (collèges)",
}


class GateOutcome(BaseModel):
    """The fairness gate's verdict: passed, the criteria judged, the ones breached (French)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    passed: bool
    judged: list[str] = Field(default_factory=list)
    breaches: list[str] = Field(default_factory=list)


class AuditFigures(BaseModel):
    """The audit's figures: sizes, bootstrap settings, alerts (French) and per-attribute tables."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    capacity: float
    snapshots: int
    pupils: int
    positives: int
    bootstrap_samples: int
    confidence: float
    min_cell: int
    suppressed_marker: str
    alerts: list[str] = Field(default_factory=list)
    attributes: list[dict[str, JsonValue]] = Field(default_factory=list)


class FairnessSummary(BaseModel):
    """One audit of one model version, as published in ``fairness_report.json``."""

    model_config = ConfigDict(extra="forbid", frozen=True, protected_namespaces=())
    schema_version: Literal[1] = FAIRNESS_SUMMARY_VERSION
    model: str
    as_of: list[str]
    data_hash: str
    synthetic_data: bool
    generated_at: str = Field(description="ISO 8601, to the second, UTC")
    config: dict[str, JsonValue]
    operating_point: OperatingPoint
    gate: GateOutcome
    audit: AuditFigures
    mitigation: dict[str, JsonValue] | None = None

    def as_json(self) -> str:
        """The report file's text (French kept readable)."""
        return json.dumps(self.model_dump(mode="json"), ensure_ascii=False, indent=2)


def parse_fairness_summary(values: Any, where: str) -> FairnessSummary:
    """A stored fairness summary, checked: a version this code does not know is refused, naming it."""
    return parse_stored(
        FairnessSummary, values, version_key="schema_version", version=FAIRNESS_SUMMARY_VERSION, where=where,
        what="fairness summary", remedy="run the audit again with this Vigie",
    )  # fmt: skip
