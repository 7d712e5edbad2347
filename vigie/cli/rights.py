"""The rights of pupils and the oversight of staff (issue 26): the objection register for the data
protection officer (GDPR art. 21) and the stop switch for the administrator (AI Act art. 14(4)(e))."""

from __future__ import annotations

import getpass
import re
from typing import TYPE_CHECKING, Annotated

import typer

from vigie.cli.console import console
from vigie.settings import get_settings

if TYPE_CHECKING:  # the packages load with the command that needs them: 'vigie --help' stays quick
    from serving.api.rights import RightsStore

objection_app = typer.Typer(
    help="The objection register (GDPR art. 21): a pupil who objects is left out of every list, "
    "export, count, page and API answer, and of every later batch, training, audit and monitoring."
)
suspension_app = typer.Typer(
    help="The stop switch (AI Act art. 14(4)(e)): suspend Vigie for one school or everywhere; lifting "
    "it restores everything as it was."
)
Recorder = Annotated[str, typer.Option("--by", help="Who records it (kept in the register).")]


def _by_default() -> str:
    return f"cli:{getpass.getuser()}"


def _store() -> RightsStore:
    from serving.api.access_log import migrated_engine
    from serving.api.rights import RightsStore

    settings = get_settings()
    return RightsStore(migrated_engine(settings.service.database(settings.data_dir)))


def _pupil(pupil: str | None, ine: str | None) -> str:
    """The pseudonym given, or the INE's, computed in memory with the key (never printed or kept)."""
    from features.ingest import PSEUDONYM_PATTERN, load_key, pseudonym

    if (pupil is None) == (ine is None):
        raise typer.BadParameter("give exactly one of --pupil PSEUDONYM and --ine INE")
    if pupil is not None:
        if not re.fullmatch(PSEUDONYM_PATTERN, pupil):
            raise typer.BadParameter("--pupil is not a pseudonym (20 lowercase hexadecimal characters)")
        return pupil
    key_file = get_settings().service.pseudonym_key_file
    if key_file is None:
        raise typer.BadParameter("--ine needs the pseudonymisation key: set service.pseudonym_key_file")
    if not re.fullmatch(r"[0-9A-Za-z]{11}", ine or ""):
        raise typer.BadParameter("--ine is not an INE (11 letters and digits)")
    return pseudonym(load_key(key_file), ine or "")


PupilOption = Annotated[str | None, typer.Option("--pupil", help="The pupil's pseudonym.")]
IneOption = Annotated[
    str | None, typer.Option("--ine", help="The pupil's INE, pseudonymised in memory with the key (never kept).")
]


@objection_app.command("add")
def objection_add(pupil: PupilOption = None, ine: IneOption = None, by: Recorder = "") -> None:
    """Record that a pupil objects; the service drops them at once, the next commands leave them out."""
    from serving.api.rights import AlreadyObjectedError

    pupil_id = _pupil(pupil, ine)
    try:
        entry = _store().object(pupil_id, by or _by_default())
    except AlreadyObjectedError:
        raise typer.BadParameter(f"an objection of {pupil_id} stands already") from None
    console.print(f"Objection of {pupil_id} recorded on {entry.recorded_at:%Y-%m-%d %H:%M} UTC by {entry.recorded_by}.")


@objection_app.command("withdraw")
def objection_withdraw(pupil: PupilOption = None, ine: IneOption = None, by: Recorder = "") -> None:
    """Withdraw a pupil's standing objection: they are scored and served again."""
    pupil_id = _pupil(pupil, ine)
    entry = _store().withdraw(pupil_id, by or _by_default())
    if entry is None:
        raise typer.BadParameter(f"no standing objection of {pupil_id}")
    console.print(f"Objection of {pupil_id} withdrawn by {entry.withdrawn_by}.")


@objection_app.command("list")
def objection_list(
    standing: Annotated[bool, typer.Option(help="Only the objections that stand.")] = False,
) -> None:
    """The register as CSV on stdout: pseudonym, recorded (when, by whom), withdrawn (when, by whom)."""
    typer.echo("pupil_id,recorded_at,recorded_by,withdrawn_at,withdrawn_by")
    for e in _store().objection_entries(standing_only=standing):
        typer.echo(
            ",".join(
                str(v or "")
                for v in (
                    e.pupil_id,
                    e.recorded_at.isoformat(),
                    e.recorded_by,
                    e.withdrawn_at and e.withdrawn_at.isoformat(),
                    e.withdrawn_by,
                )
            )
        )


SchoolOption = Annotated[str | None, typer.Option("--school", help="UAI of the school; leave out with --everywhere.")]
Everywhere = Annotated[bool, typer.Option("--everywhere", help="Every school.")]


def _scope(school: str | None, everywhere: bool) -> str | None:
    from features.ingest import UAI_PATTERN

    if (school is None) == (not everywhere):
        raise typer.BadParameter("give exactly one of --school UAI and --everywhere")
    if school is not None and not re.fullmatch(UAI_PATTERN, school):
        raise typer.BadParameter(f"not a UAI (7 digits and a key letter): {school}")
    return school


@suspension_app.command("add")
def suspension_add(
    reason: Annotated[str, typer.Option(help="Why, as staff will read it: anomalie_donnees, alerte_suivi, "
                                             "desaccords_equipes, incident_securite, decision_administration, autre.")],
    school: SchoolOption = None,
    everywhere: Everywhere = False,
    by: Recorder = "",
) -> None:  # fmt: skip
    """Suspend Vigie: pages show a French notice, the API answers 503 with the reason."""
    from pydantic import ValidationError

    from serving.api.rights import SuspensionIn

    try:
        new = SuspensionIn(school_id=_scope(school, everywhere), reason=reason)
    except ValidationError:
        raise typer.BadParameter(f"unknown reason {reason!r}") from None
    done = _store().suspend(new, by or _by_default())
    if done is None:
        raise typer.BadParameter("Vigie is suspended there already")
    console.print(done.notice(), markup=False, highlight=False)


@suspension_app.command("lift")
def suspension_lift(school: SchoolOption = None, everywhere: Everywhere = False, by: Recorder = "") -> None:
    """Lift a suspension: Vigie serves that school (or every school) again, as before."""
    scope = _scope(school, everywhere)
    done = _store().resume(scope, by or _by_default())
    if done is None:
        raise typer.BadParameter("no standing suspension there")
    console.print(f"Suspension of {scope or 'every school'} lifted by {done.lifted_by}.")


@suspension_app.command("list")
def suspension_list() -> None:
    """Every suspension, standing or lifted, as CSV on stdout: the stop switch's log."""
    typer.echo("school_id,reason,started_at,started_by,lifted_at,lifted_by")
    for s in _store().suspension_entries():
        typer.echo(
            ",".join(
                str(v or "")
                for v in (
                    s.school_id or "*",
                    s.reason,
                    s.started_at.isoformat(),
                    s.started_by,
                    s.lifted_at and s.lifted_at.isoformat(),
                    s.lifted_by,
                )
            )
        )
