"""The terminal summary of a training run (formatting only)."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text

from training.tracking import TrackedRun
from training.train import TrainingResult

SHOWN = (
    "roc_auc",
    "pr_auc",
    "precision_at_5pct",
    "precision_at_10pct",
    "recall_at_10pct",
    "precision_at_10pct_per_school",
    "precision_at_20pct",
    "brier",
    "ece",
)


def render_training(result: TrainingResult, tracked: TrackedRun) -> Group:
    table = Table(
        title=f"Test fold {', '.join(result.split.describe()['test'])} "
        f"({len(result.test):,} snapshots, {int(result.test['label'].sum())} dropouts)"
    )
    table.add_column("metric")
    for name in result.evaluations:
        table.add_column(name, justify="right")
    for metric in SHOWN:
        table.add_row(metric, *[f"{e.metrics[metric]:.4f}" for e in result.evaluations.values()])
    lead = result.evaluations["model"].lead_days
    lines: list[Table | Text] = [
        table,
        Text(f"Lead time (model, top 10%): median {lead.median():.0f} days over {len(lead)} dropouts flagged early."),
        Text(f"Split: {result.split.describe()}"),
        Text(f"MLflow run {tracked.run_id} at {tracked.tracking_uri}; registered version {tracked.version}."),
    ]
    if result.versus_logistic:
        gaps = "; ".join(
            f"{k} {g.value:+.4f} [{g.lower:+.4f}, {g.upper:+.4f}]" for k, g in result.versus_logistic.items()
        )
        lines.insert(2, Text(f"Model minus logistic (95% paired bootstrap by pupil): {gaps}"))
    for check in tracked.gate.checks:
        mark = "ok" if check.passed else ("n/a" if check.passed is None else "FAIL")
        lines.append(Text(f"  gate [{mark}] {check.label}: {check.detail}"))
    verdict = "promoted to @champion" if tracked.gate.promoted else "champion unchanged"
    lines.append(Text(f"Gate: {verdict}. Model card: {tracked.card[0]}"))
    if tracked.fairness_report is not None:
        lines.append(Text(f"Fairness report: {tracked.fairness_report}"))
    return Group(*lines)
