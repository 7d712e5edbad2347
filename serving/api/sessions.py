"""The pages' sessions, kept server-side in the service's database (the access log's).

The browser holds only an opaque random id; the database keeps its SHA-256 (a copy of the table
opens no session), the signed-in caller and when the session ends: at its token's expiry or
after ``service.session_max_hours``, whichever comes first. Signing out deletes the row, so a
cookie replayed afterwards opens nothing, and the CSRF tokens bound to it die with it.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from datetime import UTC, datetime

from sqlalchemy import DateTime, Engine, String, Text, delete, insert, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Mapped, mapped_column

from serving.api.access_log import AccessLogUnavailableError, Base
from serving.api.auth import Principal, Role


class SessionRow(Base):
    """One signed-in page session, stored by the hash of its id (a stolen database opens no session)."""

    __tablename__ = "page_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    subject: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(32))
    schools: Mapped[str] = mapped_column(Text)  # a JSON list of UAI
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def _utc(moment: datetime) -> datetime:
    """SQLite gives back naive datetimes: they were written in UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class SessionStore:
    """Open, find and close sessions; :class:`AccessLogUnavailableError` (503) when the database
    cannot answer: no session is trusted that cannot be checked."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def open(self, caller: Principal, expires_at: datetime, now: datetime | None = None) -> str:
        """A new session's id (for the cookie); sessions already expired are deleted on the way."""
        now = now or datetime.now(UTC)
        session_id = secrets.token_urlsafe(32)
        row = {"id_hash": _hash(session_id), "subject": caller.subject, "role": caller.role.value,
               "schools": json.dumps(sorted(caller.schools)), "created_at": now, "expires_at": expires_at}  # fmt: skip
        try:
            with self.engine.begin() as connection:
                connection.execute(delete(SessionRow).where(SessionRow.expires_at <= now))
                connection.execute(insert(SessionRow), [row])
        except SQLAlchemyError as error:
            raise AccessLogUnavailableError(type(error).__name__) from None
        return session_id

    def find(self, session_id: str, now: datetime | None = None) -> tuple[Principal, datetime] | None:
        """The caller of a live session and when it ends; None when unknown, closed or expired."""
        now = now or datetime.now(UTC)
        try:
            with self.engine.connect() as connection:
                row = connection.execute(
                    select(SessionRow.__table__).where(SessionRow.id_hash == _hash(session_id))
                ).first()
        except SQLAlchemyError as error:
            raise AccessLogUnavailableError(type(error).__name__) from None
        if row is None or _utc(row.expires_at) <= now:
            return None
        return Principal(row.subject, Role(row.role), frozenset(json.loads(row.schools))), _utc(row.expires_at)

    def close(self, session_id: str) -> None:
        """End a session for good (signing out): its cookie then opens nothing."""
        try:
            with self.engine.begin() as connection:
                connection.execute(delete(SessionRow).where(SessionRow.id_hash == _hash(session_id)))
        except SQLAlchemyError as error:
            raise AccessLogUnavailableError(type(error).__name__) from None
