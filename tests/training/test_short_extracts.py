"""Issue 25: training adapts to the history an extract gives, and says what moved.

A four-year extract trains with the shipped configuration; a two-year one fails with a message
naming what there is and what would work; a district whose dropout rate rises in the test year
gets the French base-rate note on its card and in its gate's calibration check."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from features.ingest import pseudonymise_extract, validate_extract, write_validated
from features.school import school_year_of
from features.synthetic import SynthConfig, synthesise
from tests.conftest import TEST_GRADES
from tests.support.shared import shared_folder
from training.config import TrainConfig
from training.tracking import log_training
from training.train import FeatureSet, train
from vigie.cli import app

pytestmark = pytest.mark.integration
SHIPPED = Path(__file__).resolve().parents[2] / "configs" / "train.yaml"


def _district(factory: pytest.TempPathFactory, key_file: Path, first_year: int, last_year: int) -> Path:
    def build(root: Path) -> None:
        config = SynthConfig(pupils=1500, seed=25, first_year=first_year, last_year=last_year,
                             grades_per_subject=TEST_GRADES)  # fmt: skip
        synthesise(config, root / "raw")
        pseudonymise_extract(root / "raw", root / "extract", key_file=key_file)
        write_validated(validate_extract(root / "extract"), root / "validated")

    return shared_folder(factory, f"district-{first_year}-{last_year}", build) / "validated"


def _train(validated: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> object:
    monkeypatch.setenv("VIGIE_DATA_DIR", str(data_dir))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{data_dir / 'mlflow.db'}")
    args = ["train", "--data", str(validated), "--config", str(SHIPPED), "--no-fairness", "--no-register"]
    return CliRunner().invoke(app, args)


def test_a_four_year_extract_trains_with_the_shipped_configuration(
    tmp_path_factory: pytest.TempPathFactory, key_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    validated = _district(tmp_path_factory, key_file, 2020, 2023)
    result = _train(validated, tmp_path / "data", monkeypatch)
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    output = result.output.replace("\n", " ")  # type: ignore[attr-defined]
    assert "'test': ['2022-12-15', '2023-03-31', '2023-06-15']" in output  # the last labelled school year
    card = next((tmp_path / "data").rglob("model_card.md")).read_text(encoding="utf-8")
    assert "Les plis suivent les années scolaires étiquetées" in card
    assert "Extrait court : la validation ne garde que les dates de son année" in card
    assert "| test | 15/12/2022 |" in card


def test_a_two_year_extract_fails_naming_what_would_work(
    tmp_path_factory: pytest.TempPathFactory, key_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    validated = _district(tmp_path_factory, key_file, 2022, 2023)
    result = _train(validated, tmp_path / "data", monkeypatch)
    assert result.exit_code == 2, result.output  # type: ignore[attr-defined]
    output = " ".join(result.output.split())  # type: ignore[attr-defined]
    assert "error: 3 labelled as-of dates over 1 school year (2022-2023)" in output
    assert "What would work: features.horizon_days: " in output
    assert "three school years" in output and "Traceback" not in output


def test_a_dropout_rate_rising_in_the_test_year_gets_the_french_base_rate_note(
    feature_set: FeatureSet, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    frame = feature_set.frame.copy()
    labelled = frame["label"].notna()
    years = frame["as_of"].map(lambda d: school_year_of(d.date() if hasattr(d, "date") else d))
    last = years[labelled].max()
    stayed = (labelled & (years == last) & (frame["label"] == 0)).to_numpy()
    rise = stayed & (np.random.default_rng(25).random(len(frame)) < 0.08)  # about 8 more points of dropout
    frame.loc[rise, "label"] = 1
    config = TrainConfig(comparison_draws=50, gate={"not_worse_than_logistic": True})
    result = train(FeatureSet(frame, feature_set.metadata, feature_set.folder), config)

    shift = result.base_rates.test_shift()
    assert shift is not None and shift.direction == "up"
    assert [r.as_of for r in result.base_rates.test] == list(result.split.test)
    tracked = log_training(result, feature_set, config, data_dir=tmp_path, register=False)
    card = tracked.card[0].read_text(encoding="utf-8")
    assert "**Déplacement du taux de base.** Le taux de décrochage observé sur le pli de test" in card
    assert "au-dessus de la plage des dates d'apprentissage" in card
    calibrated = tracked.gate.check("calibrated")
    assert calibrated.passed is False and "cause probable : Le taux de décrochage observé" in calibrated.detail
