"""The training stage: features in, a calibrated model and its evaluation against baselines out.

Pure computation: no tracking, no files. :mod:`training.tracking` logs what this returns.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pandas as pd
from sklearn.metrics import average_precision_score

from features.ingest import ContractError
from features.school import LOOKBACK_YEARS, look_back_covered
from features.signals import (
    FEATURE_TABLE,
    METADATA,
    FeatureConfig,
    FeatureMetadata,
    build_features,
    input_hash,
    read_metadata,
)
from models.base_rates import BaseRates, rates_by_date
from models.baselines import ABCRule, EnvironmentBaseline, logistic_baseline
from models.estimator import DropoutRiskModel
from models.matrix import feature_matrix
from models.metrics import Interval, classification_metrics, compare_rankings, lead_times, metrics_by_group
from models.objections import Objections
from models.operating_point import OperatingPoint
from models.paths import Paths
from models.registry import ShortHistory, SplitNote, TrainingSplit
from training.config import TrainConfig
from training.splits import temporal_split

log = logging.getLogger(__name__)


@dataclass
class FeatureSet:
    """The snapshots training reads, with the metadata of their build and where they lie."""

    frame: pd.DataFrame
    metadata: FeatureMetadata
    folder: Path
    #: Snapshots of the folder left out on objection (GDPR art. 21): the folder holds
    #: ``len(frame) + left_out`` rows.
    left_out: int = 0


@dataclass
class Evaluation:
    """One model's figures on the test fold."""

    metrics: dict[str, float]
    by_grade_level: pd.DataFrame
    by_track: pd.DataFrame
    lead_days: pd.Series
    probability: np.ndarray = field(repr=False)


@dataclass
class TrainingResult:
    """Everything a training run produced: the split, the fitted model and its parameters, each model's figures on the
    test fold and the comparison with the logistic baseline."""

    split: TrainingSplit
    model: DropoutRiskModel
    params: dict[str, Any]
    evaluations: dict[str, Evaluation]  # "model", "abc_rule", "logistic"
    test: pd.DataFrame = field(repr=False)
    importance: pd.Series = field(repr=False)
    #: The model minus the logistic baseline on the test fold (ROC AUC, precision at the gate's
    #: capacity), with paired bootstrap intervals: does the model earn its complexity?
    versus_logistic: dict[str, Interval] = field(default_factory=dict)
    #: Decided here, once: the config's tiers at the features' horizon; logged with the model.
    operating_point: OperatingPoint = field(default_factory=OperatingPoint)
    #: The environment-only baseline (school, grade level, track and their past dropout rates, no
    #: individual signal) on the same folds: is profiling each pupil needed? (issue 28)
    environment: Evaluation | None = None
    #: The model minus that baseline, with paired bootstrap intervals (as ``versus_logistic``).
    versus_environment: dict[str, Interval] = field(default_factory=dict)
    #: Observed dropout rate against mean predicted risk, by fold and as-of date.
    base_rates: BaseRates = field(default_factory=lambda: BaseRates(train=(), valid=(), test=()))


def load_feature_set(
    data: Path, config: TrainConfig, work_dir: Path, *, objections: Objections | None = None
) -> FeatureSet:
    """A feature folder as it is, or a validated extract turned into one; the snapshots of the
    pupils of ``objections`` (GDPR art. 21) left out, so that no model learns from them.

    Features built from an extract are cached under ``work_dir/features``, keyed on the feature
    config *and* the extract's content: a new extract never reuses another's features, and a
    cache whose metadata does not match its key is rebuilt, never trusted.
    """
    if (data / METADATA).exists():
        folder = data
    elif (data / "validation_report.json").exists():
        features = config.features or FeatureConfig.model_validate({"schedule": {}})
        data_hash = input_hash(data)
        folder = Paths(work_dir).feature_cache / f"{features.digest()}-{data_hash}"
        if not _cache_matches(folder, features.digest(), data_hash):
            log.info("building features of %s into %s", data, folder)
            build_features(data, folder, features)
    else:
        raise ContractError(f"{data}: neither a feature folder (metadata.json) nor a validated extract.")
    metadata = read_metadata(folder)
    if metadata.purpose != "training":
        raise ContractError(f"{folder}: features built for scoring (no labels); training needs 'vigie features'.")
    frame = pd.read_parquet(folder / FEATURE_TABLE)
    left_out = objections or Objections()
    return FeatureSet(left_out.drop(frame), metadata, folder, left_out.dropped(frame))


