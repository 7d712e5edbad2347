"""The monitoring config (``configs/monitoring.yaml``): what counts as drift and which alerts fire."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from features.catalog import FEATURE_NAMES
from features.configfile import load_config_file


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DriftSettings(_Strict):
    """Drift of one column between the reference and the current batch, as Evidently measures it.

    Numerical inputs: the normed Wasserstein distance (how far the distribution moved, in
    reference standard deviations). Not PSI: attendance rates share their denominators (the
    school half-days of a window), so their values sit on a lattice that shifts from one date to
    the next (38 or 40 half-days in four weeks); fixed bins then empty on one side and PSI
    explodes on unchanged data (seen on the synthetic district: PSI over 10 for equal means).
    Categorical inputs and the risk (continuous): PSI.
    """

    #: Normed Wasserstein distance at or above which a numerical input has drifted (Evidently's default).
    distance_threshold: float = Field(default=0.1, gt=0)
    #: PSI at or above which a categorical input has drifted (0.1: small shift, 0.2: significant).
    psi_threshold: float = Field(default=0.2, gt=0)
    #: PSI of the risk distribution at or above which the scores have drifted.
    risk_psi_threshold: float = Field(default=0.2, gt=0)
    #: The overall report runs on at most this many rows of each side (a uniform sample, fixed
    #: seed): its distances are then within about 0.01 of the full data's, at a fifth of the
    #: time for a national batch. Schools and groups are compared on every row.
    sample_rows: int | None = Field(default=200_000, ge=10_000)
    seed: int = 0
    #: Compare with the training snapshots taken on the same day of the year when there are some
    #: (attendance and grades follow the school year); otherwise with all of them.
    same_season: bool = True


class SliceSettings(_Strict):
    """Drift within a school or an audit group, against its own reference."""

    #: Features compared slice by slice: this year's recorded attendance, where a change of
    #: recording practice shows first (not last year's, nor trends, which lag behind).
    features: list[str] = Field(
        default_factory=lambda: [
            "unjustified_absence_rate_4w", "unjustified_absence_rate_12w", "unjustified_absence_rate_year",
            "justified_absence_rate_4w", "justified_absence_rate_12w", "justified_absence_rate_year",
            "late_rate_year", "exclusion_rate_year",
        ]
    )  # fmt: skip
    #: A slice with fewer pupils, in the reference or the batch, is listed as too small to test.
    min_pupils: int = Field(default=50, ge=10)
    #: A feature of a slice drifts when it moved by this many reference standard deviations
    #: (Evidently's normed Wasserstein distance) ...
    distance_threshold: float = Field(default=0.3, gt=0)
    #: ... and the drift must be significant: Kolmogorov-Smirnov p-value under this level, divided
    #: by the number of tests run (Bonferroni), so that many schools do not make false alarms.
    significance: float = Field(default=0.01, gt=0, lt=1)
    #: A slice alerts when at least this many of its compared features drift.
    min_drifted_features: int = Field(default=2, ge=1)
    #: Audit attributes whose groups are sliced (identifiers of fairness.groups).
    attributes: list[str] = Field(
        default_factory=lambda: ["sex", "scholarship", "disability_plan", "priority_education", "allophone"]
    )

    @field_validator("features")
    @classmethod
    def _known(cls, names: list[str]) -> list[str]:
        unknown = sorted(set(names) - set(FEATURE_NAMES))
        if unknown:
            raise ValueError(f"unknown features {unknown}; see features/catalog.py")
        return names


class OutcomeSettings(_Strict):
    """Performance once outcomes are known, against the version's own test-fold figures."""

    #: Empty: the model's operating point (its high tier); set, an explicit override of it.
    capacity: float | None = Field(default=None, gt=0, lt=1)
    #: Alert when the interval of precision at capacity lies wholly below the test-fold figure
    #: times (1 - this).
    max_precision_drop: float = Field(default=0.25, ge=0, lt=1)
    #: Alert when the expected calibration error exceeds this (its interval's lower bound).
    #: The fairness check of the outcomes uses the fairness config's gate (configs/fairness.yaml).
    max_ece: float = Field(default=0.03, gt=0)
    n_boot: int = Field(default=200, ge=20)
    confidence: float = Field(default=0.95, gt=0.5, lt=1)
    seed: int = 0


class AlertRules(_Strict):
    """The drifted shares past which monitoring recommends retraining (the model's features) or checking the data (one
    family)."""

    #: Retraining is recommended when this share of the model's features or more has drifted.
    max_drifted_share: float = Field(default=0.3, gt=0, le=1)
    #: A family (attendance, course, behaviour, trajectory) whose features drift at this share or
    #: more is named in an alert: a change of export or of practice (a grading scale, say).
    max_family_drifted_share: float = Field(default=0.5, gt=0, le=1)
    #: Staff overrule the model (AI Act art. 14): an alert when this share or more of the flags
    #: they judged on a batch were judged otherwise (not a concern, or a concern at a low score).
    max_staff_disagreement: float = Field(default=0.5, gt=0, le=1)
    #: A slice (tier, school, audit group) with fewer judgements shows no rate, and the alert
    #: needs at least this many overall.
    min_judgements: int = Field(default=20, ge=1)


class MonitoringConfig(_Strict):
    """The monitoring config (``configs/monitoring.yaml``): drift, slice and outcome settings and the alert rules;
    validated strictly."""

    version: Literal[1] = 1
    drift: DriftSettings = DriftSettings()
    slices: SliceSettings = SliceSettings()
    outcomes: OutcomeSettings = OutcomeSettings()
    alerts: AlertRules = AlertRules()


def load_monitoring_config(path: Path | None, overrides: dict[str, Any] | None = None) -> MonitoringConfig:
    """The monitoring config from ``path`` (the defaults when None) with ``overrides`` applied; an invalid file is an
    error naming it."""
    return load_config_file(MonitoringConfig, path, overrides, "monitoring")
