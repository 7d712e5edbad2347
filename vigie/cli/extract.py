"""Getting an extract ready: a synthetic one for trials, a key, pseudonymisation, validation."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Literal

import typer

from vigie.cli.console import bold, console, parse_date, parse_years, progress_bar
from vigie.settings import get_settings


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
        typer.Option(parser=parse_date, help="Day the extract is taken: nothing later is written (YYYY-MM-DD)."),
    ] = None,
    partitions: Annotated[
        int, typer.Option(help="Write a national extract: this many départements, one folder each (1: one extract).")
    ] = 1,
    jobs: Annotated[int, typer.Option(help="Worker processes for the partitions.")] = 1,
) -> None:
    """Write a synthetic RAW extract (with ine, names, birth dates) following the contract."""
    from features.school import DEFAULT_HORIZON_DAYS
    from features.synthetic import SynthConfig, synthesise, synthesise_partitioned

    first, last = parse_years(years)
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
        with progress_bar() as progress:
            task = progress.add_task("Simulating départements", total=partitions)
            national = synthesise_partitioned(
                config, out, partitions, jobs=jobs, on_partition=lambda _name: progress.advance(task)
            )
        console.print(
            f"National raw extract written to {bold(out)} in {national.seconds:.1f} s: {len(national.partitions)} "
            f"partitions (départements), {national.pupils:,} pupils, {national.schools:,} schools."
        )
        for table, rows in sorted(national.rows.items()):
            console.print(f"  {table}: {rows:,} rows")
        return
    with progress_bar() as progress:
        task = progress.add_task("Simulating school years", total=last - first + 1)
        summary = synthesise(config, out, on_year=lambda _year: progress.advance(task))
    console.print(
        f"Raw extract written to {bold(out)} in {summary.seconds:.1f} s: "
        f"{summary.pupils} pupils, {summary.schools} schools."
    )
    for table, rows in sorted(summary.rows.items()):
        console.print(f"  {table}: {rows:,} rows")
    rates = ", ".join(f"{y}: {r:.2%}" for y, r in summary.positive_rate.items())
    console.print(f"  dropout within {DEFAULT_HORIZON_DAYS} days of 15 December: {rates or 'no closed horizon'}")


def keygen(path: Annotated[Path, typer.Argument(help="Key file to create (refuses to overwrite).")]) -> None:
    """Write a new secret pseudonymisation key (permissions 600). Keep it away from the data."""
    from features.ingest import generate_key

    generate_key(path)
    console.print(f"New key written to {bold(path)} (mode 600). Store it apart from every extract.")


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
    with progress_bar() as progress:
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
    console.print(f"Pseudonymised extract written to {bold(out_dir)}.")
    if names_out is not None:
        console.print(
            f"Correspondence files for {len(report.correspondence):,} schools in {bold(names_out)} "
            "(names: send each school its own file only)."
        )


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
    engine: Annotated[
        Literal["duckdb", "spark"], typer.Option(help="duckdb (embedded) or spark: the same rules on either.")
    ] = "duckdb",
    spark_master: Annotated[str, typer.Option(help="Spark master URL, with --engine spark.")] = "local[*]",
) -> None:
    """Check an extract against the data contract; quarantine bad rows with their reasons.

    The rules run inside DuckDB within a memory limit (or on Spark with --engine spark); a
    partitioned (national) extract is validated one partition at a time."""
    from features.ingest import EngineLimits, find_partitions, render_report, validate_to_folder

    settings = get_settings()
    limits = EngineLimits(
        memory_limit or settings.validate_memory_limit,
        settings.validate_temp_dir,
        engine=engine,
        spark_master=spark_master,
    )
    out_dir = out or extract_dir.with_name(extract_dir.name + ".validated")
    parts = len(find_partitions(extract_dir))
    with progress_bar() as progress:
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
    console.print(f"Kept tables, quarantine and report written to {bold(out_dir)}.")
    if strict and report.rows_quarantined:
        raise typer.Exit(code=1)
