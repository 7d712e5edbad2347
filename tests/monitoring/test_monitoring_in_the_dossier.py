"""What ``vigie monitor`` logs on the version's run is what the deployment dossier reads back
(``models.version_record``): the same verdict, the same batch date, the alerts in French."""

from __future__ import annotations

from pathlib import Path

import mlflow
import pytest
from typer.testing import CliRunner

from models.version_record import version_record
from serving.batch import history_dates
from tests.monitoring.conftest import Monitored
from vigie.cli import app

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("monitoring")]


def test_the_dossier_reads_the_verdicts_monitoring_logged(monitored: Monitored, tmp_path: Path) -> None:
    district = monitored.district
    day = history_dates(district.data_dir / "score_history", monitored.model.label)[-1]
    strict = tmp_path / "strict.yaml"
    strict.write_text("version: 1\nalerts:\n  max_drifted_share: 0.01\n", encoding="utf-8")  # must fire
    env = {"VIGIE_DATA_DIR": str(district.data_dir), "MLFLOW_TRACKING_URI": district.tracking_uri}
    args = ["monitor", "--data", str(monitored.validated), "--as-of", day.isoformat(), "--config", str(strict)]
    ran = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "report")], env=env)
    assert ran.exit_code == 3, ran.output  # an alert: its message must reach the dossier
    mlflow.set_tracking_uri(district.tracking_uri)
    mlflow.set_registry_uri(district.tracking_uri)
    notes = version_record(monitored.model.name, monitored.model.version).monitoring
    assert notes and notes[-1].as_of == day and notes[-1].verdict == "alert"
    assert any(alert.startswith("Réentraînement recommandé") for alert in notes[-1].alerts), notes[-1].alerts
