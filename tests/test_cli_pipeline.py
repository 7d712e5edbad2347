"""The data scientist's path through the CLI: train, score with the champion, audit it."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from mlflow.tracking import MlflowClient
from typer.testing import CliRunner

from serving.batch import SCORE_SCHEMA
from vigie.cli import app

pytestmark = pytest.mark.integration


def test_train_then_score(long_features: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIGIE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    runner = CliRunner()
    trained = runner.invoke(app, ["train", "--data", str(long_features), "--config", "configs/train.yaml"])
    assert trained.exit_code == 0, trained.output
    assert "promoted to @champion" in trained.output
    assert "Model minus logistic (95% paired bootstrap by pupil): roc_auc " in trained.output
    assert "Fairness report:" in trained.output and "[ok] Audit d'équité" in trained.output
    validated = long_features.parent / "validated"
    scored = runner.invoke(
        app,
        ["score", "--data", str(validated), "--as-of", "2024-03-31", "--out", str(tmp_path / "scores"), "--per-school"],
    )
    assert scored.exit_code == 0, scored.output
    table = pq.read_table(tmp_path / "scores" / "scores_2024-03-31.parquet")
    assert table.schema.equals(SCORE_SCHEMA)
    assert set(table.column("model_version").to_pylist()) == {"vigie-dropout/1"}
    assert (tmp_path / "data" / "score_history" / "as_of=2024-03-31").is_dir()
    missing = runner.invoke(
        app, ["score", "--data", str(validated), "--as-of", "2024-03-31", "--out", str(tmp_path / "s2"), "--model", "9"]
    )
    assert missing.exit_code == 2
    assert "model 'vigie-dropout' has no version '9'; its versions: 1 (champion)" in " ".join(missing.output.split())
    no_alias = runner.invoke(
        app, ["score", "--data", str(validated), "--as-of", "2024-03-31", "--out", str(tmp_path / "s2"), "--model", "x"]
    )
    assert no_alias.exit_code == 2 and "has no alias 'x'" in no_alias.output
    assert pd.Timestamp("2024-03-31").date() == table.column("as_of")[0].as_py()


def test_audit_a_registered_version(long_features: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIGIE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    runner = CliRunner()
    trained = runner.invoke(app, ["train", "--data", str(long_features), "--no-fairness"])
    assert trained.exit_code == 0, trained.output
    assert "[n/a] Audit d'équité" in trained.output
    validated = long_features.parent / "validated"
    args = ["audit", "--data", str(validated), "--model", "models:/vigie-dropout/1", "--synthetic-data"]
    open_horizon = runner.invoke(app, [*args, "--as-of", "2024-03-31"])
    assert open_horizon.exit_code == 2 and "horizon" in open_horizon.output
    audited = runner.invoke(app, [*args, "--as-of", "2023-03-31", "--capacity", "20%"])
    assert audited.exit_code == 0, audited.output
    report = tmp_path / "data" / "fairness" / "vigie-dropout-v1-2023-03-31" / "fairness_report.json"
    assert report.exists()
    published = json.loads(report.read_text(encoding="utf-8"))
    assert published["as_of"] == ["2023-03-31"] and published["audit"]["capacity"] == 0.2
    assert published["model"] == "vigie-dropout/1" and published["synthetic_data"] is True
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'data' / 'mlflow' / 'mlflow.db'}")
    version = client.get_model_version("vigie-dropout", "1")
    assert version.tags["fairness_audit_as_of"] == "2023-03-31"
    logged = {a.path for a in client.list_artifacts(str(version.run_id), "fairness/2023-03-31")}
    assert "fairness/2023-03-31/fairness_report.html" in logged


def test_a_model_is_audited_and_scored_with_its_own_feature_config(
    long_features: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Trained on 180-day labels, audited on 180-day labels: the horizon comes from the model."""
    from features.signals import read_metadata

    monkeypatch.setenv("VIGIE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    config = tmp_path / "train.yaml"
    config.write_text(
        Path("configs/train.yaml").read_text(encoding="utf-8").replace("horizon_days: 365", "horizon_days: 180"),
        encoding="utf-8",
    )
    validated = long_features.parent / "validated"
    runner = CliRunner()
    trained = runner.invoke(app, ["train", "--data", str(validated), "--config", str(config), "--no-fairness"])
    assert trained.exit_code == 0, trained.output
    day = "2023-06-15"  # 365 days later is past the extract: only a 180-day horizon has closed
    audited = runner.invoke(app, ["audit", "--data", str(validated), "--as-of", day, "--model", "1"])
    assert audited.exit_code == 0, audited.output
    built = read_metadata(tmp_path / "data" / "audits" / f"features-{day}")
    assert built.horizon_days == 180 and built.config.horizon_days == 180
    frame = pd.read_parquet(tmp_path / "data" / "audits" / f"features-{day}" / "features.parquet")
    outcomes = pd.read_parquet(validated / "outcomes.parquet")
    events, start = pd.to_datetime(outcomes["event_date"]), pd.Timestamp(day)
    within = outcomes[(events > start) & (events <= start + pd.Timedelta(days=180))]
    assert frame["label"].sum() == within["pupil_id"].isin(frame["pupil_id"]).sum() > 0
    scored = runner.invoke(
        app, ["score", "--data", str(validated), "--as-of", "2024-03-31", "--out", str(tmp_path / "s"), "--model", "1"]
    )
    assert scored.exit_code == 0, scored.output
    assert read_metadata(tmp_path / "data" / "scoring" / "features-2024-03-31").config.horizon_days == 180
