"""What a public body publishes and keeps about Vigie: the public notice of the algorithm, the
deployment dossier, and the retention of the score history."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from models import DEFAULT_MODEL_NAME
from models.paths import Paths
from vigie.cli.console import bold, console
from vigie.settings import get_settings

_MODEL_HELP = "models:/NAME@ALIAS, models:/NAME/VERSION, or an alias or version."
_CONFIG_HELP = "The deployer's fields (administration, contact, legal basis...): configs/notice.yaml."


def notice(
    out: Annotated[Path, typer.Option(help="Folder for algorithme.html and algorithme.json.")],
    model: Annotated[str, typer.Option(help=_MODEL_HELP)] = "champion",
    config: Annotated[Path | None, typer.Option(help=_CONFIG_HELP)] = None,
) -> None:
    """The public notice of the algorithm (CRPA L312-1-3) of a registered version, in French:
    a page and JSON with the fields of the State's inventory (the service serves it at /algorithme)."""
    from models.registry import parse_model_reference, use_tracking_store
    from models.version_record import version_record
    from serving.notice import TO_COMPLETE, build_notice, load_notice_config, write_notice

    settings = get_settings()
    use_tracking_store(settings.data_dir)
    with console.status("Reading the version from the registry..."):
        record = version_record(*parse_model_reference(model, DEFAULT_MODEL_NAME))
    made = build_notice(record, load_notice_config(config))
    paths = write_notice(made, out)
    missing = made.as_json().count(TO_COMPLETE)
    console.print(f"Notice of {record.label}: {bold(paths[0])} (JSON beside it).")
    if missing:
        console.print(f"{missing} field(s) read {TO_COMPLETE}: fill them in the --config file before publishing.")


def dossier(
    out: Annotated[Path, typer.Option(help="Folder of the dossier (Markdown and HTML).")],
    model: Annotated[str, typer.Option(help=_MODEL_HELP)] = "champion",
    config: Annotated[Path | None, typer.Option(help=_CONFIG_HELP)] = None,
) -> None:
    """The deployment dossier of a registered version, in French: technical documentation (AI Act
    art. 11, Annex IV), instructions for use (art. 13), AIPD (GDPR art. 35) and fundamental-rights
    impact assessment (art. 27) templates, every figure from the registry."""
    from models.registry import parse_model_reference, use_tracking_store
    from models.version_record import previous_version, version_record
    from serving.dossier import Retention, write_dossier
    from serving.notice import TO_COMPLETE, load_notice_config

    settings = get_settings()
    use_tracking_store(settings.data_dir)
    with console.status("Reading the version, its audits and its monitoring from the registry..."):
        record = version_record(*parse_model_reference(model, DEFAULT_MODEL_NAME))
        previous = previous_version(record)
    written = write_dossier(
        record, previous, load_notice_config(config), Retention.of(settings.service), out, today=settings.today()
    )
    console.print(f"Dossier of {record.label} in {bold(out)}:")
    for document in written:
        console.print(f"  {document.title}: {document.markdown.name} (+ .html), {document.to_complete} × {TO_COMPLETE}")


history_app = typer.Typer(help="The score history (every scored batch): retention (GDPR art. 5(1)(e)).")


@history_app.command("purge")
def history_purge(
    dry_run: Annotated[bool, typer.Option(help="List the batches past retention, delete nothing.")] = False,
) -> None:
    """Delete the score batches past retention (service.score_history_retention_school_years after
    the school year of their as-of date), with their metadata and model inputs."""
    from features.school import retained_until
    from serving.batch import batches_due, purge_history

    settings = get_settings()
    history, years = Paths(settings.data_dir).score_history, settings.service.score_history_retention_school_years
    due = (batches_due if dry_run else purge_history)(history, years, settings.today())
    for batch in due:
        console.print(
            f"  as of {batch.as_of}, {batch.model_version}: kept until {retained_until(batch.as_of, years)}",
            markup=False,
        )
    verb = "would be deleted (dry run)" if dry_run else "deleted"
    console.print(f"{len(due):,} score {'batch' if len(due) == 1 else 'batches'} past retention {verb}.")
