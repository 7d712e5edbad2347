"""Shared fixtures: synthetic districts, raw, pseudonymised, validated and as features, and a model
trained on one, each made once per test run and read by every xdist worker (tests/support/shared.py);
and the hooks that keep each xdist group on one worker (tests/support/xdist_groups.py)."""

from __future__ import annotations

import pickle
import shutil
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from features.ingest import pseudonymise_extract, validate_extract, write_validated
from features.signals import FeatureConfig, build_features
from features.synthetic import SynthConfig, synthesise
from tests.support.shared import shared_folder
from tests.support.xdist_groups import (  # noqa: F401 -- hooks: '--dist loadgroup' honours xdist_group marks
    pytest_collection_modifyitems,
    pytest_configure_node,
    pytest_unconfigure,
    pytest_xdist_make_scheduler,
)
from training.config import TrainConfig, load_train_config
from training.train import FeatureSet, TrainingResult, load_feature_set, train

#: Marks per subject and year in the tests' districts: the lighter density their figures were
#: tuned on, five times quicker than the realistic default (features/synthetic/generator.py).
TEST_GRADES = 5.0
SMALL = SynthConfig(pupils=800, seed=7, first_year=2021, last_year=2023, grades_per_subject=TEST_GRADES)


@pytest.fixture(scope="session")
def raw_extract(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shared_folder(tmp_path_factory, "raw", lambda out: synthesise(SMALL, out))


@pytest.fixture(scope="session")
def key_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fixed key, so pseudonyms, row order and models are the same on every run."""

    def write(folder: Path) -> None:
        path = folder / "vigie.key"
        path.write_text("vigie-tests-fixed-key-0123456789abcdef\n")
        path.chmod(0o600)

    return shared_folder(tmp_path_factory, "secrets", write) / "vigie.key"


@pytest.fixture(scope="session")
def extract(raw_extract: Path, key_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    def pseudonymise(folder: Path) -> None:
        pseudonymise_extract(raw_extract, folder / "extract", key_file=key_file)

    return shared_folder(tmp_path_factory, "extract", pseudonymise) / "extract"


@pytest.fixture(scope="session")
def validated(extract: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small district, validated: typed Parquet tables, the input of the feature stage."""

    def validate(folder: Path) -> None:
        write_validated(validate_extract(extract), folder / "validated")

    return shared_folder(tmp_path_factory, "validated", validate) / "validated"


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
    """Five school years of 3,000 pupils as training features; beside them (``.parent``) the raw,
    pseudonymised and validated extracts and the schools' correspondence files."""

    def build(root: Path) -> None:
        synthesise(SynthConfig(pupils=3000, seed=21, first_year=2019, last_year=2023, grades_per_subject=TEST_GRADES),
                   root / "raw")  # fmt: skip
        pseudonymise_extract(root / "raw", root / "extract", key_file=key_file, names_dir=root / "names")
        write_validated(validate_extract(root / "extract"), root / "validated")
        build_features(
            root / "validated", root / "features", FeatureConfig.model_validate({"schedule": {"from_year": 2019}})
        )

    return shared_folder(tmp_path_factory, "long", build) / "features"


@pytest.fixture(scope="session")
def small_train_config() -> TrainConfig:
    return load_train_config(None, {"split.test_dates": 2, "split.valid_dates": 2, "model.min_child_samples": 40})


@pytest.fixture(scope="session")
def feature_set(
    long_features: Path, small_train_config: TrainConfig, tmp_path_factory: pytest.TempPathFactory
) -> FeatureSet:
    return load_feature_set(long_features, small_train_config, tmp_path_factory.mktemp("work"))


@pytest.fixture(scope="session")
def trained(
    feature_set: FeatureSet, small_train_config: TrainConfig, tmp_path_factory: pytest.TempPathFactory
) -> TrainingResult:
    """*A* model: trained once per run on the long district with the small config, for the tests
    that score, serve or monitor with a model. Tests of training itself (its folds, its configs,
    its gates) train their own."""

    def build(folder: Path) -> None:
        (folder / "result.pickle").write_bytes(pickle.dumps(train(feature_set, small_train_config)))

    folder = shared_folder(tmp_path_factory, "trained", build)
    return pickle.loads((folder / "result.pickle").read_bytes())  # written by this run, just above
