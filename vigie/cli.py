"""The ``vigie`` command line: parse, call the packages, format. No logic lives here.

Each command imports the packages it needs when it runs, so that ``vigie --help`` (and a
bad flag) answer at once instead of after loading MLflow, LightGBM and Evidently.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
import traceback
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from typer.core import TyperGroup

from features import french
from models import DEFAULT_MODEL_NAME
from models.paths import Paths
from serving.api import Role, issue_token
from vigie.settings import VigieSettings, get_settings

if TYPE_CHECKING:  # the packages load with the command that needs them: 'vigie --help' stays quick
    from serving.api.access_log import AccessLog
    from serving.api.plans import PlanStore

console = Console(stderr=True, soft_wrap=True)
log = logging.getLogger("vigie")
#: The loggers of our own code (each module logs under its package's name).
OUR_PACKAGES = ("vigie", "features", "models", "training", "serving", "fairness", "monitoring")
#: Exit codes: 0 done; 1 ``--strict`` found something; 2 bad input (named); 70 an unexpected failure.
EXIT_BAD_INPUT = 2
EXIT_SOFTWARE = 70


def expected_failures() -> tuple[type[BaseException], ...]:
    """Failures a user can fix from the message alone: bad files, settings, dates, a model not
    found. (Imported when a command fails: by then its packages are loaded.)"""
    from mlflow.exceptions import MlflowException

    from training.splits import SplitError

    return ValueError, SplitError, MlflowException, FileNotFoundError, PermissionError, NotADirectoryError


class _NoTracebacks(TyperGroup):
    """Every command's failures end in one clear line, never a traceback on the user's screen.

    An expected failure prints its message and exits 2; an unexpected one prints a short
    message naming the log file, where the traceback is kept, and exits 70.
    """

    def invoke(self, ctx: Any) -> Any:  # Typer's vendored click Context
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, typer.TyperException):  # exits and usage errors: Typer's own
            raise
        except Exception as error:
            if isinstance(error, expected_failures()):
                console.print(f"[bold red]error:[/] {escape(_said(error))}", markup=True, highlight=False)
                _record(error, expected=True)
                raise typer.Exit(code=EXIT_BAD_INPUT) from None
            where = _record(error, expected=False)
            console.print(
                f"[bold red]unexpected error[/] ({type(error).__name__}); this is a fault of Vigie, not of your "
                f"data. Details are in {_bold(where)}: please attach that file when you report it."
            )
            raise typer.Exit(code=EXIT_SOFTWARE) from None


def _bold(value: object) -> str:
    """A path or name in bold, printed verbatim (a bracket in it is not terminal markup)."""
    return f"[bold]{escape(str(value))}[/]"


def _said(error: BaseException) -> str:
    """The message a user reads: a missing file as ``path: no such file or directory``."""
    if isinstance(error, OSError) and error.filename is not None and error.strerror:
        return f"{error.filename}: {error.strerror[0].lower()}{error.strerror[1:]}"
    return str(error)


def _record(error: BaseException, *, expected: bool) -> Path:
    """Append the failure (with its traceback when unexpected) to the data folder's log file."""
    path = Paths(get_settings().data_dir).log_file
    path.parent.mkdir(parents=True, exist_ok=True)
    detail = str(error) if expected else "".join(traceback.format_exception(error))
    with path.open("a", encoding="utf-8") as handle:
        handle.write(f"{datetime.now(UTC).isoformat()} {'error' if expected else 'unexpected'}: {detail}\n")
    return path


app = typer.Typer(
    name="vigie",
    help="Vigie: early warning of school dropout (décrochage scolaire).",
    no_args_is_help=True,
    add_completion=False,
    cls=_NoTracebacks,
    pretty_exceptions_enable=False,
)


@app.callback()
def _main(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log more detail.")] = False) -> None:
    level = logging.DEBUG if verbose else get_settings().log_level
    handler = RichHandler(console=console, show_path=False, log_time_format="[%Y-%m-%d %H:%M:%S]")  # not the locale's
    # Our packages speak at the configured level; libraries (Alembic, MLflow...) only of their
    # warnings, unless --verbose asks for everything.
    logging.basicConfig(level=level if verbose else logging.WARNING, format="%(message)s", handlers=[handler])
    for package in OUR_PACKAGES:
        logging.getLogger(package).setLevel(level)
    # MLflow installs its own handler at INFO when imported (every command imports it after this
    # runs); its variable, unless the user set it, says the same as for the other libraries.
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "DEBUG" if verbose else "WARNING")


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


