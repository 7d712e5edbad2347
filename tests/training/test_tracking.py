"""MLflow: a run with its artifacts, a registered version, the champion alias moved only by the gate."""

from __future__ import annotations

import re
from pathlib import Path

import mlflow
import numpy as np
import pytest
from mlflow.tracking import MlflowClient

from features import french
from models.matrix import feature_matrix, model_input
from models.metrics import Interval
from models.registry import CHAMPION
from training.config import GateConfig, TrainConfig
from training.gate import ChampionComparison, promotion_gate
from training.tracking import log_training
from training.train import FeatureSet, TrainingResult

pytestmark = pytest.mark.integration


class _Audit:
    def __init__(self, passed: bool) -> None:
        self.passed, self.detail = passed, "audit"

    def summary_lines(self) -> list[str]:
        return []

    def write(self, folder: Path, model: str | None = None) -> list[Path]:
        return []


def test_gate_blocks_what_it_must() -> None:
    good = {"precision_at_10pct": 0.3, "ece": 0.01}
    abc = {"precision_at_10pct": 0.1}
    none = ChampionComparison("none", "aucun champion jusqu'ici")
    even = {"roc_auc": Interval(0.001, -0.002, 0.004), "precision_at_10pct": Interval(0.0, -0.01, 0.01)}
    gate = GateConfig()
    assert promotion_gate(good, abc, none, gate, versus_logistic=even).promoted
    assert not promotion_gate({**good, "ece": 0.05}, abc, none, gate, versus_logistic=even).promoted
    assert not promotion_gate(good, {"precision_at_10pct": 0.35}, none, gate, versus_logistic=even).promoted
    better = ChampionComparison("compared", "champion : version 1", {"precision_at_10pct": 0.3})
    assert not promotion_gate(good, abc, better, gate, versus_logistic=even).promoted
    unscorable = ChampionComparison("unscorable", "le champion n'a pas pu noter le pli de test")
    decision = promotion_gate(good, abc, unscorable, gate, versus_logistic=even)
    assert not decision.promoted and decision.check("beats_champion").passed is False
    strict = GateConfig(require_fairness=True)
    assert not promotion_gate(good, abc, none, strict, versus_logistic=even).promoted
    assert promotion_gate(good, abc, none, strict, versus_logistic=even).check("fair").passed is None
    assert not promotion_gate(good, abc, none, strict, _Audit(passed=False), even).promoted
    assert promotion_gate(good, abc, none, strict, _Audit(passed=True), even).promoted


def test_gate_refuses_a_model_the_logistic_baseline_beats_beyond_the_noise() -> None:
    good = {"precision_at_10pct": 0.3, "ece": 0.01}
    abc = {"precision_at_10pct": 0.1}
    none = ChampionComparison("none", "aucun champion jusqu'ici")
    beaten = {"roc_auc": Interval(-0.02, -0.03, -0.01), "precision_at_10pct": Interval(0.0, -0.01, 0.01)}
    decision = promotion_gate(good, abc, none, GateConfig(), versus_logistic=beaten)
    check = decision.check("not_worse_than_logistic")
    assert not decision.promoted and check.passed is False
    assert check.detail == (
        "modèle moins logistique : ROC AUC -0,020 [-0,030 ; -0,010] ; précision à 10 % +0,000 [-0,010 ; +0,010]"
    )
    assert promotion_gate(good, abc, none, GateConfig(not_worse_than_logistic=False), versus_logistic=beaten).promoted
    not_compared = promotion_gate(good, abc, none, GateConfig())  # a required check not evaluated blocks
    assert not not_compared.promoted and not_compared.check("not_worse_than_logistic").passed is None
    with pytest.raises(ValueError, match="not_worse_than_logistic needs comparison_draws > 0"):
        TrainConfig(comparison_draws=0)
    assert TrainConfig(comparison_draws=0, gate=GateConfig(not_worse_than_logistic=False)).comparison_draws == 0


def test_run_registry_and_champion(
    feature_set: FeatureSet,
    trained: TrainingResult,
    small_train_config: TrainConfig,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Logging and registering, not training: the run's shared model, in a store of this test's own."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.chdir(tmp_path)  # artifacts of a plain sqlite URI land in ./mlruns: keep them here
    result = trained
    first = log_training(result, feature_set, small_train_config, data_dir=tmp_path)
    assert first.version == "1" and first.gate.promoted
    client = MlflowClient()
    assert str(client.get_model_version_by_alias(small_train_config.registered_model, CHAMPION).version) == "1"

    champion = mlflow.pyfunc.load_model(f"models:/{small_train_config.registered_model}@{CHAMPION}")
    served = champion.predict(model_input(result.test.head(50)))["risk"].to_numpy()
    direct = result.model.predict_proba(feature_matrix(result.test.head(50)))[:, 1]
    np.testing.assert_allclose(served, direct)

    run = client.get_run(first.run_id)
    assert {"git_commit", "data_hash", "config_hash"} <= set(run.data.tags)
    assert run.data.metrics["test.model.precision_at_10pct"] > run.data.metrics["test.abc_rule.precision_at_10pct"]
    gap = {k: run.data.metrics[f"test.model_minus_logistic.roc_auc{k}"] for k in ("", "_lower", "_upper")}
    assert gap["_lower"] <= gap[""] <= gap["_upper"]
    assert gap[""] == pytest.approx(run.data.metrics["test.model.roc_auc"] - run.data.metrics["test.logistic.roc_auc"])
    artifacts = {a.path for a in client.list_artifacts(first.run_id)}
    assert {"figures", "explanations", "model_card", "features.json", "gate.json", "evaluation"} <= artifacts
    shap_plots = {a.path for a in client.list_artifacts(first.run_id, "explanations")}
    assert "explanations/shap_summary.png" in shap_plots and len(shap_plots) == 4
    card = first.card[0].read_text(encoding="utf-8")
    assert "Usages exclus" in card and "champion" in card
    assert f"test : {french.days(result.split.describe()['test'])}." in card  # dates as reviewers read them
    assert "Écart avec la régression logistique (modèle moins logistique" in card
    assert re.search(r"^\*Créée le \d{2}/\d{2}/\d{4} à \d{2}:\d{2} UTC · ", card, flags=re.MULTILINE)
    # the HTML card is the Markdown card rendered: the same sections, the same limits
    html_card = first.card[1].read_text(encoding="utf-8")
    headings = re.findall(r"^##? (.+)$", card, flags=re.MULTILINE)
    assert len(headings) >= 8 and all(re.search(rf"<h[12]>{re.escape(h)}</h[12]>", html_card) for h in headings)
    assert "ne sont jamais des variables du modèle" in html_card and "<table>" in html_card

    second = log_training(result, feature_set, small_train_config, data_dir=tmp_path)
    assert second.version == "2" and not second.gate.promoted
    assert any(c.passed is False and "champion" in c.label for c in second.gate.checks)
    assert str(client.get_model_version_by_alias(small_train_config.registered_model, CHAMPION).version) == "1"

    pupils = set(result.test["pupil_id"])
    local = client.download_artifacts(first.run_id, "", str(tmp_path / "dl"))
    for path in Path(local).rglob("*"):
        if path.is_file() and path.suffix in {".json", ".md", ".html", ".txt", ".yaml", ".csv", ""}:
            text = path.read_text(encoding="utf-8", errors="replace")
            assert not any(p in text for p in list(pupils)[:500]), path
