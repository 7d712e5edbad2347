"""Does flagging help? ``vigie impact``: the regression discontinuity at the capacity cuts."""

from __future__ import annotations

from datetime import date
from functools import partial
from pathlib import Path
from typing import Annotated, Literal

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
    design: Annotated[
        Literal["cut", "stagger"],
        typer.Option(
            help="cut: the RD at the capacity cuts; stagger: started against not-yet-started schools "
            "under the staggered start's stored draw (default out: DATA_DIR/impact/stagger)."
        ),
    ] = "cut",
) -> None:
    """Estimate, at the high and medium cuts, the jump in plans opened, in dropout and the effect of a plan
    (regression discontinuity, rdrobust), with checks and a verdict; or, with --design stagger, dropout in
    schools that had started against those not yet started. Writes impact.json and a French report; logs
    the run to MLflow with the model version."""
    import pandas as pd

    from features.ingest import ContractError, find_table, read_table
    from features.signals import observed_span
    from impact import Batch, Run, evaluate, horizon_closed, rd_sample
    from impact.report import log_to_mlflow, summary_lines, write_report
    from models.objections import read_objections
    from models.registry import load_registered, use_tracking_store
    from serving.api.access_log import migrated_engine
    from serving.api.plans import PlanStore
    from serving.batch import read_history_batches

    if to < from_:
        raise typer.BadParameter(f"--to {to} is before --from {from_}")
    if design == "stagger" and all_batches:
        raise typer.BadParameter("--design stagger compares each pupil once a school year: drop --all-batches")
    settings = get_settings()
    draw = None
    if design == "stagger":
        from models.stagger import find_draw

        draw = find_draw(Paths(settings.data_dir).stagger, settings.stagger.first_year)
        if draw is None:
            raise typer.BadParameter(
                f"no staggered-start draw stored under {Paths(settings.data_dir).stagger}: 'vigie stagger draw' first"
            )
    use_tracking_store(settings.data_dir)
    loaded = load_registered(DEFAULT_MODEL_NAME, model)
    outcomes_file = find_table(data, "outcomes")
    if outcomes_file is None:
        raise ContractError(f"{data}: table 'outcomes' missing; the evaluation measures dropout after the flags.")
    outcomes, _ = read_table(outcomes_file)
    _, known_until = observed_span(data)
    history = Paths(settings.data_dir).score_history
    closed = partial(horizon_closed, known_until=known_until)
    kept, still_open = read_history_batches(history, loaded.label, from_, to, keep=closed)
    if still_open:
        console.print(f"Left out, horizon not closed by {known_until}: {', '.join(map(str, still_open))}.")
    if not kept:
        raise ContractError(
            f"no batch of {loaded.label} between {from_} and {to} whose horizon has closed by {known_until} "
            "(the extract's last day); evaluate the batches 'vigie score' kept once their outcomes are known."
        )
    batches = [Batch(k.as_of, k.model_version, k.point, k.scores, k.inputs) for k in kept]
    store = PlanStore(migrated_engine(settings.service.database(settings.data_dir)))
    plans = pd.DataFrame([(p.pupil_id, p.start_date) for p in store.all_plans()], columns=["pupil_id", "start_date"])
    objections = read_objections(settings.service.database(settings.data_dir))  # GDPR art. 21
    sample = rd_sample(
        batches, plans, outcomes, plan_window_days=plan_window, all_batches=all_batches, objections=objections
    )
    run = Run(loaded.label, batches[-1].point, from_, to, [b.as_of for b in batches], plan_window, all_batches)
    with console.status(f"Estimating on {len(sample):,} pupil-batches..."):
        if draw is None:
            result = evaluate(sample, run)
        else:
            from impact.stagger import evaluate_stagger

            try:
                result = evaluate_stagger(sample, draw, run)
            except ValueError as error:
                raise ContractError(str(error)) from None
    default_out = Paths(settings.data_dir).impact / ("stagger" if draw is not None else "")
    files = write_report(result, sample, out or default_out)
    run_id = log_to_mlflow(result, files)
    for line in summary_lines(result):
        console.print(line, markup=False, highlight=False)
    console.print(f"Rapport : {bold(files[0])} (impact.json à côté ; MLflow run {run_id}).")
