"""``vigie monitor`` as a scheduler runs it: files written, verdict logged, exit codes 0, 3 and 2."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import pytest
from typer.testing import CliRunner

from features import french
from serving.batch import history_dates
from tests.monitoring.conftest import Monitored
from vigie.cli import app

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("monitoring")]


def _monitor(monitored: Monitored, *args: str) -> tuple[int, str]:
    district = monitored.district
    day = history_dates(district.data_dir / "score_history", monitored.model.label)[-1]
    result = CliRunner().invoke(
        app,
        ["monitor", "--data", str(monitored.validated), "--as-of", day.isoformat(), *args],
        env={"VIGIE_DATA_DIR": str(district.data_dir), "MLFLOW_TRACKING_URI": district.tracking_uri},
    )
    return result.exit_code, result.output


def test_a_quiet_batch_exits_0_and_leaves_its_reports(monitored: Monitored, tmp_path: Path) -> None:
    code, output = _monitor(monitored, "--out", str(tmp_path / "report"))
    assert code == 0, output
    assert "Aucune alerte" in output and " ont dérivé, PSI du risque " in output
    verdict = json.loads((tmp_path / "report" / "monitoring.json").read_text(encoding="utf-8"))
    assert verdict["verdict"] == "ok" and verdict["model"] == monitored.model.label
    evidently = json.loads((tmp_path / "report" / "evidently_drift.json").read_text(encoding="utf-8"))
    assert {"metrics", "tests"} <= set(evidently)
    html = (tmp_path / "report" / "evidently_drift.html").read_text(encoding="utf-8")
    assert "<html" in html and "https://" not in html.split("<body", 1)[0].split("<script", 1)[0]
    synthese = (tmp_path / "report" / "synthese.html").read_text(encoding="utf-8")
    assert "Aucune alerte" in synthese
    # the reference snapshots' dates, in French, as reviewers read them
    assert french.days(verdict["reference_dates"]) in synthese and "built-in method" not in synthese
    history = (monitored.district.data_dir / "monitoring" / "history.jsonl").read_text(encoding="utf-8")
    assert json.loads(history.splitlines()[-1])["verdict"] == "ok"
    version = mlflow.MlflowClient(monitored.district.tracking_uri).get_model_version(
        "vigie-dropout", monitored.model.version
    )
    assert version.tags["monitoring_verdict"] == "ok"


def test_an_alert_exits_3_naming_the_rule_and_the_figure(monitored: Monitored, tmp_path: Path) -> None:
    strict = tmp_path / "strict.yaml"  # any drifted feature is too many: the rule must fire
    strict.write_text("version: 1\nalerts:\n  max_drifted_share: 0.01\n", encoding="utf-8")
    code, output = _monitor(monitored, "--config", str(strict), "--out", str(tmp_path / "report"))
    assert code == 3, output
    assert "ALERTE [drifted_share] Réentraînement recommandé" in output
    assert json.loads((tmp_path / "report" / "monitoring.json").read_text(encoding="utf-8"))["verdict"] == "alert"


def test_bad_input_exits_2_in_one_line(monitored: Monitored, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["monitor", "--data", str(monitored.validated), "--as-of", "2019-01-01"],
        env={
            "VIGIE_DATA_DIR": str(monitored.district.data_dir),
            "MLFLOW_TRACKING_URI": monitored.district.tracking_uri,
        },
    )
    assert result.exit_code == 2, result.output
    assert "run 'vigie score' first" in result.output and "Traceback" not in result.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nslices:\n  features: [not_a_feature]\n", encoding="utf-8")
    code, output = _monitor(monitored, "--config", str(bad))
    assert code == 2 and "not_a_feature" in output
