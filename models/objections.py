"""The objection register (GDPR art. 21) as every stage reads it, and the one rule that honours it.

A pupil (or their family) may object to Vigie's processing, which rests on a public-interest
task. The data protection officer records it in the service's database (``serving.api.rights``
writes it; migration 0004 creates it): the pseudonym, when, by whom, and when it was withdrawn.

Training, scoring, audits, monitoring and the service all drop the objected pupils through
:meth:`Objections.drop` (or :meth:`Objections.kept` for arrays), right where their per-pupil rows
come in: this module is the one home of that rule. It lives in ``models`` because every stage
may import ``models`` (features may import nothing of ours, serving never imports training or
fairness); the stages are handed an :class:`Objections` read here from the database URL the
settings name (``service.database``), so no stage knows where the register is kept.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import Column, DateTime, Index, Integer, MetaData, String, Table, create_engine, select
from sqlalchemy.engine import make_url

#: The service database's tables that the stages read (schema: Alembic migration 0004).
REGISTER_METADATA = MetaData()
OBJECTIONS = Table(
    "objections",
    REGISTER_METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("pupil_id", String(32), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("recorded_by", String(200), nullable=False),
    Column("withdrawn_at", DateTime(timezone=True), nullable=True),
    Column("withdrawn_by", String(200), nullable=True),
    # one standing objection per pupil, enforced by the database itself (SQLite and PostgreSQL)
    Index(
        "ux_objections_standing",
        "pupil_id",
        unique=True,
        sqlite_where=Column("withdrawn_at").is_(None),
        postgresql_where=Column("withdrawn_at").is_(None),
    ),
)


@dataclass(frozen=True)
class Objections:
    """The pseudonyms of the pupils whose objection stands, as read at ``read_at``."""

    pupils: frozenset[str] = frozenset()
    read_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @classmethod
    def of(cls, pupils: Iterable[str]) -> Objections:
        """A register holding ``pupils`` (tests, and the service's own reads)."""
        return cls(frozenset(str(p) for p in pupils))

    def __len__(self) -> int:
        return len(self.pupils)

    def __contains__(self, pupil_id: object) -> bool:
        return pupil_id in self.pupils

    def kept(self, pupil_ids: Iterable[str] | np.ndarray | pd.Series | pd.Index) -> np.ndarray:
        """A boolean mask: True for each pupil who has not objected."""
        values = np.asarray(pupil_ids, dtype=object)
        if not self.pupils:
            return np.ones(len(values), dtype=bool)
        return ~pd.Index(values).isin(list(self.pupils))

    def drop(self, frame: pd.DataFrame, column: str = "pupil_id") -> pd.DataFrame:
        """``frame`` without the rows of objected pupils (the same frame when none is there)."""
        if not self.pupils or frame.empty:
            return frame
        keep = self.kept(frame[column].astype(str))
        return frame if keep.all() else frame.loc[keep].reset_index(drop=True)

    def dropped(self, frame: pd.DataFrame, column: str = "pupil_id") -> int:
        """How many rows of ``frame`` :meth:`drop` leaves out (for counts that reconcile)."""
        return 0 if not self.pupils else int((~self.kept(frame[column].astype(str))).sum())


def standing_objections(connection: object) -> Objections:
    """The standing objections, read on an open SQLAlchemy connection."""
    rows = connection.execute(  # type: ignore[attr-defined]
        select(OBJECTIONS.c.pupil_id).where(OBJECTIONS.c.withdrawn_at.is_(None))
    )
    return Objections.of(r[0] for r in rows)


def read_objections(database_url: str) -> Objections:
    """The register's standing objections, from the service database at ``database_url``.

    A database without the register yet (no service ever ran on it) holds no objection.
    """
    parsed = make_url(database_url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and not Path(parsed.database).exists():
        return Objections()
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            if not engine.dialect.has_table(connection, OBJECTIONS.name):
                return Objections()
            return standing_objections(connection)
    finally:
        engine.dispose()
