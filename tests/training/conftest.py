"""A district long enough to split by date: five school years of 3,000 pupils, as features."""

from __future__ import annotations

from pathlib import Path

import pytest

from features.build import FeatureConfig, build_features
from features.pseudonymise import pseudonymise_extract
from features.synthetic import SynthConfig, synthesise
from features.validation import validate_extract, write_validated
from training.config import TrainConfig, load_train_config
from training.train import FeatureSet, load_feature_set


@pytest.fixture(scope="session")
def long_features(tmp_path_factory: pytest.TempPathFactory, key_file: Path) -> Path:
    root = tmp_path_factory.mktemp("long")
    synthesise(SynthConfig(pupils=3000, seed=21, first_year=2019, last_year=2023), root / "raw")
    pseudonymise_extract(root / "raw", root / "extract", key_file=key_file)
    write_validated(validate_extract(root / "extract"), root / "validated")
    build_features(
        root / "validated", root / "features", FeatureConfig.model_validate({"schedule": {"from_year": 2019}})
    )
    return root / "features"


@pytest.fixture(scope="session")
def small_train_config() -> TrainConfig:
    return load_train_config(None, {"split.test_dates": 2, "split.valid_dates": 2, "model.min_child_samples": 40})


@pytest.fixture(scope="session")
def feature_set(
    long_features: Path, small_train_config: TrainConfig, tmp_path_factory: pytest.TempPathFactory
) -> FeatureSet:
    return load_feature_set(long_features, small_train_config, tmp_path_factory.mktemp("work"))
