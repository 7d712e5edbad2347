"""What ``vigie monitor`` leaves behind: Evidently's report (self-contained HTML, JSON), the
verdict as JSON, a short French page for reviewers, a line in the history of verdicts, and
the same files on the serving version's MLflow run."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
from jinja2 import Environment, PackageLoader, StrictUndefined
from mlflow.tracking import MlflowClient

from fairness.groups import attribute_label
from features import french
from models.metrics import capacity_of
from models.version_record import MONITORING_ARTIFACTS, MONITORING_VERDICT
from monitoring.alerts import FAMILY_LABELS
from monitoring.judgements import slice_label
from monitoring.monitor import MonitoringResult, summary

EVIDENTLY_HTML = "evidently_drift.html"
EVIDENTLY_JSON = "evidently_drift.json"
VERDICT_JSON = MONITORING_VERDICT
SUMMARY_HTML = "synthese.html"
HISTORY = "history.jsonl"
OUTCOME_LABELS = {"roc_auc": "ROC AUC", "ece": "Erreur de calibration (ECE)"}


_KIND_FR = {"precision": "Précision", "recall": "Rappel"}


def _outcome_label(name: str) -> str:
    capacity = capacity_of(name)
    if capacity is not None:
        return f"{_KIND_FR[capacity[0]]} à {french.percent(capacity[1])}"
    return OUTCOME_LABELS.get(name, name)


def write_outputs(result: MonitoringResult, folder: Path) -> list[Path]:
    """Write the Evidently report (HTML and JSON), the verdict JSON and the French summary into ``folder``; return their
    paths."""
    folder.mkdir(parents=True, exist_ok=True)
    result.snapshot.save_html(str(folder / EVIDENTLY_HTML))
    (folder / EVIDENTLY_JSON).write_text(result.snapshot.json(), encoding="utf-8")
    verdict = summary(result)
    (folder / VERDICT_JSON).write_text(json.dumps(verdict, indent=2, ensure_ascii=False), encoding="utf-8")
    env = Environment(loader=PackageLoader("monitoring", "templates"), autoescape=True, undefined=StrictUndefined)
    env.filters.update(french.JINJA_FILTERS)
    page = env.get_template("summary.html.j2").render(
        r=result,
        family_labels=FAMILY_LABELS,
        attribute_label=attribute_label,
        outcome_label=_outcome_label,
        disagreement_label=slice_label,
        too_small=[s for s in result.schools + result.groups if s.status == "too_small"],
        new_schools=[s for s in result.schools if s.status == "new"],
    )
    (folder / SUMMARY_HTML).write_text(page, encoding="utf-8")
    return [folder / name for name in (EVIDENTLY_HTML, EVIDENTLY_JSON, VERDICT_JSON, SUMMARY_HTML)]


def append_history(result: MonitoringResult, history_dir: Path) -> Path:
    """One line per monitored batch: the verdicts over time, for reviewers and schedulers."""
    history_dir.mkdir(parents=True, exist_ok=True)
    line = {
        "as_of": result.as_of.isoformat(),
        "model": result.model,
        "generated_at": result.generated_at.isoformat(timespec="seconds"),
        "verdict": "alert" if result.alerted else "ok",
        "rules": [a.rule for a in result.alerts],
        "drifted_share": round(result.drift.drifted_share, 4),
        "risk_psi": result.drift.risk.score,
    }
    path = history_dir / HISTORY
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(line, ensure_ascii=False) + "\n")
    return path


def log_to_mlflow(result: MonitoringResult, paths: list[Path], name: str, version: str) -> str:
    """The files on the serving version's run, and its verdict as a tag of the version."""
    client = MlflowClient()
    run_id = str(client.get_model_version(name, version).run_id)
    folder = f"{MONITORING_ARTIFACTS}/as_of={result.as_of.isoformat()}"
    for path in paths:
        client.log_artifact(run_id, str(path), folder)
    client.set_model_version_tag(name, version, "monitoring_as_of", result.as_of.isoformat())
    client.set_model_version_tag(name, version, "monitoring_verdict", "alert" if result.alerted else "ok")
    return f"{mlflow.get_tracking_uri()} run {run_id}, {folder}/"
