"""Does flagging help? ``vigie impact``: the regression discontinuity at the capacity cuts."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from models import DEFAULT_MODEL_NAME
from models.paths import Paths
from vigie.cli.console import bold, console, parse_date
from vigie.settings import get_settings


def impact(
    data: Annotated[Path, typer.Option(help="Validated extract, for the outcomes and the last day observed.")],
    from_: Annotated[date, typer.Option("--from", parser=parse_date, help="First batch date D1 (YYYY-MM-DD).")],
    to: Annotated[date, typer.Option("--to", parser=parse_date, help="Last batch date D2, inclusive.")],
    plan_window: Annotated[int, typer.Option(min=1, help="Days after a batch a plan counts for it.")] = 60,
    all_batches: Annotated[
        bool, typer.Option(help="Every batch of each pupil (default: the first of each school year).")
    ] = False,
    out: Annotated[Path | None, typer.Option(help="Report folder (default: DATA_DIR/impact).")] = None,
    model: Annotated[str, typer.Option(help="Registry alias or version number.")] = "champion",
) -> None:
    """Estimate, at the high and medium cuts, the jump in plans opened, in dropout and the effect of a plan
    (regression discontinuity, rdrobust), with checks and a verdict. Writes impact.json and a French report;
    logs the run to MLflow with the model version."""
    from features.ingest import ContractError, find_table, read_table
    from features.signals.build import observed_span
    from impact import Batch, Run, evaluate, horizon_closed, rd_sample
    from impact.report import log_to_mlflow, write_report
    from models.registry import load_registered, use_tracking_store
    from serving.api.access_log import migrated_engine
    from serving.api.plans import PlanStore
    from serving.batch import history_dates, history_file, read_batch_metadata, read_history_batch

    if to < from_:
        raise typer.BadParameter(f"--to {to} is before --from {from_}")
    settings = get_settings()
    use_tracking_store(settings.data_dir)
    loaded = load_registered(DEFAULT_MODEL_NAME, model)
    history = Paths(settings.data_dir).score_history
    outcomes_file = find_table(data, "outcomes")
    if outcomes_file is None:
        raise ContractError(f"{data}: table 'outcomes' missing; the evaluation measures dropout after the flags.")
    outcomes, _ = read_table(outcomes_file)
    _, known_until = observed_span(data)
    batches, open_horizon = [], []
    for day in history_dates(history, loaded.label):
        if not from_ <= day <= to:
            continue
        point = read_batch_metadata(history_file(history, day, loaded.label)).operating_point
        if not horizon_closed(day, point, known_until):
            open_horizon.append(day)
            continue
        scores, inputs = read_history_batch(history, day, loaded.label)
        batches.append(Batch(day, loaded.label, point, scores.assign(as_of=day), inputs.drop(columns="school_id")))
    if open_horizon:
        console.print(f"Left out, horizon not closed by {known_until}: {', '.join(map(str, open_horizon))}.")
    if not batches:
        raise ContractError(
            f"no batch of {loaded.label} between {from_} and {to} whose horizon has closed by {known_until} "
            f"(the extract's last day); score batches with 'vigie score' and evaluate them once outcomes are known."
        )
    store = PlanStore(migrated_engine(settings.service.database(settings.data_dir)))
    plans = [(row.pupil_id, row.start_date) for row in store.all_plans()]
    import pandas as pd

    sample = rd_sample(
        batches, pd.DataFrame(plans, columns=["pupil_id", "start_date"]), outcomes,
        plan_window_days=plan_window, all_batches=all_batches,
    )  # fmt: skip
    run = Run(loaded.label, batches[-1].point, from_, to, [b.as_of for b in batches], plan_window, all_batches)
    with console.status(f"Estimating on {len(sample):,} pupil-batches..."):
        result = evaluate(sample, run)
    files = write_report(result, sample, out or Paths(settings.data_dir).impact)
    run_id = log_to_mlflow(result, files)
    for e in result.estimates:
        shown = "withheld" if e.withheld else f"{e.estimate:+.3f} [{e.ci_low:+.3f}, {e.ci_high:+.3f}]"
        console.print(f"  {e.cut:6} {e.name:16} {shown}  (n {e.n_left:,} / {e.n_right:,})")
    console.print(f"Verdict : {result.verdict.text}", markup=False, highlight=False)
    console.print(f"Rapport : {bold(files[0])} (impact.json à côté ; MLflow run {run_id}).")
