"""The access log: who read which pupil or school, through which endpoint, when, with what result.

Append-only through SQLAlchemy (SQLite by default, PostgreSQL by URL), schema managed by
Alembic. It is the only place a pseudonym is written by the service; never an INE, a name or a
token. Reads of pupil data are served only once their entry is written (fail closed).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from alembic import command
from alembic.config import Config
from sqlalchemy import DateTime, Engine, Integer, String, create_engine, delete, event, insert, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from serving.api.csv_cells import neutralise

MIGRATIONS = Path(__file__).parent / "migrations"


class Base(DeclarativeBase):
    """The SQLAlchemy base of the service database's tables (the Alembic migrations create them, not the service)."""


class AccessEntry(Base):
    """One row of the access log: who read or changed what, when, through which route, with which answer."""

    __tablename__ = "access_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    subject: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(32))
    endpoint: Mapped[str] = mapped_column(String(200))  # the route template, never the raw path
    school_id: Mapped[str | None] = mapped_column(String(16), nullable=True)
    pupil_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    status: Mapped[int] = mapped_column(Integer)


class AccessLogUnavailableError(Exception):
    """The service's database (access log, follow-up plans) cannot be reached: the read it
    would trace, or the plan it would keep, must not be served (503)."""

    MESSAGE = "La base du service est indisponible (journal des accès, suivis) : la demande est refusée."


def migrated_engine(url: str) -> Engine:
    """An engine on a database brought to the newest schema (the commands' way in; the service
    migrates at start, off the event loop)."""
    engine = make_engine(url)  # creates a SQLite file's folder before Alembic opens it
    migrate(url)
    return engine


@dataclass(frozen=True)
class Access:
    """One access as the service records it, before anything is served (pseudonyms only, never a name)."""

    subject: str
    role: str
    endpoint: str
    status: int
    school_id: str | None = None
    pupil_id: str | None = None


#: The first day an export may name; the last is a year after today. Beyond, a date is a typo
#: (or a probe: 9999-12-31 once overflowed into a 500).
FIRST_LOG_DAY = date(2000, 1, 1)
IMPLAUSIBLE_LOG_DAY = "date outside the access log's plausible range (2000-01-01 to a year from today)"


def plausible_log_day(day: date) -> bool:
    """Whether an export may name ``day`` (the same rule for 'from' and 'to')."""
    return FIRST_LOG_DAY <= day <= datetime.now(UTC).date() + timedelta(days=366)


def migrate(url: str) -> None:
    """Bring the database to the newest schema (Alembic ``upgrade head``)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    command.upgrade(config, "head")


def make_engine(url: str) -> Engine:
    """An engine that checks its connections, so the service recovers by itself when the database is back."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database:
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    connect_args = {"connect_timeout": 3} if parsed.get_backend_name() == "postgresql" else {}
    engine = create_engine(url, pool_pre_ping=True, connect_args=connect_args)
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_durable_and_concurrent)
    return engine


def _sqlite_durable_and_concurrent(connection: Any, _record: Any) -> None:
    """Write-ahead log: readers never block the writer, a commit survives a crash of the process."""
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


class AccessLog:
    """The access log in the service's database: written before every answer that shows pupils, exported for
    accountability."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def record(self, access: Access) -> None:
        """Append one entry; :class:`AccessLogUnavailableError` when the database cannot take it."""
        try:
            with self.engine.begin() as connection:  # one INSERT, no ORM session: this runs on every read
                connection.execute(insert(AccessEntry), [{"at": datetime.now(UTC), **access.__dict__}])
        except SQLAlchemyError as error:
            raise AccessLogUnavailableError(type(error).__name__) from None

    def entries(self, start: datetime, end: datetime) -> Iterator[AccessEntry]:
        """Entries with ``start <= at < end``, oldest first."""
        query = select(AccessEntry).where(AccessEntry.at >= start, AccessEntry.at < end).order_by(AccessEntry.id)
        with Session(self.engine) as session:
            yield from session.scalars(query)

    def export(self, start: datetime, end: datetime, fmt: Literal["csv", "json"]) -> str:
        """The entries of a period, for the data protection officer."""
        fields = ["at", "subject", "role", "endpoint", "school_id", "pupil_id", "status"]
        rows = [{f: getattr(e, f) for f in fields} for e in self.entries(start, end)]
        for row in rows:
            row["at"] = _utc(row["at"]).isoformat()
        if fmt == "json":
            return json.dumps(rows, ensure_ascii=False, indent=1)
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=fields)
        writer.writeheader()
        writer.writerows({f: neutralise(v) for f, v in row.items()} for row in rows)
        return buffer.getvalue()

    def purge(self, retention_days: int, now: datetime | None = None) -> int:
        """Delete the entries older than the retention period; how many went."""
        cutoff = (now or datetime.now(UTC)) - timedelta(days=retention_days)
        with Session(self.engine) as session, session.begin():
            result = session.execute(delete(AccessEntry).where(AccessEntry.at < cutoff))
        return int(getattr(result, "rowcount", 0) or 0)


def _utc(moment: datetime) -> datetime:
    """SQLite gives back naive datetimes: they were written in UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
