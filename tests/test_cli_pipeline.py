"""The data scientist's path through the CLI: train, then score with the champion."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
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
    assert pd.Timestamp("2024-03-31").date() == table.column("as_of")[0].as_py()
