"""The fairness audit runs on training's test fold and its verdict decides the champion alias."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from fairness.config import FairnessConfig, GateThresholds
from fairness.review import fold_audit_check
from features.signals import AUDIT_TABLE
from models.registry import CHAMPION
from training.config import TrainConfig
from training.tracking import log_training
from training.train import FeatureSet, TrainingResult, train

pytestmark = pytest.mark.integration


def test_a_broken_fairness_threshold_keeps_the_champion_where_it_was(
    feature_set: FeatureSet, small_train_config: TrainConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.chdir(tmp_path)
    config = small_train_config.model_copy(
        update={"gate": small_train_config.gate.model_copy(update={"require_fairness": True})}
    )
    result = train(feature_set, config)
    strict = FairnessConfig(
        n_boot=50, gate=GateThresholds(max_equalized_odds_difference=0.001, block_on_group_alerts=False)
    )
    check = fold_audit_check(feature_set.folder, strict, data_hash="h", synthetic=True)
    blocked = log_training(result, feature_set, config, data_dir=tmp_path, fairness=check)

    assert not blocked.gate.promoted
    fairness = blocked.gate.check("fair")
    assert fairness.passed is False and "equalized odds" in fairness.detail
    client = MlflowClient()
    with pytest.raises(MlflowException):
        client.get_model_version_by_alias(config.registered_model, CHAMPION)
    version = client.get_model_version(config.registered_model, blocked.version or "")
    assert version.tags["fairness_audit"] == "failed"
    logged = {a.path for a in client.list_artifacts(blocked.run_id, "fairness")}
    assert logged == {"fairness/fairness_report.html", "fairness/fairness_report.json"}
    assert blocked.fairness_report is not None and blocked.fairness_report.exists()
    card = blocked.card[0].read_text(encoding="utf-8")
    assert "## Équité" in card and "Contrôle d'équité : échoué" in card

    lenient = FairnessConfig(n_boot=50, gate=GateThresholds(max_calibration_gap_difference=1.0, attributes=[]))
    passed = log_training(
        result,
        feature_set,
        config,
        data_dir=tmp_path,
        fairness=fold_audit_check(feature_set.folder, lenient, data_hash="h", synthetic=True),
    )
    assert passed.gate.promoted
    assert str(client.get_model_version_by_alias(config.registered_model, CHAMPION).version) == passed.version


def test_a_group_without_dropout_in_the_fold_trains_and_the_comparison_names_it(
    feature_set: FeatureSet, trained: TrainingResult, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 25: pupils with a ULIS plan and no dropout in the test fold once stopped training
    with Fairlearn's « degenerate labels » (exit 2, as if the input were bad)."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    test = trained.test
    stayed = test.groupby("pupil_id")["label"].max()
    ulis = set(stayed[stayed == 0].index[:300])
    folder = tmp_path / "features"
    shutil.copytree(feature_set.folder, folder)
    audit = pd.read_parquet(folder / AUDIT_TABLE)
    others = sorted(set(audit["pupil_id"]) - ulis)
    plans = {**{p: "none" for p in others[::2]}, **{p: "PAP" for p in others[1::2]}, **dict.fromkeys(ulis, "ULIS")}
    audit["disability_plan"] = audit["pupil_id"].map(plans)
    audit.to_parquet(folder / AUDIT_TABLE)
    assert audit.loc[audit["disability_plan"] == "ULIS", "pupil_id"].isin(test["pupil_id"]).any()
    config = FairnessConfig(n_boot=30, gate=GateThresholds(attributes=["disability_plan"]))
    check = fold_audit_check(folder, config, data_hash="h", synthetic=True)

    review = check(test, trained.evaluations["model"].probability, trained.operating_point)

    assert review.mitigation is not None and review.mitigation.attribute == "disability_plan"
    assert review.mitigation.left_out == ["ULIS"]
    assert "ULIS" not in {p.method for p in review.mitigation.points}
    assert any(p.needs_sensitive_attribute_at_scoring for p in review.mitigation.points)  # the others compared
    html = review.write(tmp_path / "report")[0].read_text(encoding="utf-8")
    assert "hors de la comparaison : <strong>ULIS</strong>" in html
    tracked = log_training(trained, feature_set, TrainConfig(), data_dir=tmp_path, register=False, fairness=check)
    assert "sans ULIS : une seule issue observée" in tracked.card[0].read_text(encoding="utf-8")