def _parse_years(years: str) -> tuple[int, int]:
    first, _, last = years.partition("-")
    try:
        return int(first), int(last or first)
    except ValueError:
        raise typer.BadParameter(f"expected YEAR or FIRST-LAST (e.g. 2019-2024), got {years!r}") from None


def _parse_date(text: str) -> date:
    """``YYYY-MM-DD``, as the contract writes dates."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"expected a date YYYY-MM-DD, got {text!r}") from None


def _parse_share(text: str) -> float:
    """``10%`` or ``0.1``."""
    try:
        return float(text.removesuffix("%")) / 100 if text.endswith("%") else float(text)
    except ValueError:
        raise typer.BadParameter(f"expected a share such as 10% or 0.1, got {text!r}") from None


@app.command()
def synth(
    out: Annotated[Path, typer.Option(help="Folder of the raw extract to write.")],
    pupils: Annotated[int, typer.Option(help="Number of distinct pupils.")] = 20_000,
    seed: Annotated[int, typer.Option(help="Random seed: same seed, same extract.")] = 0,
    years: Annotated[str, typer.Option(help="School years FIRST-LAST, named by their start year.")] = "2019-2024",
    format: Annotated[Literal["csv", "parquet"], typer.Option("--format", help="Table format.")] = "csv",
    inject_errors: Annotated[int, typer.Option(help="Rule-breaking rows to append (to exercise validation).")] = 0,
    recording_bias: Annotated[
        float, typer.Option(help="Unjustified absences of one group recorded this many times more strictly.")
    ] = 1.0,
    recording_bias_group: Annotated[
        Literal["rep_plus", "scholarship"], typer.Option(help="The group whose absences are over-recorded.")
    ] = "rep_plus",
    recording_bias_from: Annotated[
        int | None, typer.Option(help="First school year of that bias (default: every year).")
    ] = None,
    grades_per_subject: Annotated[
        float, typer.Option(help="Marked assessments per subject and year (25: 175-200 grades a pupil-year).")
    ] = 25.0,
    extract_date: Annotated[
        date | None,
        typer.Option(parser=_parse_date, help="Day the extract is taken: nothing later is written (YYYY-MM-DD)."),
    ] = None,
    partitions: Annotated[
        int, typer.Option(help="Write a national extract: this many départements, one folder each (1: one extract).")
    ] = 1,
    jobs: Annotated[int, typer.Option(help="Worker processes for the partitions.")] = 1,
) -> None:
    """Write a synthetic RAW extract (with ine, names, birth dates) following the contract."""
    from features.school import DEFAULT_HORIZON_DAYS
    from features.synthetic import SynthConfig, synthesise, synthesise_partitioned

    first, last = _parse_years(years)
    config = SynthConfig(
        pupils,
        seed,
        first,
        last,
        format,
        inject_errors,
        recording_bias=recording_bias,
        recording_bias_group=recording_bias_group,
        recording_bias_from=recording_bias_from,
        grades_per_subject=grades_per_subject,
        extract_date=extract_date,
    )
    if partitions > 1:
        with _progress() as progress:
            task = progress.add_task("Simulating départements", total=partitions)
            national = synthesise_partitioned(
                config, out, partitions, jobs=jobs, on_partition=lambda _name: progress.advance(task)
            )
        console.print(
            f"National raw extract written to {_bold(out)} in {national.seconds:.1f} s: {len(national.partitions)} "
            f"partitions (départements), {national.pupils:,} pupils, {national.schools:,} schools."
        )
        for table, rows in sorted(national.rows.items()):
            console.print(f"  {table}: {rows:,} rows")
        return
    with _progress() as progress:
        task = progress.add_task("Simulating school years", total=last - first + 1)
        summary = synthesise(config, out, on_year=lambda _year: progress.advance(task))
    console.print(
        f"Raw extract written to {_bold(out)} in {summary.seconds:.1f} s: "
        f"{summary.pupils} pupils, {summary.schools} schools."
    )
    for table, rows in sorted(summary.rows.items()):
        console.print(f"  {table}: {rows:,} rows")
    rates = ", ".join(f"{y}: {r:.2%}" for y, r in summary.positive_rate.items())
    console.print(f"  dropout within {DEFAULT_HORIZON_DAYS} days of 15 December: {rates or 'no closed horizon'}")


@app.command()
def keygen(path: Annotated[Path, typer.Argument(help="Key file to create (refuses to overwrite).")]) -> None:
    """Write a new secret pseudonymisation key (permissions 600). Keep it away from the data."""
    from features.ingest import generate_key

    generate_key(path)
    console.print(f"New key written to {_bold(path)} (mode 600). Store it apart from every extract.")


@app.command()
def pseudonymise(
    raw_dir: Annotated[Path, typer.Argument(help="Raw extract (tables with ine).")],
    out_dir: Annotated[Path, typer.Argument(help="Where to write the pseudonymised extract.")],
    key_file: Annotated[Path, typer.Option(help="Secret key file made by 'vigie keygen'.")],
    names_out: Annotated[
        Path | None,
        typer.Option(
            help="Also write, per school, its correspondence file (pupil_id, ine, names) here, for that "
            "school only: staff load it in their browser to see names. Never inside OUT_DIR."
        ),
    ] = None,
    jobs: Annotated[int, typer.Option(help="Worker processes, for a partitioned extract.")] = 1,
) -> None:
    """Replace ine by the contract's pupil_id, drop names, cut birth dates to the month.

    A partitioned (national) extract is pseudonymised one partition at a time."""
    from features.ingest import find_partitions, pseudonymise_extract

    parts = len(find_partitions(raw_dir))
    with _progress() as progress:
        task = progress.add_task("Pseudonymising " + ("partitions" if parts else "tables"), total=parts or 7)
        report = pseudonymise_extract(
            raw_dir,
            out_dir,
            key_file=key_file,
            names_dir=names_out,
            on_table=lambda _name: progress.advance(task),
            jobs=jobs,
        )
    for table, counts in report.tables.items():
        console.print(
            f"  {table}: {counts['rows_read']:,} read = {counts['rows_written']:,} written "
            f"+ {counts['rows_quarantined']:,} quarantined"
        )
    console.print(f"Pseudonymised extract written to {_bold(out_dir)}.")
    if names_out is not None:
        console.print(
            f"Correspondence files for {len(report.correspondence):,} schools in {_bold(names_out)} "
            "(names: send each school its own file only)."
        )


@app.command()
def validate(
    extract_dir: Annotated[Path, typer.Argument(help="Pseudonymised extract to check.")],
    out: Annotated[
        Path | None,
        typer.Option(help="Where to write kept tables, quarantine and report (default: EXTRACT_DIR.validated)."),
    ] = None,
    require_outcomes: Annotated[bool, typer.Option(help="Treat a missing outcomes table as an error.")] = True,
    strict: Annotated[bool, typer.Option(help="Exit with 1 when any row is quarantined.")] = False,
    json_report: Annotated[bool, typer.Option("--json", help="Print the JSON report on stdout.")] = False,
    jobs: Annotated[int, typer.Option(help="Worker processes, for a partitioned extract.")] = 1,
    memory_limit: Annotated[
        str | None, typer.Option(help="DuckDB memory per worker, e.g. 1GB; spills past it (default: settings).")
    ] = None,
) -> None:
    """Check an extract against the data contract; quarantine bad rows with their reasons.

    The rules run inside DuckDB within a memory limit; a partitioned (national) extract is
    validated one partition at a time."""
    from features.ingest import EngineLimits, find_partitions, render_report, validate_to_folder

    settings = get_settings()
    limits = EngineLimits(memory_limit or settings.validate_memory_limit, settings.validate_temp_dir)
    out_dir = out or extract_dir.with_name(extract_dir.name + ".validated")
    parts = len(find_partitions(extract_dir))
    with _progress() as progress:
        task = progress.add_task("Validating " + ("partitions" if parts else "tables"), total=parts or 7)
        report = validate_to_folder(
            extract_dir,
            out_dir,
            reference_date=settings.today(),
            require_outcomes=require_outcomes,
            jobs=jobs,
            on_part=lambda _name: progress.advance(task),
            limits=limits,
        )
    if json_report:
        typer.echo(report.to_json())
    else:
        console.print(render_report(report), markup=False, highlight=False)
    console.print(f"Kept tables, quarantine and report written to {_bold(out_dir)}.")
    if strict and report.rows_quarantined:
        raise typer.Exit(code=1)


@app.command()
def train(
    data: Annotated[Path, typer.Option(help="Feature folder ('vigie features') or validated extract.")],
    config: Annotated[Path | None, typer.Option(help="Experiment config (YAML, versioned).")] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed (overrides the config).")] = None,
    trials: Annotated[int | None, typer.Option(help="Optuna trials for the hyperparameter search.")] = None,
    timeout: Annotated[float | None, typer.Option(help="Time budget of the search, seconds.")] = None,
    register: Annotated[bool, typer.Option(help="Register the model and apply the promotion gate.")] = True,
    fairness: Annotated[bool, typer.Option(help="Audit fairness on the test fold (the gate may require it).")] = True,
    fairness_config: Annotated[Path | None, typer.Option(help="Fairness audit config (YAML).")] = None,
) -> None:
    """Train on temporal folds, compare with the baselines, track in MLflow, gate the champion alias."""
    from fairness.config import load_fairness_config
    from fairness.review import fold_audit_check
    from training.config import load_train_config
    from training.report import render_training
    from training.tracking import log_training
    from training.train import load_feature_set
    from training.train import train as run_training

    overrides = {"seed": seed, "tuning.trials": trials, "tuning.timeout_seconds": timeout}
    train_config = load_train_config(config, {k: v for k, v in overrides.items() if v is not None})
    audit_config = load_fairness_config(fairness_config) if fairness else None
    settings = get_settings()
    with console.status("Loading features..."):
        feature_set = load_feature_set(data, train_config, settings.data_dir)
    with console.status("Training the model and the baselines on temporal folds..."):
        result = run_training(feature_set, train_config)
    check = None
    if audit_config is not None:
        check = fold_audit_check(
            feature_set.folder,
            audit_config,
            data_hash=feature_set.metadata.input_hash,
            synthetic=train_config.synthetic_data,
        )
    with console.status("Auditing fairness on the test fold, logging to MLflow..."):
        tracked = log_training(
            result, feature_set, train_config, data_dir=settings.data_dir, register=register, fairness=check
        )
    console.print(render_training(result, tracked, train_config.capacities))


@app.command()
def score(
    data: Annotated[Path, typer.Option(help="Validated extract (outcomes not needed).")],
    as_of: Annotated[date, typer.Option(parser=_parse_date, help="As-of date D (YYYY-MM-DD).")],
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

    from models.registry import load_registered, use_tracking_store
    from serving.batch import TierConfig, export_scores, score_to_history, top_of_batch

    settings = get_settings()
    use_tracking_store(settings.data_dir)
    with console.status(f"Loading {model_name}@{model}..."):
        loaded = load_registered(model_name, model)
    point = loaded.operating_point.override(
        high=None if high is None else _parse_share(high),
        medium=None if medium is None else _parse_share(medium),
        scope=None if per_school is None else ("school" if per_school else "overall"),
    )
    tier_config = TierConfig.of(point)
    with console.status(f"Building features as of {as_of} and scoring..."):
        kept, summary = score_to_history(
            data, as_of, loaded, tier_config, work_dir=settings.data_dir, history=Paths(settings.data_dir).score_history
        )
        path = export_scores(kept, summary, out, fmt=format)
    meta = summary.metadata()
    console.print(f"{meta.rows:,} pupils scored with {loaded.label}: {meta.tiers}. Written to {_bold(path)}.")
    console.print(f"  {point.describe_fr()}", markup=False, highlight=False)
    for row in top_of_batch(pq.read_table(kept, filters=[("tier", "=", "high")])):
        console.print(
            f"  {row['pupil_id']} {row['grade_level']} risque {100 * row['risk']:.0f} % — {'; '.join(row['texts'])}"
        )


@app.command()
def audit(
    data: Annotated[Path, typer.Option(help="Validated extract with outcomes up to D + horizon.")],
    as_of: Annotated[
        date, typer.Option(parser=_parse_date, help="As-of date D (YYYY-MM-DD); its horizon must have closed.")
    ],
    model: Annotated[
        str, typer.Option(help="models:/NAME@ALIAS, models:/NAME/VERSION, or an alias or version.")
    ] = "champion",
    model_name: Annotated[
        str, typer.Option(help="Registered model name (when --model is not a URI).")
    ] = DEFAULT_MODEL_NAME,
    capacity: Annotated[
        str | None, typer.Option(help="Share of pupils flagged, 15% or 0.15 (default: the model's operating point).")
    ] = None,
    config: Annotated[Path | None, typer.Option(help="Fairness audit config (YAML).")] = None,
    out: Annotated[
        Path | None, typer.Option(help="Report folder (default: DATA_DIR/fairness/NAME-vVERSION-D).")
    ] = None,
    synthetic_data: Annotated[bool, typer.Option(help="Say on the report that the data are synthetic.")] = False,
    strict: Annotated[bool, typer.Option(help="Exit with 1 when the fairness gate fails.")] = False,
) -> None:
    """Fairness audit of a registered model at D: groups, intervals, mitigation, a French report in MLflow."""
    from fairness.config import load_fairness_config
    from fairness.review import audit_extract, log_review
    from models.registry import load_registered, parse_model_reference, use_tracking_store

    settings = get_settings()
    share = None if capacity is None else _parse_share(capacity)
    audit_config = load_fairness_config(config, {"capacity": share} if share is not None else None)
    name, reference = parse_model_reference(model, model_name)
    use_tracking_store(settings.data_dir)
    with console.status(f"Loading {name}@{reference}..."):
        loaded = load_registered(name, reference)
    with console.status(f"Building features as of {as_of}, scoring, auditing..."):
        review = audit_extract(data, as_of, loaded, audit_config, work_dir=settings.data_dir, synthetic=synthetic_data)
        folder = out or Paths(settings.data_dir).fairness_report(name, loaded.version, as_of)
        paths = review.write(folder)
        where = log_review(paths, review, name, loaded.version)
    for line in review.summary_lines():
        console.print(f"  {line}", markup=False, highlight=False)
    console.print(f"Fairness report: {_bold(paths[0])} (JSON beside it); logged to MLflow: {where}")
    if strict and not review.passed:
        raise typer.Exit(code=1)


#: ``vigie monitor``'s exit code when an alert fires (0: all rules hold, 2: bad input).
ALERT_EXIT = 3


@app.command()
def monitor(
    data: Annotated[Path, typer.Option(help="Validated extract (features and, for past batches, outcomes).")],
    as_of: Annotated[date, typer.Option(parser=_parse_date, help="The score batch to check (YYYY-MM-DD).")],
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
        return ScoredBatch(day, loaded.label, scores, inputs)

    current = batch_at(as_of)
    past = [batch_at(day) for day in history_dates(history, loaded.label) if day < as_of]
    layout.monitoring.mkdir(parents=True, exist_ok=True)
    with (
        console.status("Comparing with the training snapshots, checking known outcomes..."),
        tempfile.TemporaryDirectory(dir=layout.monitoring, prefix=".work-") as work,
    ):  # the rebuilt snapshots hold audit attributes: gone when the command ends
        result = monitor_extract(data, loaded, record, current, past, monitoring_config, review_config,
                                 work_dir=Path(work))  # fmt: skip
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
        f"Rapport : {_bold(folder / 'synthese.html')} (Evidently : evidently_drift.html/json) ; MLflow : {where}"
    )
    if result.alerted:
        for alert in result.alerts:
            console.print(f"ALERTE [{alert.rule}] {alert.message}", markup=False, highlight=False)
        raise typer.Exit(code=ALERT_EXIT)
    console.print("Aucune alerte : verdict ok.")


@app.command()
def features(
    data: Annotated[Path, typer.Option(help="Validated extract (the output of 'vigie validate').")],
    out: Annotated[Path, typer.Option(help="Folder for features.parquet, audit.parquet and metadata.json.")],
    as_of: Annotated[str | None, typer.Option(help="As-of dates, comma-separated (YYYY-MM-DD,...).")] = None,
    config: Annotated[Path | None, typer.Option(help="YAML feature config (as_of or schedule, horizon...).")] = None,
    engine: Annotated[Literal["duckdb", "spark"] | None, typer.Option(help="duckdb (embedded) or spark.")] = None,
    spark_master: Annotated[str | None, typer.Option(help="Spark master URL, e.g. local[*].")] = None,
    horizon_days: Annotated[int | None, typer.Option(help="Label horizon H in days.")] = None,
) -> None:
    """Build per-pupil signals at each as-of date, with labels where the horizon has closed."""
    from features.signals import build_features, load_feature_config

    overrides: dict[str, object] = {"engine": engine, "spark_master": spark_master, "horizon_days": horizon_days}
    if as_of:
        overrides["as_of"] = [_parse_date(d.strip()) for d in as_of.split(",") if d.strip()]
        overrides["schedule"] = None
    feature_config = load_feature_config(config, {k: v for k, v in overrides.items() if v is not None})
    with console.status(f"Building features on {feature_config.engine}..."):
        output = build_features(data, out, feature_config)
    console.print(
        f"{output.rows:,} snapshots at {len(output.as_of)} as-of dates in {output.seconds:.1f} s "
        f"({feature_config.engine}), written to {_bold(out)}."
    )
    for day, counts in output.metadata.per_as_of.items():
        console.print(f"  {day}: {counts.rows:,} pupils, {counts.labelled:,} labelled, {counts.positives:,} positive")


def _ttl(text: str) -> timedelta:
    """``8h``, ``30m``, ``2d`` or seconds."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    try:
        return timedelta(seconds=float(text[:-1]) * units[text[-1]] if text[-1] in units else float(text))
    except (ValueError, IndexError):
        raise typer.BadParameter(f"expected a duration such as 8h, 30m or 2d, got {text!r}") from None


