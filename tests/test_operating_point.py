"""One operating point, decided at training: a 180-day model whose schools follow 15 % of their
pupils trains (it crashed on metric names listed by hand), and its card, fairness reports,
scores, follow-up report, pages and monitoring summary all say 6 months and 15 %."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from features import french
from models.metrics import capacity_of, metric_name, reported_metrics
from models.operating_point import OperatingPoint, TierShares
from training.config import load_train_config
from vigie.cli import app


def test_french_says_the_horizon_in_months_when_it_is_whole_months() -> None:
    assert [french.horizon(d) for d in (365, 180, 182, 90, 30, 730)] == [
        "12 mois", "6 mois", "6 mois", "3 mois", "1 mois", "24 mois"
    ]  # fmt: skip
    assert french.horizon(45) == "45 jours" and french.horizon(1) == "1 jour"
    point = OperatingPoint(horizon_days=180, high=0.15)
    assert point.within_fr() == "dans les 6 mois"
    assert point.high_group_fr() == "les 15 % d'élèves au risque le plus élevé"


def test_an_override_is_recorded_and_checked() -> None:
    point = OperatingPoint(horizon_days=180, high=0.15)
    assert point.override(high=None, medium=None) is point and not point.overridden
    moved = point.override(high=0.2)
    assert moved.high == 0.2 and moved.overridden == ("high",) and moved.horizon_days == 180
    assert "réglage imposé" in moved.describe_fr()
    with pytest.raises(ValueError, match="more than 1"):
        point.override(high=0.5, medium=0.6)
    with pytest.raises(ValueError, match="may override"):
        point.override(horizon_days=90)


def test_metric_names_are_derived_from_capacities() -> None:
    assert metric_name("precision", 0.15) == "precision_at_15pct"
    assert metric_name("recall", 0.1, per_school=True) == "recall_at_10pct_per_school"
    assert capacity_of("precision_at_15pct_per_school") == ("precision", 0.15, True)
    assert capacity_of("roc_auc") is None
    assert reported_metrics([0.05, 0.1, 0.2], 0.1) == [
        "roc_auc", "pr_auc", "precision_at_5pct", "precision_at_10pct", "recall_at_10pct",
        "precision_at_10pct_per_school", "precision_at_20pct", "brier", "ece",
    ]  # fmt: skip
    assert "recall_at_15pct" in reported_metrics([0.05, 0.2], 0.15)


def test_the_gate_capacity_is_the_operating_point() -> None:
    assert load_train_config(None).operating_point == TierShares()
    legacy = load_train_config(None, {"gate.capacity": 0.15})
    assert legacy.operating_point.high == 0.15 and legacy.gate.capacity == 0.15
    assert load_train_config(None, {"operating_point.high": 0.15}).gate.capacity == 0.15
    assert legacy.reported_capacities == (0.05, 0.15, 0.2)
    with pytest.raises(Exception, match=r"differs from operating_point\.high"):
        load_train_config(None, {"gate.capacity": 0.15, "operating_point.high": 0.2})


def _text(path: Path) -> str:
    return " ".join(html.unescape(path.read_text(encoding="utf-8")).split())


@pytest.mark.integration
def test_a_180_day_15_percent_model_says_6_months_and_15_percent_everywhere(
    long_features: Path, key_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir = tmp_path / "data"
    monkeypatch.setenv("VIGIE_DATA_DIR", str(data_dir))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    config = tmp_path / "train.yaml"
    text = Path("configs/train.yaml").read_text(encoding="utf-8").replace("horizon_days: 365", "horizon_days: 180")
    text = re.sub(r"operating_point:\n(  .*\n)+", "", text).replace("gate:", "gate:\n  capacity: 0.15", 1)
    config.write_text(text, encoding="utf-8")
    fairness = tmp_path / "fairness.yaml"
    fairness.write_text("version: 1\nn_boot: 40\nmitigation: false\n", encoding="utf-8")
    validated = long_features.parent / "validated"
    runner = CliRunner()

    trained = runner.invoke(
        app, ["train", "--data", str(validated), "--config", str(config), "--fairness-config", str(fairness)]
    )
    assert trained.exit_code == 0, trained.output  # it ended in KeyError('precision_at_15pct')
    assert "precision_at_15pct" in trained.output and "recall_at_15pct" in trained.output
    cards = data_dir / "model_cards" / "vigie-dropout-v1"
    card = _text(cards / "model_card.md")
    assert "dans les 6 mois" in card and "précision à 15 %" in card and "Précision, 15 % des élèves signalés" in card
    assert "12 mois" not in card and "10 %" not in card
    fold_report = _text(cards / "fairness_report.html")
    assert "décroché dans les 6 mois" in fold_report and "les 15 % d'élèves" in fold_report
    assert "12 mois" not in fold_report

    audited = runner.invoke(app, ["audit", "--data", str(validated), "--as-of", "2023-06-15", "--model", "1"])
    assert audited.exit_code == 0, audited.output
    audit_folder = data_dir / "fairness" / "vigie-dropout-v1-2023-06-15"
    report = _text(audit_folder / "fairness_report.html")
    assert "décroché dans les 6 mois" in report and "les 15 % d'élèves" in report and "12 mois" not in report
    published = json.loads((audit_folder / "fairness_report.json").read_text(encoding="utf-8"))
    assert published["audit"]["capacity"] == 0.15 and published["operating_point"]["horizon_days"] == 180

    for day in ("2023-03-31", "2024-03-31"):
        scored = runner.invoke(app, ["score", "--data", str(validated), "--as-of", day, "--out", str(tmp_path / "s")])
        assert scored.exit_code == 0, scored.output
    batch = json.loads((tmp_path / "s" / "scores_2024-03-31.json").read_text(encoding="utf-8"))
    assert batch["operating_point"]["high"] == 0.15 and batch["operating_point"]["horizon_days"] == 180
    assert batch["capacity"]["high"] == 0.15 and batch["operating_point"]["overridden"] == []
    overridden = runner.invoke(
        app, ["score", "--data", str(validated), "--as-of", "2024-03-31", "--out", str(tmp_path / "o"), "--high", "5%"]
    )
    assert overridden.exit_code == 0, overridden.output
    forced = json.loads((tmp_path / "o" / "scores_2024-03-31.json").read_text(encoding="utf-8"))
    assert forced["operating_point"]["high"] == 0.05 and forced["operating_point"]["overridden"] == ["high"]
    runner.invoke(app, ["score", "--data", str(validated), "--as-of", "2024-03-31", "--out", str(tmp_path / "s")])

    followed = runner.invoke(app, ["followup-report", "--year", "2022-2023", "--data", str(validated)])
    assert followed.exit_code == 0, followed.output
    assert "Décrochage dans les 6 mois parmi les signalés" in " ".join(followed.output.split())
    follow_up = _text(data_dir / "followup" / "suivi_2022-2023.html")
    assert "dans les 6 mois qui suivent" in follow_up and "12 mois" not in follow_up

    monitored = runner.invoke(app, ["monitor", "--data", str(validated), "--as-of", "2024-03-31"])
    assert monitored.exit_code in (0, 3), monitored.output
    summary = _text(data_dir / "monitoring" / "as_of=2024-03-31" / "synthese.html")
    assert "dans les 6 mois" in summary and "les 15 % d'élèves au risque le plus élevé" in summary
    assert "Précision à 15 %" in summary and "Précision à 10 %" not in summary

    from serving.api import Role, ServiceSettings, issue_token
    from serving.app import create_app

    scores = json.loads((tmp_path / "s" / "scores_2024-03-31.json").read_text(encoding="utf-8"))
    assert scores["tiers"]["high"] > 0
    import pyarrow.parquet as pq

    high = pq.read_table(tmp_path / "s" / "scores_2024-03-31.parquet", filters=[("tier", "=", "high")]).to_pylist()[0]
    settings = ServiceSettings.model_validate(
        {"secret": "tests-only-secret-0123456789abcdef0123456789", "pseudonym_key_file": key_file,
         "database_url": f"sqlite:///{tmp_path / 'service.db'}"}
    )  # fmt: skip
    from datetime import timedelta

    staff = issue_token(settings, subject="t", role=Role.STAFF, schools=[high["school_id"]], ttl=timedelta(hours=1))
    with TestClient(create_app(settings, data_dir)) as client:
        csrf = re.search(r'name="csrf" value="([0-9a-f]{64})"', client.get("/").text)
        assert csrf is not None
        client.post("/connexion", data={"token": staff, "csrf": csrf.group(1)})
        page = " ".join(html.unescape(client.get(f"/eleves/{high['pupil_id']}").text).split())
    assert "des 15 % d'élèves au risque estimé le plus haut" in page
    assert "dans les 6 mois suivants" in page and "12 mois" not in page
