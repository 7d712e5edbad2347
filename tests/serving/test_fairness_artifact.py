"""An audit the service cannot read (written by an older Vigie, or damaged) is not shown, and never
stops the model from being served: the « Comprendre le score » page then says no audit is available."""

from __future__ import annotations

import logging
from pathlib import Path

import mlflow
import pytest

from models.fairness_summary import FAIRNESS_REPORT_ARTIFACT
from serving.api.state import _run_artifacts


def test_an_unreadable_fairness_audit_is_left_out_not_fatal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    experiment = mlflow.create_experiment("audits", artifact_location=(tmp_path / "artifacts").as_uri())
    with mlflow.start_run(experiment_id=experiment) as run:
        mlflow.log_text('{"model": "vigie-dropout/1"}', f"fairness/old/{FAIRNESS_REPORT_ARTIFACT}")
        mlflow.log_text("# Fiche", "model_card/model_card.md")
    with caplog.at_level(logging.WARNING, logger="serving.api.state"):
        card, fairness = _run_artifacts(run.info.run_id)
    assert card == "# Fiche"
    assert fairness is None
    assert "fairness audit not shown" in caplog.text
