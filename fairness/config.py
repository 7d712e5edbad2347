"""The audit's settings and the thresholds the promotion gate checks: one YAML file, validated."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from fairness.groups import AttributeId
from features import french
from features.configfile import load_config_file
from models.operating_point import OperatingPoint


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class GateThresholds(_Strict):
    """A disparity breaks its threshold when its interval's ``judge`` bound is above it.

    ``lower`` blocks what is above the threshold with 95% confidence (a small group's wide
    interval does not block by itself); ``upper`` also blocks what cannot be shown to be under it.
    A threshold left empty (null) is reported but not gated.
    """

    max_equalized_odds_difference: float | None = Field(default=None, gt=0)
    max_calibration_gap_difference: float | None = Field(default=0.02, gt=0)
    #: Block when a group's risk is over- or under-estimated (see ``calibration_tolerance``).
    block_on_group_alerts: bool = True
    judge: Literal["lower", "upper"] = "lower"
    #: The attributes the gate judges, by identifier (track is a model input, reported but not gated).
    attributes: list[AttributeId] = Field(
        default=["sex", "scholarship", "disability_plan", "priority_education", "allophone"]
    )


class FairnessConfig(_Strict):
    """The fairness audit's config (``configs/fairness.yaml``): capacity override, bootstrap draws, the smallest group
    shown, and the tolerances the gate judges disparities by."""

    version: Literal[1] = 1
    #: The share of pupils flagged at each as-of date. Empty: the model's operating point (its
    #: high tier); set, an explicit override of it, recorded in the report.
    capacity: float | None = Field(default=None, gt=0, lt=1)
    n_boot: int = Field(default=200, ge=20)
    confidence: float = Field(default=0.95, gt=0.5, lt=1)
    #: Cells resting on fewer pupils are withheld, so that no pupil can be singled out.
    min_cell: int = Field(default=french.MIN_CELL, ge=1)
    #: A group is flagged when its risk is over- or under-estimated by more than this (points
    #: of probability), on the whole confidence interval.
    calibration_tolerance: float = Field(default=0.005, ge=0)
    #: ... and when its observed dropouts per expected one (observed / expected) lies, on the
    #: whole interval, outside [1 / (1 + r), 1 + r]: with dropout rates of 2-5 %, a point
    #: tolerance alone lets through a model that misjudges a group by half its rate.
    calibration_ratio_tolerance: float = Field(default=0.5, gt=0)
    seed: int = 0
    gate: GateThresholds = GateThresholds()
    #: Compare with Fairlearn's ThresholdOptimizer in the report. Never used for scoring: it
    #: would need the sensitive attribute of every pupil at scoring time.
    mitigation: bool = True

    def at(self, point: OperatingPoint) -> tuple[FairnessConfig, OperatingPoint]:
        """This audit at a model's operating point: the config with its capacity filled in, and
        the point audited (``capacity`` set overrides the point's high share, and says so)."""
        audited = point.override(high=self.capacity)
        return self.model_copy(update={"capacity": audited.high}), audited


def load_fairness_config(path: Path | None, overrides: dict[str, Any] | None = None) -> FairnessConfig:
    """Read and validate the YAML audit config, then apply overrides (dotted keys) on top."""
    return load_config_file(FairnessConfig, path, overrides, "fairness")
