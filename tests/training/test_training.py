"""The model beats its baselines on later dates, is calibrated, monotone and reproducible."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from features.catalog import FEATURES
from features.signals import FeatureConfig
from models.matrix import feature_matrix
from training.config import TrainConfig
from training.train import FeatureSet, TrainingResult, train


@pytest.fixture(scope="module")
def result(feature_set: FeatureSet, small_train_config: TrainConfig) -> TrainingResult:
    return train(feature_set, small_train_config)


def test_folds_are_later_dates_and_only_labelled_rows(result: TrainingResult) -> None:
    assert max(result.split.train) < min(result.split.valid) < min(result.split.test)
    assert set(pd.to_datetime(result.test["as_of"]).dt.date) == set(result.split.test)
    assert result.test["label"].notna().all()


def test_model_beats_the_abc_rule_and_is_calibrated(result: TrainingResult) -> None:
    model, rule = result.evaluations["model"].metrics, result.evaluations["abc_rule"].metrics
    assert model["precision_at_10pct"] > rule["precision_at_10pct"]
    assert model["roc_auc"] > 0.8 > rule["roc_auc"]
    assert model["ece"] < 0.02
    base_rate = result.test["label"].mean()
    assert abs(result.evaluations["model"].probability.mean() - base_rate) < 0.5 * base_rate


def test_metrics_per_grade_level_track_and_lead_time(result: TrainingResult) -> None:
    evaluation = result.evaluations["model"]
    assert set(evaluation.by_track.index) == {"college", "lycee_gt", "lycee_pro"}
    assert evaluation.by_grade_level["n"].sum() == len(result.test)
    assert len(evaluation.lead_days) > 0 and (evaluation.lead_days > 0).all()
    assert {"precision_at_10pct_per_school", "recall_at_20pct", "brier"} <= set(evaluation.metrics)


def test_more_unjustified_absence_never_lowers_risk(result: TrainingResult) -> None:
    X = feature_matrix(result.test.head(2000))
    before = result.model.predict_proba(X)[:, 1]
    raising = [f.name for f in FEATURES if f.monotone == 1 and "unjustified" in f.name]
    worse = X.copy()
    for name in raising:
        worse[name] = worse[name].fillna(0) + (1 if "rate" not in name else 0.05)
    after = result.model.predict_proba(worse)[:, 1]
    assert (after >= before - 1e-12).all()
    assert (after > before).mean() > 0.1


def test_same_data_config_and_seed_give_the_same_model(
    feature_set: FeatureSet, small_train_config: TrainConfig, result: TrainingResult
) -> None:
    again = train(feature_set, small_train_config)
    assert again.model.lgbm_.booster_.model_to_string() == result.model.lgbm_.booster_.model_to_string()
    assert again.evaluations["model"].metrics == result.evaluations["model"].metrics
    other = train(feature_set, small_train_config.model_copy(update={"seed": 1}))
    assert other.model.lgbm_.booster_.model_to_string() != result.model.lgbm_.booster_.model_to_string()


def test_tuning_runs_within_its_budget(feature_set: FeatureSet, small_train_config: TrainConfig) -> None:
    config = small_train_config.model_copy(
        update={"tuning": small_train_config.tuning.model_copy(update={"trials": 2})}
    )
    tuned = train(feature_set, config)
    assert tuned.params["num_leaves"] != small_train_config.model.num_leaves or tuned.params["learning_rate"] != 0.05
    assert np.isfinite(tuned.evaluations["model"].metrics["roc_auc"])


def test_a_new_extract_never_reuses_the_features_of_another(
    validated: Path, small_train_config: TrainConfig, tmp_path: Path
) -> None:
    """The feature cache is keyed on the config and the extract's content, and checked against both."""
    from features.signals import input_hash, read_metadata
    from training.train import load_feature_set

    config = small_train_config.model_copy(
        update={"features": FeatureConfig.model_validate({"as_of": ["2022-12-15", "2023-03-31"]})}
    )
    other = tmp_path / "other"
    shutil.copytree(validated, other)
    outcomes = pd.read_parquet(other / "outcomes.parquet")
    outcomes.iloc[: len(outcomes) // 2].to_parquet(other / "outcomes.parquet", index=False)
    work = tmp_path / "work"
    first = load_feature_set(validated, config, work)
    second = load_feature_set(other, config, work)
    assert first.metadata.input_hash == input_hash(validated) != input_hash(other) == second.metadata.input_hash
    assert second.folder != first.folder
    assert second.frame["label"].sum() < first.frame["label"].sum()
    # A cache whose metadata does not match its key is rebuilt, never trusted.
    cached = read_metadata(first.folder)
    cached.model_copy(update={"input_hash": "0" * 16}).write(first.folder)
    again = load_feature_set(validated, config, work)
    assert again.metadata.input_hash == input_hash(validated)
    assert again.frame["label"].sum() == first.frame["label"].sum()
