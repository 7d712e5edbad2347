"""Follow-up plans (GPDS): what the school decided to do for a pupil at risk, and what followed.

Structured fields only, from fixed lists: the kind of action, the owner as a role, dates, a
status and, on closing, an outcome. No free text, so nothing about health, family or
behaviour can be written here. Keyed by pseudonym, in the access log's database (same engine,
same Alembic migrations). Plans are never model inputs.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal, Self, get_args

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import Date, DateTime, Engine, String, delete, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Mapped, Session, mapped_column

from features.school import retained_until
from serving.api.access_log import AccessLogUnavailableError, Base

ACTIONS = {
    "entretien_cpe": "Entretien avec le CPE",
    "contact_famille": "Contact avec la famille",
    "tutorat": "Tutorat",
    "amenagement_emploi_du_temps": "Aménagement d'emploi du temps",
    "orientation_passerelle": "Orientation / passerelle",
    "signalement_assistante_sociale": "Signalement à l'assistante sociale",
    "saisine_gpds": "Saisine du GPDS",
    "autre": "Autre",
}
OWNERS = {
    "cpe": "CPE",
    "professeur_principal": "Professeur principal",
    "chef_etablissement": "Chef d'établissement",
    "referent_decrochage": "Référent décrochage",
    "psychologue_en": "Psychologue de l'Éducation nationale",
    "assistante_sociale": "Assistante sociale",
    "infirmier": "Infirmier scolaire",
    "gpds": "GPDS",
}
STATUSES = {"ouvert": "Ouvert", "en_cours": "En cours", "clos": "Clos"}
OUTCOMES = {
    "maintien": "Maintien en scolarité",
    "reorientation": "Réorientation ou passerelle",
    "retour_assiduite": "Retour à l'assiduité",
    "decrochage": "Décrochage malgré le suivi",
    "depart": "Départ de l'établissement",
    "sans_objet": "Sans objet",
}
#: A plan is reviewed six weeks after it starts unless staff choose another date.
REVIEW_AFTER = timedelta(weeks=6)
#: Dates of a plan lie within this distance of today (a typo such as 2052 is refused).
PLAUSIBLE = timedelta(days=2 * 366)


def implausible_dates(today: date, **dates: date | None) -> list[str]:
    """The names of the given dates that lie more than two years from today."""
    return [name for name, day in dates.items() if day is not None and abs(day - today) > PLAUSIBLE]


REVIEW_BEFORE_START = "review_date must not be before start_date"


def review_before_start(start_date: date | None, review_date: date | None) -> bool:
    """A plan is reviewed on or after its start: when it is opened and at every review."""
    return start_date is not None and review_date is not None and review_date < start_date


Action = Literal[
    "entretien_cpe",
    "contact_famille",
    "tutorat",
    "amenagement_emploi_du_temps",
    "orientation_passerelle",
    "signalement_assistante_sociale",
    "saisine_gpds",
    "autre",
]
Owner = Literal[
    "cpe",
    "professeur_principal",
    "chef_etablissement",
    "referent_decrochage",
    "psychologue_en",
    "assistante_sociale",
    "infirmier",
    "gpds",
]
Status = Literal["ouvert", "en_cours", "clos"]
Outcome = Literal["maintien", "reorientation", "retour_assiduite", "decrochage", "depart", "sans_objet"]
# The French labels above and the values the API accepts are the same lists.
assert all(set(labels) == set(get_args(kind)) for labels, kind in
           ((ACTIONS, Action), (OWNERS, Owner), (STATUSES, Status), (OUTCOMES, Outcome)))  # fmt: skip


class PlanRow(Base):
    """One follow-up plan in the service's database, with who created and last changed it."""

    __tablename__ = "followup_plans"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    pupil_id: Mapped[str] = mapped_column(String(32), index=True)
    school_id: Mapped[str] = mapped_column(String(16), index=True)
    action: Mapped[str] = mapped_column(String(40))
    owner: Mapped[str] = mapped_column(String(40))
    start_date: Mapped[date] = mapped_column(Date)
    review_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16))
    outcome: Mapped[str | None] = mapped_column(String(40), nullable=True)
    closed_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_by: Mapped[str] = mapped_column(String(200))


class PlanIn(BaseModel):
    """A new plan: from the fixed lists only; the review date defaults to six weeks after the start."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"action": "entretien_cpe", "owner": "cpe", "start_date": "2025-04-01"}
    ]})  # fmt: skip
    action: Action
    owner: Owner
    start_date: date | None = Field(default=None, description="Default: today.")
    review_date: date | None = Field(default=None, description="Default: six weeks after the start.")

    @model_validator(mode="after")
    def _dates(self) -> Self:
        if review_before_start(self.start_date, self.review_date):
            raise ValueError(REVIEW_BEFORE_START)
        return self


class PlanUpdate(BaseModel):
    """A review: a new status, a new review date, or the closing with its outcome."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"status": "clos", "outcome": "maintien"}
    ]})  # fmt: skip
    status: Status | None = None
    review_date: date | None = None
    outcome: Outcome | None = None

    @model_validator(mode="after")
    def _closing(self) -> Self:
        if self.status == "clos" and self.outcome is None:
            raise ValueError("closing a plan needs its outcome")
        if self.outcome is not None and self.status != "clos":
            raise ValueError("an outcome is given only when closing (status 'clos')")
        return self


