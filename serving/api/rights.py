"""The records of issue 26 in the service's database (same engine and migrations as the access log):

- the objection register (GDPR art. 21): the pseudonym, when and by whom it was recorded, when and
  by whom withdrawn; nothing else. Every stage reads it through :mod:`models.objections`;
- staff judgements on a pupil's flag (AI Act art. 14(4)(b)-(d)), from fixed lists
  (:mod:`models.judgements`), never a model input;
- the stop switch (AI Act art. 14(4)(e)): Vigie suspended for one school or everywhere, with a
  reason from a fixed list, logged and reversible.

Any database failure is reported as unavailable (503): a register that cannot be read is never
taken as empty.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Literal, Self, TypeVar, get_args

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, computed_field, model_validator
from sqlalchemy import Column, Connection, DateTime, Engine, Integer, MetaData, String, Table, insert, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from features import french
from features.ingest import PSEUDONYM_PATTERN, UAI_PATTERN
from models.judgements import JUDGEMENTS, VERDICTS, Reason, Verdict, latest_judgements
from models.objections import OBJECTIONS, Objections, standing_objections
from serving.api.access_log import AccessLogUnavailableError

T = TypeVar("T")

#: Why Vigie is suspended, in the words of the notice staff read.
SUSPENSION_REASONS = {
    "anomalie_donnees": "une anomalie dans les données est en cours de vérification",
    "alerte_suivi": "une alerte du suivi du modèle (dérive, équité) est en cours d'examen",
    "desaccords_equipes": "les équipes ont souvent contesté les signalements : le modèle est réexaminé",
    "incident_securite": "un incident de sécurité est en cours de traitement",
    "decision_administration": "l'administration a décidé de suspendre l'outil",
    "autre": "une vérification est en cours",
}
SuspensionReason = Literal[
    "anomalie_donnees", "alerte_suivi", "desaccords_equipes", "incident_securite", "decision_administration", "autre"
]
assert set(SUSPENSION_REASONS) == set(get_args(SuspensionReason))
#: The scope of a suspension that covers every school.
EVERYWHERE = "*"

SUSPENSIONS = Table(
    "suspensions",
    MetaData(),
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("scope", String(16), nullable=False),
    Column("reason", String(40), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("started_by", String(200), nullable=False),
    Column("lifted_at", DateTime(timezone=True), nullable=True),
    Column("lifted_by", String(200), nullable=True),
)


def _utc(moment: datetime | None) -> datetime | None:
    """SQLite gives back naive datetimes: they were written in UTC."""
    return moment if moment is None or moment.tzinfo else moment.replace(tzinfo=UTC)


class ObjectionIn(BaseModel):
    """Who objects: a pseudonym, or an INE pseudonymised in memory with the key (never stored,
    logged or echoed). Exactly one of the two."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"pupil_id": "3f9a1c0b7d2e4a6f8b1c"}]})
    pupil_id: str | None = Field(default=None, pattern=PSEUDONYM_PATTERN)
    ine: str | None = Field(default=None, min_length=11, max_length=11, pattern=r"^[0-9A-Za-z]{11}$")

    @model_validator(mode="after")
    def _one_of(self) -> Self:
        if (self.pupil_id is None) == (self.ine is None):
            raise ValueError("give exactly one of pupil_id and ine")
        return self


class Objection(BaseModel):
    """One entry of the register: only the pseudonym, dates and who recorded or withdrew it."""

    pupil_id: str
    recorded_at: datetime
    recorded_by: str
    withdrawn_at: datetime | None = None
    withdrawn_by: str | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def standing(self) -> bool:
        """Whether the objection still holds."""
        return self.withdrawn_at is None

    @classmethod
    def of(cls, row: Any) -> Objection:
        """From a database row of the register."""
        return cls(pupil_id=row.pupil_id, recorded_at=_utc(row.recorded_at), recorded_by=row.recorded_by,
                   withdrawn_at=_utc(row.withdrawn_at), withdrawn_by=row.withdrawn_by)  # fmt: skip


class AlreadyObjectedError(Exception):
    """The pupil's objection already stands."""


class JudgementIn(BaseModel):
    """Staff's professional judgement on the pupil's flag, from the fixed lists only."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"verdict": "pas_une_inquietude", "reason": "situation_connue"}
    ]})  # fmt: skip
    verdict: Verdict = Field(description=" ; ".join(f"{k}: {v}" for k, v in VERDICTS.items()))
    reason: Reason | None = Field(default=None, description="Required except for 'accord', from the verdict's list.")


class Judgement(BaseModel):
    """A recorded judgement, on the batch (date, model version, tier) it judged."""

    id: str
    pupil_id: str
    school_id: str
    as_of: date
    model_version: str
    tier: str
    verdict: Verdict
    reason: Reason | None
    recorded_at: datetime

    @property
    def disagrees(self) -> bool:
        """Whether it overrules the model."""
        return self.verdict != "accord"

    @classmethod
    def of(cls, row: Any) -> Judgement:
        """From a database row."""
        values = {k: getattr(row, k) for k in cls.model_fields}
        values["recorded_at"] = _utc(values["recorded_at"])
        return cls.model_validate(values)


@dataclass(frozen=True)
class JudgedFlag:
    """What a judgement is about: the pupil and the batch's flag at the time."""

    pupil_id: str
    school_id: str
    as_of: date
    model_version: str
    tier: str


