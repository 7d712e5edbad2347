"""The fairness audit runs on training's test fold and its verdict decides the champion alias."""

from __future__ import annotations

from pathlib import Path

import pytest
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from fairness.config import FairnessConfig, GateThresholds
from fairness.review import fold_audit_check
from models.registry import CHAMPION
from training.config import TrainConfig
from training.tracking import log_training
from training.train import FeatureSet, train

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