class Plan(BaseModel):
    """A follow-up plan as the API answers it, with whether its review is overdue today."""

    id: str
    pupil_id: str
    school_id: str
    action: Action
    owner: Owner
    start_date: date
    review_date: date
    status: Status
    outcome: Outcome | None
    closed_on: date | None
    overdue: bool = Field(description="Not closed and its review date has passed.")

    @classmethod
    def of(cls, row: PlanRow, today: date) -> Plan:
        """The plan of a database row, its overdue flag judged at ``today``."""
        overdue = row.status != "clos" and row.review_date < today
        return cls(
            id=row.id, pupil_id=row.pupil_id, school_id=row.school_id, action=row.action, owner=row.owner,
            start_date=row.start_date, review_date=row.review_date, status=row.status, outcome=row.outcome,
            closed_on=row.closed_on, overdue=overdue,
        )  # fmt: skip


@dataclass(frozen=True)
class SchoolPlans:
    """What the school's list shows of the plans: the latest plan of each pupil that has one."""

    latest: dict[str, Plan]

    def has_open_plan(self, pupil_id: str) -> bool:
        """Whether the pupil's latest plan is still open (the high-tier pupils without one are listed for follow-up)."""
        plan = self.latest.get(pupil_id)
        return plan is not None and plan.status != "clos"


class PlanStore:
    """Plans in the service's database; any database failure is reported as unavailable (503)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    def create(self, pupil_id: str, school_id: str, new: PlanIn, subject: str, today: date) -> Plan:
        """Store a new plan for a pupil, started today unless said otherwise, and return it."""
        start = new.start_date or today
        now = datetime.now(UTC)
        row = PlanRow(
            id=uuid.uuid4().hex, pupil_id=pupil_id, school_id=school_id, action=new.action, owner=new.owner,
            start_date=start, review_date=new.review_date or start + REVIEW_AFTER, status="ouvert", outcome=None,
            closed_on=None, created_at=now, created_by=subject, updated_at=now, updated_by=subject,
        )  # fmt: skip
        try:
            with self._session() as session, session.begin():
                session.add(row)
        except SQLAlchemyError as error:
            raise AccessLogUnavailableError(type(error).__name__) from None
        return Plan.of(row, today)

    def get(self, plan_id: str, today: date) -> Plan | None:
        """The plan ``plan_id``, or None if there is none."""
        try:
            with self._session() as session:
                row = session.get(PlanRow, plan_id)
        except SQLAlchemyError as error:
            raise AccessLogUnavailableError(type(error).__name__) from None
        return None if row is None else Plan.of(row, today)

    def for_pupil(self, pupil_id: str, today: date) -> list[Plan]:
        """A pupil's plans, oldest first."""
        query = select(PlanRow).where(PlanRow.pupil_id == pupil_id).order_by(PlanRow.start_date, PlanRow.created_at)
        try:
            with self._session() as session:
                return [Plan.of(r, today) for r in session.scalars(query)]
        except SQLAlchemyError as error:
            raise AccessLogUnavailableError(type(error).__name__) from None

    def for_school(self, school_id: str, today: date) -> SchoolPlans:
        """The plans of a school's pupils, as its lists show them."""
        query = select(PlanRow).where(PlanRow.school_id == school_id).order_by(PlanRow.start_date, PlanRow.created_at)
        try:
            with self._session() as session:
                rows = list(session.scalars(query))
        except SQLAlchemyError as error:
            raise AccessLogUnavailableError(type(error).__name__) from None
        latest: dict[str, Plan] = {}
        for row in rows:  # oldest first: the last one written wins; an open plan beats a closed one
            plan = Plan.of(row, today)
            kept = latest.get(row.pupil_id)
            if kept is None or plan.status != "clos" or kept.status == "clos":
                latest[row.pupil_id] = plan
        return SchoolPlans(latest)

    def update(self, plan_id: str, change: PlanUpdate, subject: str, today: date) -> Plan | None:
        """Apply a review to plan ``plan_id`` and return it; None if there is no such plan."""
        try:
            with self._session() as session, session.begin():
                row = session.get(PlanRow, plan_id)
                if row is None:
                    return None
                if change.review_date is not None:
                    row.review_date = change.review_date
                if change.status is not None:
                    row.status = change.status
                    row.outcome = change.outcome
                    row.closed_on = today if change.status == "clos" else None
                row.updated_at, row.updated_by = datetime.now(UTC), subject
        except SQLAlchemyError as error:
            raise AccessLogUnavailableError(type(error).__name__) from None
        return Plan.of(row, today)

    def all_plans(self) -> list[PlanRow]:
        """Every plan, by school then start date (for the follow-up report and the tests)."""
        with self._session() as session:
            return list(session.scalars(select(PlanRow).order_by(PlanRow.school_id, PlanRow.start_date)))

    def purge(self, retention_school_years: int, today: date) -> int:
        """Delete the closed plans whose retention has ended: kept until the end of the
        ``retention_school_years``-th school year after the one they were closed in."""
        with self._session() as session, session.begin():
            closed = session.execute(select(PlanRow.id, PlanRow.closed_on).where(PlanRow.status == "clos")).all()
            due = [
                plan_id
                for plan_id, closed_on in closed
                if closed_on is not None and retained_until(closed_on, retention_school_years) < today
            ]
            if due:
                session.execute(delete(PlanRow).where(PlanRow.id.in_(due)))
        return len(due)

    def delete_created_by(self, subject: str, school_id: str) -> int:
        """Delete the plans ``subject`` created in a school, so that the demo's seeding can be run twice; return how
        many."""
        with self._session() as session, session.begin():
            result = session.execute(
                delete(PlanRow).where(PlanRow.created_by == subject, PlanRow.school_id == school_id)
            )
        return int(getattr(result, "rowcount", 0) or 0)

    def count(self) -> int:
        """How many plans are stored (the purge and seeding are checked against it)."""
        with self._session() as session:
            return int(session.scalar(select(func.count()).select_from(PlanRow)) or 0)
