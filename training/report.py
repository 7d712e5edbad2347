"""The terminal summary of a training run (formatting only)."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text

from models.metrics import reported_metrics
from training.tracking import TrackedRun
from training.train import TrainingResult


def render_training(result: TrainingResult, tracked: TrackedRun, capacities: list[float]) -> Group:
    """``capacities``: the training config's, reported beside the operating point's high share."""
    table = Table(
        title=f"Test fold {', '.join(result.split.describe()['test'])} "
        f"({len(result.test):,} snapshots, {int(result.test['label'].sum())} dropouts)"
    )
    table.add_column("metric")
    for name in result.evaluations:
        table.add_column(name, justify="right")
    for metric in reported_metrics(capacities, result.operating_point.high):
        table.add_row(metric, *[f"{e.metrics[metric]:.4f}" for e in result.evaluations.values()])
    lead = result.evaluations["model"].lead_days
    lines: list[Table | Text] = [
        table,
        Text(
            f"Lead time (model, top {result.operating_point.high:.0%}): median {lead.median():.0f} days "
            f"over {len(lead)} dropouts flagged early."
        ),
        Text(f"Split: {result.split.describe()}"),
        Text(f"MLflow run {tracked.run_id} at {tracked.tracking_uri}; registered version {tracked.version}."),
    ]
    if result.versus_logistic:
        gaps = "; ".join(
            f"{k} {g.value:+.4f} [{g.lower:+.4f}, {g.upper:+.4f}]" for k, g in result.versus_logistic.items()
        )
        lines.insert(2, Text(f"Model minus logistic (95% paired bootstrap by pupil): {gaps}"))
    if result.versus_environment:
        gaps = "; ".join(
            f"{k} {g.value:+.4f} [{g.lower:+.4f}, {g.upper:+.4f}]" for k, g in result.versus_environment.items()
        )
        lines.insert(2, Text(f"Model minus environment-only baseline (95% paired bootstrap by pupil): {gaps}"))
    for check in tracked.gate.checks:
        mark = "ok" if check.passed else ("n/a" if check.passed is None else "FAIL")
        lines.append(Text(f"  gate [{mark}] {check.label}: {check.detail}"))
    verdict = "promoted to @champion" if tracked.gate.promoted else "champion unchanged"
    lines.append(Text(f"Gate: {verdict}. Model card: {tracked.card[0]}"))
    if tracked.fairness_report is not None:
        lines.append(Text(f"Fairness report: {tracked.fairness_report}"))
    return Group(*lines)
