"""The staggered start's gate (issue 28, a stepped-wedge trial the ethics committee must approve;
off by default): a school whose start year has not come sees a French notice instead of its lists
and pupils. Whole schools only; scores are still computed for every school.

Kept apart from the stop switch of issue 26 (a suspension decided by an admin, answered 503): this
gate reads the stored draw (:mod:`models.stagger`) once at start, answers 403 — Vigie is not open
for that school this year, by design rather than by incident — and both can stand side by side.
"""

from __future__ import annotations

from pathlib import Path

from models.paths import Paths
from models.stagger import StaggerDraw, StaggerSettings, find_draw
from serving.api.service.context import AccessContext
from serving.api.service.errors import ServiceError
from serving.api.state import Serving


class NotStartedError(ServiceError):
    """The school's pages open in a later school year of the staggered start (403 with the French
    notice on the API, the notice page on the pages)."""

    def __init__(self, school_id: str, start_year: int) -> None:
        self.school_id = school_id
        self.start_year = start_year
        super().__init__(not_started_notice(start_year))


def not_started_notice(start_year: int) -> str:
    """The French notice staff of a school not yet started read."""
    return (
        f"Vigie ouvrira dans votre établissement à la rentrée de septembre {start_year} (année scolaire {start_year}-"
        f"{start_year + 1}) : les établissements "
        "commencent à des années différentes, tirées au sort, pour une évaluation approuvée par le comité d'éthique. "
        "D'ici là, aucune liste ni aucune fiche d'élève n'est affichée ; l'accompagnement des élèves continue avec "
        "les moyens habituels de l'établissement."
    )


def load_gate(settings: StaggerSettings, data_dir: Path) -> StaggerDraw | None:
    """The draw the service honours, or None when the staggered start is off (the default). On but with no
    stored draw is a configuration error, refused at start rather than served open or closed by accident."""
    if not settings.enabled:
        return None
    draw = find_draw(Paths(data_dir).stagger, settings.first_year)
    if draw is None:
        year = settings.first_year if settings.first_year is not None else "any year"
        raise ValueError(
            f"stagger.enabled is true but no draw is stored for {year} under {Paths(data_dir).stagger}: "
            "run 'vigie stagger draw', or set stagger.enabled to false"
        )
    return draw


def check_started(served: Serving, ctx: AccessContext, school_id: str, pupil_id: str | None = None) -> None:
    """:class:`NotStartedError` (traced as 403) when the staggered start is on and the school's start year
    is after the served batch's; asked once the caller has reached the school (404 comes first)."""
    draw = ctx.stagger
    if draw is None or draw.started(school_id, served.batch.as_of):
        return
    ctx.trace(403, school_id=school_id, pupil_id=pupil_id)
    raise NotStartedError(school_id, draw.start_year(school_id) or draw.last_year)