class SuspensionIn(BaseModel):
    """Suspend Vigie for one school (its UAI) or everywhere (no school), with the reason staff will read."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"school_id": "0750001A", "reason": "anomalie_donnees"}
    ]})  # fmt: skip
    school_id: str | None = Field(default=None, pattern=UAI_PATTERN, description="None: every school.")
    reason: SuspensionReason


class Suspension(BaseModel):
    """A suspension, standing (``lifted_at`` empty) or lifted."""

    school_id: str | None = Field(description="None: every school.")
    reason: SuspensionReason
    reason_text: str
    started_at: datetime
    started_by: str
    lifted_at: datetime | None = None
    lifted_by: str | None = None

    @classmethod
    def of(cls, row: Any) -> Suspension:
        """From a database row."""
        return cls(school_id=None if row.scope == EVERYWHERE else row.scope, reason=row.reason,
                   reason_text=SUSPENSION_REASONS.get(row.reason, SUSPENSION_REASONS["autre"]),
                   started_at=_utc(row.started_at), started_by=row.started_by, lifted_at=_utc(row.lifted_at),
                   lifted_by=row.lifted_by)  # fmt: skip

    def notice(self) -> str:
        """The French sentence of the notice and of the API's 503."""
        where = "pour tous les établissements" if self.school_id is None else f"pour l'établissement {self.school_id}"
        return (f"Vigie est suspendu {where} depuis le {french.day(self.started_at.date())} : {self.reason_text}. "
                "Les scores ne sont pas affichés pendant la suspension ; le suivi des élèves continue "
                "sans l'outil.")  # fmt: skip


@dataclass(frozen=True)
class Suspensions:
    """The standing suspensions, by scope."""

    standing: dict[str, Suspension] = field(default_factory=dict)

    @property
    def everywhere(self) -> Suspension | None:
        """The suspension of every school, if one stands."""
        return self.standing.get(EVERYWHERE)

    def of_school(self, school_id: str) -> Suspension | None:
        """What suspends ``school_id``: everywhere first, then the school's own."""
        return self.everywhere or self.standing.get(school_id)


@dataclass(frozen=True)
class Register:
    """What each request needs of the records, read in one go: objections and suspensions."""

    objections: Objections
    suspensions: Suspensions


