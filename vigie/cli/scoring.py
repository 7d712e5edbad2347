"""A model at work: scoring a batch, and monitoring the batches it scored."""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path
from typing import Annotated, Literal

import typer

from features import french
from models import DEFAULT_MODEL_NAME
from models.paths import Paths
from vigie.cli.console import bold, console, parse_date, parse_share
from vigie.settings import get_settings


def score(
    data: Annotated[Path, typer.Option(help="Validated extract (outcomes not needed).")],
    as_of: Annotated[date, typer.Option(parser=parse_date, help="As-of date D (YYYY-MM-DD).")],
    out: Annotated[Path, typer.Option(help="Folder for the score file and its metadata.")],
    model: Annotated[str, typer.Option(help="Registry alias or version number.")] = "champion",
    model_name: Annotated[str, typer.Option(help="Registered model name.")] = DEFAULT_MODEL_NAME,
    high: Annotated[
        str | None, typer.Option(help="Share in the high tier, 15% or 0.15 (default: the model's operating point).")
    ] = None,
    medium: Annotated[
        str | None, typer.Option(help="Share in the medium tier, the next band (default: the model's).")
    ] = None,
    per_school: Annotated[
        bool | None, typer.Option(help="Tiers within each school, or overall (default: the model's).")
    ] = None,
    format: Annotated[Literal["parquet", "csv"], typer.Option("--format", help="Score file format.")] = "parquet",
) -> None:
    """Score every pupil enrolled on D: calibrated risk, capacity tier, reasons for high and medium tiers."""
    import pyarrow.parquet as pq

    from models.objections import read_objections
    from models.registry import load_registered, use_tracking_store
    from serving.batch import TierConfig, export_scores, score_to_history, top_of_batch

    settings = get_settings()
    objections = read_objections(settings.service.database(settings.data_dir))  # GDPR art. 21
    use_tracking_store(settings.data_dir)
    with console.status(f"Loading {model_name}@{model}..."):
        loaded = load_registered(model_name, model)
    point = loaded.operating_point.override(
        high=None if high is None else parse_share(high),
        medium=None if medium is None else parse_share(medium),
        scope=None if per_school is None else ("school" if per_school else "overall"),
    )
    tier_config = TierConfig.of(point)
    with console.status(f"Building features as of {as_of} and scoring..."):
        kept, summary = score_to_history(
            data,
            as_of,
            loaded,
            tier_config,
            work_dir=settings.data_dir,
            history=Paths(settings.data_dir).score_history,
            objections=objections,
        )
        path = export_scores(kept, summary, out, fmt=format)
    meta = summary.metadata()
    console.print(f"{meta.rows:,} pupils scored with {loaded.label}: {meta.tiers}. Written to {bold(path)}.")
    if summary.left_out:
        console.print(f"  {summary.left_out:,} left out: they objected (GDPR art. 21; 'vigie objection list').")
    console.print(f"  {point.describe_fr()}", markup=False, highlight=False)
    for row in top_of_batch(pq.read_table(kept, filters=[("tier", "=", "high")])):
        console.print(
            f"  {row['pupil_id']} {row['grade_level']} risque {100 * row['risk']:.0f} % — {'; '.join(row['texts'])}"
        )


#: ``vigie monitor``'s exit code when an alert fires (0: all rules hold, 2: bad input).
ALERT_EXIT = 3


def monitor(
    data: Annotated[Path, typer.Option(help="Validated extract (features and, for past batches, outcomes).")],
    as_of: Annotated[date, typer.Option(parser=parse_date, help="The score batch to check (YYYY-MM-DD).")],
    model: Annotated[
        str, typer.Option(help="The serving version: an alias, a version or a models:/ URI.")
    ] = "champion",
    model_name: Annotated[str, typer.Option(help="Registered model name.")] = DEFAULT_MODEL_NAME,
    config: Annotated[Path | None, typer.Option(help="Monitoring config (YAML).")] = Path("configs/monitoring.yaml"),
    fairness_config: Annotated[
        Path | None, typer.Option(help="Fairness config whose gate judges the known outcomes.")
    ] = Path("configs/fairness.yaml"),
    out: Annotated[Path | None, typer.Option(help="Report folder (default: DATA_DIR/monitoring/as_of=D).")] = None,
) -> None:
    """Drift of inputs and risk against the training snapshots (overall, per school, per audit
    group), performance once outcomes are known; exits 3 when an alert fires."""
    from fairness.config import load_fairness_config
    from models.judgements import read_judgements
    from models.objections import read_objections
    from models.registry import load_registered, parse_model_reference, training_record, use_tracking_store
    from monitoring import (  # Evidently loads with it: only for this command
        ScoredBatch,
        append_monitoring_history,
        load_monitoring_config,
        log_monitoring,
        monitor_extract,
        write_monitoring,
    )
    from serving.batch import history_dates, read_history_batch

    settings = get_settings()
    database = settings.service.database(settings.data_dir)
    objections = read_objections(database)  # GDPR art. 21: left out of every comparison
    monitoring_config = load_monitoring_config(config if config and config.exists() else None)
    review_config = load_fairness_config(fairness_config if fairness_config and fairness_config.exists() else None)
    name, reference = parse_model_reference(model, model_name)
    use_tracking_store(settings.data_dir)
    with console.status(f"Loading {name}@{reference}..."):
        loaded = load_registered(name, reference)
        record = training_record(loaded.run_id)
    layout = Paths(settings.data_dir)
    history = layout.score_history

    def batch_at(day: date) -> ScoredBatch:
        scores, inputs = read_history_batch(history, day, loaded.label)
        judged = read_judgements(database, loaded.label, day)  # AI Act art. 14: how often staff overrule
        return ScoredBatch(day, loaded.label, scores, inputs, objections, judged)

    current = batch_at(as_of)
    past = [batch_at(day) for day in history_dates(history, loaded.label) if day < as_of]
    layout.monitoring.mkdir(parents=True, exist_ok=True)
    with (
        console.status("Comparing with the training snapshots, checking known outcomes..."),
        tempfile.TemporaryDirectory(dir=layout.monitoring, prefix=".work-") as work,
    ):  # the rebuilt snapshots hold audit attributes: gone when the command ends
        result = monitor_extract(data, loaded, record, current, past, config=monitoring_config,
                                 fairness=review_config, work_dir=Path(work))  # fmt: skip
        folder = out or layout.monitoring_report(as_of)
        paths = write_monitoring(result, folder)
        append_monitoring_history(result, layout.monitoring)
        where = log_monitoring(result, paths, name, loaded.version)
    drift = result.drift
    # the verdict's channel (cron, Airflow, reviewers) speaks French, like its alerts
    console.print(
        f"{loaded.label}, lot du {french.day(as_of)} : {len(drift.drifted)} variables sur {len(drift.columns)} "
        f"ont dérivé, PSI du risque {french.number(drift.risk.score, 3)} ; {result.outcome_note}."
    )
    console.print(
        f"Rapport : {bold(folder / 'synthese.html')} (Evidently : evidently_drift.html/json) ; MLflow : {where}"
    )
    if result.disagreement is not None and result.disagreement.overall.judged:
        judged = result.disagreement.overall
        console.print(f"Avis des équipes : {judged.judged} avis, {judged.disagreed} désaccords avec le modèle.")
    if result.alerted:
        for alert in result.alerts:
            console.print(f"ALERTE [{alert.rule}] {alert.message}", markup=False, highlight=False)
        raise typer.Exit(code=ALERT_EXIT)
    console.print("Aucune alerte : verdict ok.")
