"""The access log on SQLite and on a real PostgreSQL server: append, export, purge, fail closed."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from serving.api.access_log import Access, AccessEntry, AccessLog, make_engine, migrate
from serving.app import create_app
from tests.serving.conftest import ServedDistrict, service_settings, token
from tests.support.postgres import PostgresServer

pytestmark = pytest.mark.integration


def test_append_export_and_purge_exactly_what_is_due(database_url: str) -> None:
    migrate(database_url)
    migrate(database_url)  # idempotent: a second start changes nothing
    log = AccessLog(make_engine(database_url))
    with Session(log.engine) as session, session.begin():
        session.query(AccessEntry).delete()
    now = datetime(2026, 11, 25, 12, tzinfo=UTC)
    with Session(log.engine) as session, session.begin():
        for days in (400, 366, 364, 10):
            entry = Access(f"agent-{days}", "staff", "GET /api/v1/pupils/{pupil_id}", 200, "0750001A", "ab" * 10)
            session.add(AccessEntry(at=now - timedelta(days=days), **entry.__dict__))
    log.record(Access("agent-now", "admin", "GET /api/v1/access-log", 200))
    assert log.purge(365, now=now) == 2
    kept = json.loads(log.export(now - timedelta(days=1000), datetime.now(UTC) + timedelta(days=1), "json"))
    assert [e["subject"] for e in kept] == ["agent-364", "agent-10", "agent-now"]
    csv = log.export(now - timedelta(days=365), now - timedelta(days=1), "csv").splitlines()
    assert csv[0] == "at,subject,role,endpoint,school_id,pupil_id,status" and len(csv) == 3


def test_the_service_refuses_untraced_reads_and_recovers_when_postgres_is_back(
    served_district: ServedDistrict, postgres: PostgresServer, tmp_path: Path
) -> None:
    settings = service_settings(served_district, tmp_path, database_url=postgres.url)
    staff = {"Authorization": f"Bearer {token(settings, 'staff', [served_district.own_school])}"}
    url = f"/api/v1/pupils/{served_district.own_pupil}"
    with TestClient(create_app(settings, served_district.data_dir), raise_server_exceptions=False) as client:
        assert client.get(url, headers=staff).status_code == 200
        postgres.stop()
        try:
            refused = client.get(url, headers=staff)
            assert refused.status_code == 503 and "journal des accès" in refused.json()["detail"]
            ready = client.get("/readyz")
            assert ready.status_code == 503 and ready.json()["database"] == "unavailable"
        finally:
            postgres.start()
        assert client.get(url, headers=staff).status_code == 200  # no restart of the service needed
        assert client.get("/readyz").json()["database"] == "ok"
    log = AccessLog(make_engine(postgres.url))
    today = datetime.now(UTC) - timedelta(hours=1)
    traced = json.loads(log.export(today, datetime.now(UTC) + timedelta(hours=1), "json"))
    reads = [e for e in traced if e["pupil_id"] == served_district.own_pupil and e["status"] == 200]
    assert len(reads) >= 2  # the refused read was never served, so never traced as served