class RightsStore:
    """The objection register, the judgements and the suspensions in the service's database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @contextmanager
    def _connection(self, *, write: bool) -> Iterator[Connection]:
        try:
            with self.engine.begin() if write else self.engine.connect() as connection:
                yield connection
        except IntegrityError:
            raise
        except SQLAlchemyError as error:
            raise AccessLogUnavailableError(type(error).__name__) from None

    def _read(self, read: Callable[[Connection], T]) -> T:
        with self._connection(write=False) as connection:
            return read(connection)

    # --- the register, each request ----------------------------------------------------------

    def register(self) -> Register:
        """Standing objections and suspensions (two small reads on one connection)."""

        def read(connection: Connection) -> Register:
            rows = connection.execute(select(SUSPENSIONS).where(SUSPENSIONS.c.lifted_at.is_(None))).all()
            return Register(standing_objections(connection), Suspensions({r.scope: Suspension.of(r) for r in rows}))

        return self._read(read)

    def objections(self) -> Objections:
        """The standing objections."""
        return self._read(standing_objections)

    # --- objections (GDPR art. 21) -----------------------------------------------------------

    def object(self, pupil_id: str, by: str) -> Objection:
        """Record that ``pupil_id`` objects; :class:`AlreadyObjectedError` if it already stands."""
        row = {"pupil_id": pupil_id, "recorded_at": datetime.now(UTC), "recorded_by": by}
        try:
            with self._connection(write=True) as connection:
                connection.execute(insert(OBJECTIONS), [row])
        except IntegrityError:  # the database's unique index on standing objections
            raise AlreadyObjectedError(pupil_id) from None
        return Objection.model_validate(row)

    def withdraw(self, pupil_id: str, by: str) -> Objection | None:
        """Withdraw the pupil's standing objection; None when there is none."""
        with self._connection(write=True) as connection:
            standing = OBJECTIONS.c.pupil_id == pupil_id, OBJECTIONS.c.withdrawn_at.is_(None)
            row = connection.execute(select(OBJECTIONS).where(*standing)).first()
            if row is None:
                return None
            now = datetime.now(UTC)
            connection.execute(update(OBJECTIONS).where(OBJECTIONS.c.id == row.id).values(withdrawn_at=now,
                                                                                          withdrawn_by=by))  # fmt: skip
        return Objection.of(row).model_copy(update={"withdrawn_at": now, "withdrawn_by": by})

    def objection_entries(self, *, standing_only: bool = False) -> list[Objection]:
        """The register, oldest first (withdrawn entries too unless ``standing_only``)."""
        query = select(OBJECTIONS).order_by(OBJECTIONS.c.recorded_at, OBJECTIONS.c.id)
        if standing_only:
            query = query.where(OBJECTIONS.c.withdrawn_at.is_(None))
        return self._read(lambda c: [Objection.of(r) for r in c.execute(query)])

    # --- judgements (AI Act art. 14) ---------------------------------------------------------

    def judge(self, flag: JudgedFlag, new: JudgementIn, by: str) -> Judgement:
        """Record a judgement on ``flag`` (the rules are checked by the service layer)."""
        row = {"id": uuid.uuid4().hex, **flag.__dict__, "verdict": new.verdict, "reason": new.reason,
               "recorded_at": datetime.now(UTC), "recorded_by": by}  # fmt: skip
        with self._connection(write=True) as connection:
            connection.execute(insert(JUDGEMENTS), [row])
        return Judgement.model_validate(row)

    def pupil_judgements(self, pupil_id: str) -> list[Judgement]:
        """A pupil's judgements, oldest first."""
        query = select(JUDGEMENTS).where(JUDGEMENTS.c.pupil_id == pupil_id).order_by(JUDGEMENTS.c.recorded_at)
        return self._read(lambda c: [Judgement.of(r) for r in c.execute(query)])

    def school_judgements(self, school_id: str, as_of: date, model_version: str) -> dict[str, Judgement]:
        """The latest judgement of each pupil of a school on one batch, by pupil."""
        query = select(JUDGEMENTS).where(JUDGEMENTS.c.school_id == school_id, JUDGEMENTS.c.as_of == as_of,
                                         JUDGEMENTS.c.model_version == model_version)  # fmt: skip
        rows = self._read(lambda c: [Judgement.of(r).model_dump() for r in c.execute(query)])
        if not rows:
            return {}
        latest = latest_judgements(pd.DataFrame(rows))
        return {r["pupil_id"]: Judgement.model_validate(r) for r in latest.to_dict("records")}

    # --- the stop switch (AI Act art. 14(4)(e)) ----------------------------------------------

    def suspend(self, new: SuspensionIn, by: str) -> Suspension | None:
        """Suspend a school (or every school); None when it is suspended already."""
        row: dict[str, Any] = {"scope": new.school_id or EVERYWHERE, "reason": new.reason,
                               "started_at": datetime.now(UTC), "started_by": by}  # fmt: skip
        try:
            with self._connection(write=True) as connection:
                connection.execute(insert(SUSPENSIONS), [row])
        except IntegrityError:  # the unique index on standing suspensions
            return None
        return Suspension(school_id=new.school_id, reason=new.reason, reason_text=SUSPENSION_REASONS[new.reason],
                          started_at=row["started_at"], started_by=by)  # fmt: skip

    def resume(self, school_id: str | None, by: str) -> Suspension | None:
        """Lift the standing suspension of a school (or of every school); None when there is none."""
        scope = school_id or EVERYWHERE
        with self._connection(write=True) as connection:
            row = connection.execute(
                select(SUSPENSIONS).where(SUSPENSIONS.c.scope == scope, SUSPENSIONS.c.lifted_at.is_(None))
            ).first()
            if row is None:
                return None
            now = datetime.now(UTC)
            connection.execute(update(SUSPENSIONS).where(SUSPENSIONS.c.id == row.id).values(lifted_at=now,
                                                                                            lifted_by=by))  # fmt: skip
        return Suspension.of(row).model_copy(update={"lifted_at": now, "lifted_by": by})

    def suspension_entries(self) -> list[Suspension]:
        """Every suspension, standing or lifted, oldest first: the log of the stop switch."""
        query = select(SUSPENSIONS).order_by(SUSPENSIONS.c.started_at, SUSPENSIONS.c.id)
        return self._read(lambda c: [Suspension.of(r) for r in c.execute(query)])


#: For the stages that read the records without the service (the CLI, monitoring).
__all__ = [
    "EVERYWHERE",
    "SUSPENSION_REASONS",
    "AlreadyObjectedError",
    "JudgedFlag",
    "Judgement",
    "JudgementIn",
    "Objection",
    "ObjectionIn",
    "Register",
    "RightsStore",
    "Suspension",
    "SuspensionIn",
    "Suspensions",
]
