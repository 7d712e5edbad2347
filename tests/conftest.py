"""Shared fixtures: a small synthetic district, raw and pseudonymised, made once per session."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from features.ingest import pseudonymise_extract, validate_extract, write_validated
from features.signals import FeatureConfig, build_features
from features.synthetic import SynthConfig, synthesise
from training.config import TrainConfig, load_train_config
from training.train import FeatureSet, load_feature_set

#: Marks per subject and year in the tests' districts: the lighter density their figures were
#: tuned on, five times quicker than the realistic default (features/synthetic/generator.py).
TEST_GRADES = 5.0
SMALL = SynthConfig(pupils=800, seed=7, first_year=2021, last_year=2023, grades_per_subject=TEST_GRADES)


@pytest.fixture(scope="session")
def raw_extract(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("raw")
    synthesise(SMALL, out)
    return out


@pytest.fixture(scope="session")
def key_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fixed key, so pseudonyms, row order and models are the same on every run."""
    path = tmp_path_factory.mktemp("secrets") / "vigie.key"
    path.write_text("vigie-tests-fixed-key-0123456789abcdef\n")
    path.chmod(0o600)
    return path


@pytest.fixture(scope="session")
def extract(raw_extract: Path, key_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("extract") / "extract"
    pseudonymise_extract(raw_extract, out, key_file=key_file)
    return out


@pytest.fixture(scope="session")
def validated(extract: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small district, validated: typed Parquet tables, the input of the feature stage."""
    out = tmp_path_factory.mktemp("validated") / "validated"
    write_validated(validate_extract(extract), out)
    return out


@pytest.fixture
def extract_copy(extract: Path, tmp_path: Path) -> Callable[[], Path]:
    """A private copy of the pseudonymised extract, for tests that damage it."""

    def make() -> Path:
        target = tmp_path / "extract"
        shutil.copytree(extract, target, ignore=shutil.ignore_patterns("quarantine", "*.json"))
        return target

    return make


def read_csv_text(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def append_rows(path: Path, rows: list[dict[str, str]]) -> int:
    """Append rows to a CSV table; returns the 1-based data row number of the first one."""
    frame = read_csv_text(path)
    first = len(frame) + 1
    pd.concat([frame, pd.DataFrame(rows)], ignore_index=True).fillna("").to_csv(path, index=False)
    return first


@pytest.fixture(scope="session")
def long_features(tmp_path_factory: pytest.TempPathFactory, key_file: Path) -> Path:
    root = tmp_path_factory.mktemp("long")
    synthesise(SynthConfig(pupils=3000, seed=21, first_year=2019, last_year=2023, grades_per_subject=TEST_GRADES),
               root / "raw")  # fmt: skip
    pseudonymise_extract(root / "raw", root / "extract", key_file=key_file, names_dir=root / "names")
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
