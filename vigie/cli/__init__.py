"""The ``vigie`` command line: parse, call the packages, format. No logic lives here.

One module per user task (``extract``, ``prepare``, ``model``, ``scoring``, ``impact``, ``stagger``, ``service``,
``accountability``), the
console plumbing in ``console``; this module assembles them into ``app``, in the order
``vigie --help`` lists them. Each command imports the packages it needs when it runs, so that
``vigie --help`` (and a bad flag) answer at once instead of after loading MLflow, LightGBM and
Evidently.
"""

from __future__ import annotations

from typing import Annotated

import typer

from vigie.cli import accountability, extract, impact, model, prepare, rights, scoring, service, stagger
from vigie.cli.console import NoTracebacks, setup_logging

app = typer.Typer(
    name="vigie",
    help="Vigie: early warning of school dropout (décrochage scolaire).",
    no_args_is_help=True,
    add_completion=False,
    cls=NoTracebacks,
    pretty_exceptions_enable=False,
)


@app.callback()
def _main(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log more detail.")] = False) -> None:
    setup_logging(verbose=verbose)


for command in (
    extract.synth,
    extract.keygen,
    extract.pseudonymise,
    extract.validate,
    model.train,
    scoring.score,
    model.audit,
    scoring.monitor,
    impact.impact,
    prepare.features,
    service.token,
    service.serve,
    accountability.notice,
    accountability.dossier,
):
    app.command()(command)
app.command("followup-report")(service.followup_report_command)
app.add_typer(service.access_app, name="access-log")
app.add_typer(service.followup_app, name="followup")
app.add_typer(accountability.history_app, name="score-history")
app.add_typer(rights.objection_app, name="objection")
app.add_typer(rights.suspension_app, name="suspension")
app.add_typer(stagger.stagger_app, name="stagger")

__all__ = ["app"]
