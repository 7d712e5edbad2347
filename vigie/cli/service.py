"""The service school staff use, and its records: sign-in tokens, the server, the access log,
follow-up plans and their yearly report."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from models import DEFAULT_MODEL_NAME
from models.paths import Paths
from serving.api import Role, issue_token
from vigie.cli.console import bold, console, parse_date, parse_ttl
from vigie.settings import VigieSettings, get_settings

if TYPE_CHECKING:  # the packages load with the command that needs them: 'vigie --help' stays quick
    from serving.api.access_log import AccessLog
    from serving.api.plans import PlanStore


def token(
    role: Annotated[
        Role, typer.Option(help="staff, reviewer, data_scientist, admin or dpo (data protection officer).")
    ],
    school: Annotated[
        list[str] | None, typer.Option(help="UAI of a school the staff member works in (repeat).")
    ] = None,
    subject: Annotated[str, typer.Option(help="Who the token is for (kept in the access log).")] = "demo",
    ttl: Annotated[timedelta, typer.Option(parser=parse_ttl, help="Lifetime: 8h, 30m, 2d.")] = "8h",  # type: ignore[assignment]
) -> None:
    """Issue an embedded sign-in token for the service (the token alone on stdout)."""
    from features.ingest import UAI_PATTERN

    schools = school or []
    if role is Role.STAFF and not schools:
        raise typer.BadParameter("a staff token needs --school UAI (one or more)")
    bad = [s for s in schools if not re.fullmatch(UAI_PATTERN, s)]
    if bad:
        raise typer.BadParameter(f"not a UAI (7 digits and a key letter): {', '.join(bad)}")
    settings = get_settings()
    try:
        issued = issue_token(settings.service, subject=subject, role=role, schools=schools, ttl=ttl)
    except ValueError as error:  # longer than service.embedded_token_max_hours, or no secret
        raise typer.BadParameter(str(error)) from None
    typer.echo(issued)


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on (loopback by default).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    reload_interval: Annotated[
        float | None, typer.Option(help="Pick up a new champion or batch every N seconds.")
    ] = None,
) -> None:
    """Serve risk scores with reasons to school staff (FastAPI on uvicorn)."""
    import uvicorn

    from models.registry import use_tracking_store
    from serving.app import create_app, tune_interpreter

    settings = get_settings()
    service = settings.service
    if reload_interval is not None:
        service = service.model_copy(update={"reload_interval_seconds": reload_interval})
    use_tracking_store(settings.data_dir)
    tune_interpreter()
    api = create_app(service, settings.data_dir, stagger=settings.stagger)
    console.print(f"Serving on http://{host}:{port} (API under /api/v1, documentation at /docs).")
    # uvicorn's access log prints raw paths, which hold pseudonyms: the service logs route templates instead
    uvicorn.run(api, host=host, port=port, access_log=False, log_level="warning")


access_app = typer.Typer(help="The service's access log: export for the data protection officer, purge.")


def _access_log() -> tuple[AccessLog, int]:
    from serving.api.access_log import AccessLog, migrated_engine

    settings = get_settings()
    engine = migrated_engine(settings.service.database(settings.data_dir))
    return AccessLog(engine), settings.service.access_log_retention_days


@access_app.command("export")
def access_log_export(
    start: Annotated[date, typer.Option("--from", parser=parse_date, help="First day (UTC), included.")],
    end: Annotated[date, typer.Option("--to", parser=parse_date, help="Last day (UTC), included.")],
    format: Annotated[Literal["csv", "json"], typer.Option("--format", help="Output format.")] = "csv",
) -> None:
    """Print the entries of a period (who, which pupil or school, which endpoint, when, result)."""
    log_, _ = _access_log()
    begin = datetime.combine(start, datetime.min.time(), UTC)
    typer.echo(
        log_.export(begin, datetime.combine(end, datetime.min.time(), UTC) + timedelta(days=1), format), nl=False
    )


@access_app.command("purge")
def access_log_purge() -> None:
    """Delete the entries older than the retention setting (service.access_log_retention_days)."""
    log_, days = _access_log()
    console.print(f"{log_.purge(days):,} entries older than {days} days deleted.")


followup_app = typer.Typer(help="Follow-up plans (GPDS): purge what is past retention.")


def _plan_store() -> tuple[PlanStore, VigieSettings]:
    from serving.api.access_log import migrated_engine
    from serving.api.plans import PlanStore

    settings = get_settings()
    return PlanStore(migrated_engine(settings.service.database(settings.data_dir))), settings


@followup_app.command("purge")
def followup_purge() -> None:
    """Delete the closed plans past retention (service.followup_retention_school_years after the
    school year they were closed in)."""
    store, settings = _plan_store()
    years = settings.service.followup_retention_school_years
    deleted = store.purge(years, settings.today())
    console.print(f"{deleted:,} closed {'plan' if deleted == 1 else 'plans'} past retention deleted.")


@followup_app.command("seed-demo")
def followup_seed_demo(
    school: Annotated[str, typer.Option(help="UAI of the demo school.")],
    model: Annotated[str, typer.Option(help="The version whose newest batch is served.")] = "champion",
) -> None:
    """Demo data only: a few plans (open, in progress, overdue, closed) on the school's highest risks."""
    from models.registry import load_registered, parse_model_reference, use_tracking_store
    from serving.demo import seed_demo_plans

    store, settings = _plan_store()
    use_tracking_store(settings.data_dir)
    loaded = load_registered(*parse_model_reference(model, DEFAULT_MODEL_NAME))
    count = seed_demo_plans(store, Paths(settings.data_dir).score_history, loaded.label, school)
    console.print(f"{count} demo follow-up plans written for school {school}.")


def followup_report_command(
    year: Annotated[str, typer.Option(help="School year, e.g. 2024-2025.")],
    data: Annotated[Path, typer.Option(help="Validated extract, for the outcomes.")],
    out: Annotated[Path | None, typer.Option(help="Report folder (default: DATA_DIR/followup).")] = None,
) -> None:
    """What followed the flags of a school year, per school: plans, delays, kinds, dropout with and
    without a plan (descriptive, not causal; cells under 10 pupils withheld). French HTML + JSON."""
    from features.ingest import ContractError, find_table, read_table
    from models.objections import read_objections
    from serving.followup_report import followup_report, summary_lines, write_followup_report

    store, settings = _plan_store()
    outcomes_file = find_table(data, "outcomes")
    if outcomes_file is None:
        raise ContractError(f"{data}: table 'outcomes' missing; the report compares dropout with and without a plan.")
    outcomes, _ = read_table(outcomes_file)
    objections = read_objections(settings.service.database(settings.data_dir))  # GDPR art. 21
    report = followup_report(year, Paths(settings.data_dir).score_history, store, outcomes, objections)
    paths = write_followup_report(report, out or Paths(settings.data_dir).followup)
    for line in summary_lines(report):
        console.print(line, markup=False, highlight=False)
    console.print(f"Rapport : {bold(paths[0])} (JSON à côté).")