def _cache_matches(folder: Path, config_hash: str, data_hash: str) -> bool:
    if not (folder / METADATA).exists() or not (folder / FEATURE_TABLE).exists():
        return False
    try:
        cached = read_metadata(folder)
    except ContractError:
        return False
    same = cached.config_hash == config_hash and cached.input_hash == data_hash and cached.purpose == "training"
    if not same:
        log.warning("feature cache %s does not match its key (config, input): rebuilt", folder)
    return same


def evaluate(
    test: pd.DataFrame, probability: np.ndarray, capacities: tuple[float, ...], operating: float
) -> Evaluation:
    """Figures at every capacity; per group and lead times at the ``operating`` one (the high tier)."""
    y = test["label"].to_numpy(dtype=int)
    return Evaluation(
        metrics=classification_metrics(
            y,
            probability,
            pupils=test["pupil_id"].to_numpy(),
            capacities=capacities,
            schools=test["school_id"].to_numpy(),
        ),
        by_grade_level=metrics_by_group(test, probability, "grade_level", capacities=(operating,)),
        by_track=metrics_by_group(test, probability, "track", capacities=(operating,)),
        lead_days=lead_times(test, probability, capacity=operating),
        probability=probability,
    )


def _tune(config: TrainConfig, X: pd.DataFrame, y: pd.Series, Xv: pd.DataFrame, yv: pd.Series) -> dict[str, Any]:
    """Optuna search of the tree shape and learning rate on the validation fold's PR AUC."""
    base = config.model.model_dump()

    def objective(trial: optuna.Trial) -> float:
        params = {
            **base,
            "learning_rate": trial.suggest_float("learning_rate", 0.02, 0.2, log=True),
            "num_leaves": trial.suggest_int("num_leaves", 7, 63, log=True),
            "max_depth": trial.suggest_int("max_depth", 3, 8),
            "min_child_samples": trial.suggest_int("min_child_samples", 20, 400, log=True),
            "colsample_bytree": trial.suggest_float("colsample_bytree", 0.5, 1.0),
            "reg_lambda": trial.suggest_float("reg_lambda", 1e-3, 10, log=True),
        }
        model = DropoutRiskModel(**params, random_state=config.seed).fit(X, y, X_valid=Xv, y_valid=yv)
        return float(average_precision_score(yv, model.decision_function(Xv)))

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=config.seed))
    study.optimize(objective, n_trials=config.tuning.trials, timeout=config.tuning.timeout_seconds)
    log.info("tuning: best validation PR AUC %.4f after %d trials", study.best_value, len(study.trials))
    return {**base, **study.best_params}


def train(features: FeatureSet, config: TrainConfig) -> TrainingResult:
    """Split by date, fit the model and the baselines on the same folds, evaluate on the test fold."""
    frame = features.frame
    labelled = frame[frame["label"].notna()].copy()
    labelled["as_of"] = pd.to_datetime(labelled["as_of"]).dt.date
    labelled, short = _leave_out_short_histories(labelled, features.metadata.first_school_year)
    dates: list[date] = sorted(labelled["as_of"].unique())
    split = temporal_split(dates, horizon_days=features.metadata.horizon_days, config=config.split)
    split = split.model_copy(update={"short_history": short})
    point = OperatingPoint.decided(config.operating_point, features.metadata.horizon_days)
    folds = {name: labelled[labelled["as_of"].isin(getattr(split, name))] for name in ("train", "valid", "test")}
    X = {name: feature_matrix(fold) for name, fold in folds.items()}
    y = {name: fold["label"].astype(int) for name, fold in folds.items()}
    log.info("split (%s): %s", split.rule, {k: (len(v), int(y[k].sum())) for k, v in folds.items()})
    for note in split.notes:
        log.warning("short extract: %s", SPLIT_NOTES_EN[note])

    params = (
        _tune(config, X["train"], y["train"], X["valid"], y["valid"])
        if config.tuning.trials
        else (config.model.model_dump())
    )
    model = DropoutRiskModel(**params, random_state=config.seed)
    model.fit(X["train"], y["train"], X_valid=X["valid"], y_valid=y["valid"])
    logistic = logistic_baseline(config.seed).fit(X["train"], y["train"])
    rule = ABCRule(random_state=config.seed).fit(X["train"])
    test = folds["test"].assign(track=X["test"]["track"].astype(str))
    evaluations = {
        name: evaluate(test, estimator.predict_proba(X["test"])[:, 1], config.reported_capacities, point.high)
        for name, estimator in (("model", model), ("abc_rule", rule), ("logistic", logistic))
    }
    environment = environment_baseline(folds, X, features.metadata.horizon_days, config.seed)
    env_test = folds["test"].assign(track=X["test"]["track"].astype(str))
    environment_evaluation = evaluate(
        test, environment.predict_proba(env_test)[:, 1], config.reported_capacities, point.high
    )

    def versus(other: Evaluation) -> dict[str, Interval]:
        """The model minus ``other`` on the test fold, paired bootstrap by pupil (none when not drawn)."""
        if not config.comparison_draws:
            return {}
        return compare_rankings(
            test["label"].to_numpy(dtype=int),
            evaluations["model"].probability,
            other.probability,
            pupils=test["pupil_id"].to_numpy(),
            capacity=point.high,
            n_boot=config.comparison_draws,
            seed=config.seed,
        )

    versus_logistic, versus_environment = versus(evaluations["logistic"]), versus(environment_evaluation)
    return TrainingResult(
        split, model, params, evaluations, test, model.feature_importance(), versus_logistic, point,
        environment_evaluation, versus_environment, base_rates=_base_rates(folds, X, y, model),
    )  # fmt: skip