@app.command()
def token(
    role: Annotated[Role, typer.Option(help="staff, reviewer, data_scientist or admin.")],
    school: Annotated[
        list[str] | None, typer.Option(help="UAI of a school the staff member works in (repeat).")
    ] = None,
    subject: Annotated[str, typer.Option(help="Who the token is for (kept in the access log).")] = "demo",
    ttl: Annotated[timedelta, typer.Option(parser=_ttl, help="Lifetime: 8h, 30m, 2d.")] = "8h",  # type: ignore[assignment]
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


@app.command()
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
    api = create_app(service, settings.data_dir)
    console.print(f"Serving on http://{host}:{port} (API under /api/v1, documentation at /docs).")
    # uvicorn's access log prints raw paths, which hold pseudonyms: the service logs route templates instead
    uvicorn.run(api, host=host, port=port, access_log=False, log_level="warning")


access_app = typer.Typer(help="The service's access log: export for the data protection officer, purge.")
app.add_typer(access_app, name="access-log")


def _access_log() -> tuple[AccessLog, int]:
    from serving.api.access_log import AccessLog, migrated_engine

    settings = get_settings()
    engine = migrated_engine(settings.service.database(settings.data_dir))
    return AccessLog(engine), settings.service.access_log_retention_days


@access_app.command("export")
def access_log_export(
    start: Annotated[date, typer.Option("--from", parser=_parse_date, help="First day (UTC), included.")],
    end: Annotated[date, typer.Option("--to", parser=_parse_date, help="Last day (UTC), included.")],
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
app.add_typer(followup_app, name="followup")


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


@app.command("followup-report")
def followup_report_command(
    year: Annotated[str, typer.Option(help="School year, e.g. 2024-2025.")],
    data: Annotated[Path, typer.Option(help="Validated extract, for the outcomes.")],
    out: Annotated[Path | None, typer.Option(help="Report folder (default: DATA_DIR/followup).")] = None,
) -> None:
    """What followed the flags of a school year, per school: plans, delays, kinds, dropout with and
    without a plan (descriptive, not causal; cells under 10 pupils withheld). French HTML + JSON."""
    from features.ingest import ContractError, find_table, read_table
    from serving.followup_report import followup_report, summary_lines, write_followup_report

    store, settings = _plan_store()
    outcomes_file = find_table(data, "outcomes")
    if outcomes_file is None:
        raise ContractError(f"{data}: table 'outcomes' missing; the report compares dropout with and without a plan.")
    outcomes, _ = read_table(outcomes_file)
    report = followup_report(year, Paths(settings.data_dir).score_history, store, outcomes)
    paths = write_followup_report(report, out or Paths(settings.data_dir).followup)
    for line in summary_lines(report):
        console.print(line, markup=False, highlight=False)
    console.print(f"Rapport : {_bold(paths[0])} (JSON à côté).")
