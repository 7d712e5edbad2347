"""The experiment configuration: a versioned YAML file, validated before any compute."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from features.configfile import load_config_file
from features.signals import FeatureConfig
from models import DEFAULT_MODEL_NAME
from models.operating_point import DEFAULT_HIGH_SHARE, TierShares


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SplitConfig(_Strict):
    """Rolling-origin split. Left empty (the default), it follows the labelled school years: the
    last tests, the one before validates, the rest trains (training/splits.py). Counts given
    here win: the latest ``test_dates`` test, the ``valid_dates`` before them validate."""

    test_dates: int | None = Field(default=None, ge=1)
    valid_dates: int | None = Field(default=None, ge=1)


class ModelConfig(_Strict):
    """The estimator's settings: LightGBM's hyper-parameters (shallow trees, many pupils per leaf by default), how
    positives are weighted, monotone constraints, early stopping and the calibration method."""

    n_estimators: int = Field(default=600, ge=1)
    learning_rate: float = Field(default=0.05, gt=0, le=1)
    num_leaves: int = Field(default=7, ge=2)
    max_depth: int = Field(default=3, ge=-1)
    min_child_samples: int = Field(default=100, ge=1)
    colsample_bytree: float = Field(default=0.8, gt=0, le=1)
    subsample: float = Field(default=0.8, gt=0, le=1)
    reg_lambda: float = Field(default=1.0, ge=0)
    positive_weight: Literal["none", "sqrt", "balanced"] = "sqrt"
    monotone: bool = True
    early_stopping_rounds: int = Field(default=50, ge=1)
    calibration: Literal["isotonic", "sigmoid"] = "sigmoid"


class TuningConfig(_Strict):
    """Optuna search on the validation fold's PR AUC; off when trials is 0."""

    trials: int = Field(default=0, ge=0)
    timeout_seconds: float | None = Field(default=None, gt=0)


class GateConfig(_Strict):
    """What a new version must show before the ``champion`` alias moves to it."""

    #: The capacity the gate judges at. It is the operating point's high share, always:
    #: set here (older configs) it sets ``operating_point.high``; left out, it is filled from it.
    capacity: float = Field(default=DEFAULT_HIGH_SHARE, gt=0, lt=1)
    max_ece: float = Field(default=0.02, gt=0)
    require_fairness: bool = False
    #: Refuse a model the logistic baseline beats beyond the noise (the paired bootstrap's
    #: interval of model minus logistic wholly below 0 on a compared figure): the simpler,
    #: more explainable model should then be preferred. Needs ``comparison_draws`` > 0.
    not_worse_than_logistic: bool = True


class TrainConfig(_Strict):
    """The training config (``configs/train.yaml``): what to train, on which split, with which operating point and
    promotion gate; validated strictly, an unknown key is an error."""

    version: Literal[1] = 1
    experiment: str = "vigie-dropout"
    registered_model: str = DEFAULT_MODEL_NAME
    seed: int = 0
    #: Shown on the model card: a model trained on the synthetic district says so in red.
    synthetic_data: bool = False
    features: FeatureConfig | None = None
    split: SplitConfig = SplitConfig()
    model: ModelConfig = ModelConfig()
    tuning: TuningConfig = TuningConfig()
    #: The model's operating point, but its horizon (the features'): decided here, stored with
    #: the model, used by scoring, audits, monitoring, the service and the reports.
    operating_point: TierShares = TierShares()
    #: Capacities reported on the test fold besides the operating point's high share.
    capacities: list[float] = Field(default=[0.05, 0.2])
    gate: GateConfig = GateConfig()
    #: Bootstrap draws for the model-versus-logistic comparison on the card (0: not compared).
    comparison_draws: int = Field(default=200, ge=0)

    @model_validator(mode="after")
    def _one_capacity(self) -> TrainConfig:
        """``gate.capacity`` and ``operating_point.high`` are one setting: either sets both."""
        high, gate = self.operating_point.high, self.gate.capacity
        if "capacity" in self.gate.model_fields_set and gate != high:
            if "high" in self.operating_point.model_fields_set:
                raise ValueError(f"gate.capacity ({gate}) differs from operating_point.high ({high}): set one")
            self.operating_point = TierShares.model_validate({**self.operating_point.model_dump(), "high": gate})
        self.gate.capacity = self.operating_point.high
        return self

    @property
    def reported_capacities(self) -> tuple[float, ...]:
        """Every capacity the test fold is measured at: the configured ones and the operating one."""
        return tuple(sorted({*self.capacities, self.operating_point.high}))

    @model_validator(mode="after")
    def _compared_when_gated(self) -> TrainConfig:
        if self.gate.not_worse_than_logistic and self.comparison_draws == 0:
            raise ValueError("gate.not_worse_than_logistic needs comparison_draws > 0 (or set it to false)")
        return self


def load_train_config(path: Path | None, overrides: dict[str, Any] | None = None) -> TrainConfig:
    """Read and validate the YAML config (errors name the section), then apply CLI overrides."""
    return load_config_file(TrainConfig, path, overrides, "training")