def _base_rates(
    folds: dict[str, pd.DataFrame], X: dict[str, pd.DataFrame], y: dict[str, pd.Series], model: DropoutRiskModel
) -> BaseRates:
    """Observed dropout rate against the model's mean risk at every date of every fold, logged."""
    rates = BaseRates(
        **{
            name: rates_by_date(fold["as_of"].to_numpy(), y[name].to_numpy(), model.predict_proba(X[name])[:, 1])
            for name, fold in folds.items()
        }
    )
    for line in rates.log_lines():
        log.info("base rate: %s", line)
    shift = rates.test_shift()
    if shift is not None:
        log.warning(
            "base rate moved: the test fold's dropout rate %.2f%% lies outside the training folds' %.2f%%-%.2f%%",
            100 * shift.rate,
            100 * shift.low,
            100 * shift.high,
        )
    return rates


#: What a split's fallback means, for the run's log (the card says it in French).
SPLIT_NOTES_EN: dict[SplitNote, str] = {
    "test_part_of_year": "the test fold holds only the latest dates of the last labelled school year",
    "valid_part_of_year": "validation holds only the dates of its school year whose horizon closes before the test",
}


def _leave_out_short_histories(labelled: pd.DataFrame, first_year: int | None) -> tuple[pd.DataFrame, ShortHistory]:
    """Snapshots whose look-back the extract does not cover, out of every fold (counted)."""
    if first_year is None:
        return labelled, ShortHistory()
    dates = sorted(labelled["as_of"].unique())
    short_dates = tuple(d for d in dates if not look_back_covered(d, first_year))
    short = labelled["as_of"].isin(short_dates)
    left = ShortHistory(snapshots=int(short.sum()), dates=short_dates, extract_from=first_year)
    if left.snapshots:
        log.warning(
            "%d labelled snapshots at %d as-of dates left out of training: the extract starts in %d-%d, "
            "their %d-year look-back is not covered",
            left.snapshots,
            len(short_dates),
            first_year,
            first_year + 1,
            LOOKBACK_YEARS,
        )
    return labelled[~short], left


def environment_baseline(
    folds: dict[str, pd.DataFrame], X: dict[str, pd.DataFrame], horizon_days: int, seed: int
) -> EnvironmentBaseline:
    """The environment-only baseline fitted on the training fold; its past rates read every labelled
    snapshot, each only from the day its horizon closed (no leakage)."""
    rows = {name: fold.assign(track=X[name]["track"].astype(str)) for name, fold in folds.items()}
    history = pd.concat(
        [r[["school_id", "grade_level", "track", "as_of", "label"]] for r in rows.values()], ignore_index=True
    )
    baseline = EnvironmentBaseline(history=history, horizon_days=horizon_days, random_state=seed)
    return baseline.fit(rows["train"], rows["train"]["label"].astype(int))
