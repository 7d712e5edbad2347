"""The staggered start by school (stepped wedge), off by default: ``vigie stagger draw`` randomises
whole schools to the school year they open Vigie's pages. A trial the ethics committee must approve."""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Annotated

import typer

from models.paths import Paths
from vigie.cli.console import bold, console
from vigie.settings import get_settings

stagger_app = typer.Typer(help="Staggered start by school (stepped wedge; needs the ethics committee's approval).")


@stagger_app.command("draw")
def draw(
    data: Annotated[Path, typer.Option(help="Validated extract: the schools are those of its enrolments.")],
    year: Annotated[int, typer.Option(help="School year of the first wave (2025 = 2025-2026).", min=2000, max=2100)],
    seed: Annotated[int | None, typer.Option(help="The draw's seed (default: stagger.seed of the settings).")] = None,
    waves: Annotated[
        int | None, typer.Option(help="School years until every school has started (default: stagger.waves).")
    ] = None,
    by: Annotated[str | None, typer.Option(help="Who draws (kept in the draw; default: the system user).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace a stored draw of that year (logged).")] = False,
) -> None:
    """Draw, reproducibly from the seed, which schools open the pages in which school year; every school
    has started by the last wave. Whole schools only: no pupil's flag is ever withheld within a school."""
    from features.ingest import ContractError, find_table, read_table
    from models.stagger import DrawExistsError, draw_file, draw_stagger, store_draw

    settings = get_settings().stagger
    seed = seed if seed is not None else settings.seed
    if seed is None:
        raise typer.BadParameter("no seed: give --seed N (or set stagger.seed); the draw must be reproducible")
    enrolments = find_table(data, "enrolments")
    if enrolments is None:
        raise ContractError(f"{data}: table 'enrolments' missing; the draw is of its schools.")
    schools, _ = read_table(enrolments)
    try:
        drawn = draw_stagger(
            schools["school_id"].dropna().astype(str).tolist(), first_year=year, waves=waves or settings.waves,
            seed=seed, drawn_by=by or getpass.getuser(),
        )  # fmt: skip
        path = store_draw(drawn, draw_file(Paths(get_settings().data_dir).stagger, year), force=force)
    except (DrawExistsError, ValueError) as error:
        raise typer.BadParameter(str(error)) from None
    for start, count in drawn.schools_by_year().items():
        console.print(f"  {start}-{start + 1} : {count} établissement(s) ouvrent Vigie")
    console.print(f"Tirage (graine {seed}, par {drawn.drawn_by}) : {bold(path)}.")
    if not settings.enabled:
        console.print("stagger.enabled est faux : le service n'applique pas ce tirage tant qu'il n'est pas activé.")
