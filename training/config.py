"""The experiment configuration: a versioned YAML file, validated before any compute."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from features.configfile import load_config_file
from features.signals import FeatureConfig
from models import DEFAULT_MODEL_NAME


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SplitConfig(_Strict):
    """Rolling-origin split: the latest dates test, earlier closed ones validate, older ones train."""

    test_dates: int = Field(default=3, ge=1)
    valid_dates: int = Field(default=3, ge=1)


class ModelConfig(_Strict):
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

    capacity: float = Field(default=0.1, gt=0, lt=1)
    max_ece: float = Field(default=0.02, gt=0)
    require_fairness: bool = False
    #: Refuse a model the logistic baseline beats beyond the noise (the paired bootstrap's
    #: interval of model minus logistic wholly below 0 on a compared figure): the simpler,
    #: more explainable model should then be preferred. Needs ``comparison_draws`` > 0.
    not_worse_than_logistic: bool = True


class TrainConfig(_Strict):
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
    capacities: list[float] = Field(default=[0.05, 0.1, 0.2])
    gate: GateConfig = GateConfig()
    #: Bootstrap draws for the model-versus-logistic comparison on the card (0: not compared).
    comparison_draws: int = Field(default=200, ge=0)

    @model_validator(mode="after")
    def _compared_when_gated(self) -> TrainConfig:
        if self.gate.not_worse_than_logistic and self.comparison_draws == 0:
            raise ValueError("gate.not_worse_than_logistic needs comparison_draws > 0 (or set it to false)")
        return self


def load_train_config(path: Path | None, overrides: dict[str, Any] | None = None) -> TrainConfig:
    """Read and validate the YAML config (errors name the section), then apply CLI overrides."""
    return load_config_file(TrainConfig, path, overrides, "training")
