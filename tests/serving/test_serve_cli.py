"""The service as staff meet it: `vigie token`, then `vigie serve` on loopback (real uvicorn)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from tests.serving.conftest import SECRET, ServedDistrict
from tests.support.loopback import free_port, wait_until_ready
from vigie.cli import app

pytestmark = pytest.mark.integration


def _environment(district: ServedDistrict, tmp_path: Path) -> dict[str, str]:
    return {
        "VIGIE_DATA_DIR": str(district.data_dir),
        "MLFLOW_TRACKING_URI": district.tracking_uri,
        "VIGIE_SERVICE__SECRET": SECRET,
        "VIGIE_SERVICE__DATABASE_URL": f"sqlite:///{tmp_path / 'access.db'}",
        "VIGIE_SERVICE__PSEUDONYM_KEY_FILE": str(district.key_file),
    }


def test_token_prints_the_token_alone(
    served_district: ServedDistrict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in _environment(served_district, tmp_path).items():
        monkeypatch.setenv(name, value)
    runner = CliRunner()
    issued = runner.invoke(app, ["token", "--role", "staff", "--school", "0750001A", "--ttl", "8h"])
    assert issued.exit_code == 0, issued.output
    assert issued.stdout.count(".") == 2 and len(issued.stdout.strip().split()) == 1
    assert runner.invoke(app, ["token", "--role", "staff"]).exit_code == 2
    assert runner.invoke(app, ["token", "--role", "staff", "--school", "750001A"]).exit_code == 2
    assert runner.invoke(app, ["token", "--role", "superuser"]).exit_code == 2
    monkeypatch.setenv("VIGIE_SERVICE__SECRET", "short")
    refused = runner.invoke(app, ["token", "--role", "admin"])
    assert refused.exit_code == 2 and "too short" in refused.output


def test_vigie_serve_answers_on_loopback_and_logs_no_pseudonym(served_district: ServedDistrict, tmp_path: Path) -> None:
    env = {**os.environ, **_environment(served_district, tmp_path)}
    env.pop("VIGIE_CONFIG", None)
    port = free_port()
    vigie = str(Path(sys.executable).parent / "vigie")
    issued = subprocess.run(
        [vigie, "token", "--role", "staff", "--school", served_district.own_school],
        env=env, capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip
    token = issued.stdout.strip()
    server = subprocess.Popen(
        [vigie, "serve", "--port", str(port)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        base = f"http://127.0.0.1:{port}"
        if not wait_until_ready(f"{base}/readyz", seconds=60):
            pytest.fail("the service did not become ready within a minute")
        headers = {"Authorization": f"Bearer {token}"}
        pupil = httpx.get(f"{base}/api/v1/pupils/{served_district.own_pupil}", headers=headers, timeout=10)
        assert pupil.status_code == 200 and pupil.json()["pupil_id"] == served_district.own_pupil
        other = httpx.get(f"{base}/api/v1/pupils/{served_district.other_pupil}", headers=headers, timeout=10)
        assert other.status_code == 404
        docs = httpx.get(f"{base}/openapi.json", timeout=10).json()
        assert "/api/v1/pupils/{pupil_id}" in docs["paths"]
        # the real server: a 4 MB anonymous header is refused (431) with the security headers
        huge = httpx.get(f"{base}/healthz", headers={"X-Padding": "a" * 4_000_000}, timeout=30)
        assert huge.status_code == 431 and huge.headers["x-frame-options"] == "DENY"
        assert huge.headers["content-security-policy"].startswith("default-src 'self'")
        assert httpx.get(f"{base}/metrics", timeout=10).status_code == 200  # Prometheus on loopback
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=30)
    assert served_district.own_pupil not in output and served_district.other_pupil not in output
    assert token not in output and "Traceback" not in output


def test_access_log_export_and_purge_from_the_command_line(
    served_district: ServedDistrict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json
    from datetime import date

    from fastapi.testclient import TestClient

    from serving.app import create_app
    from tests.serving.conftest import service_settings, token

    for name, value in _environment(served_district, tmp_path).items():
        monkeypatch.setenv(name, value)
    settings = service_settings(served_district, tmp_path, database_url=f"sqlite:///{tmp_path / 'access.db'}")
    staff = {"Authorization": f"Bearer {token(settings, 'staff', [served_district.own_school])}"}
    with TestClient(create_app(settings, served_district.data_dir)) as client:
        assert client.get(f"/api/v1/pupils/{served_district.own_pupil}", headers=staff).status_code == 200
    today = date.today().isoformat()
    runner = CliRunner()
    exported = runner.invoke(app, ["access-log", "export", "--from", today, "--to", today, "--format", "json"])
    assert exported.exit_code == 0, exported.output
    entries = json.loads(exported.stdout)
    assert [e["pupil_id"] for e in entries] == [served_district.own_pupil] and entries[0]["subject"] == "test-staff"
    as_csv = runner.invoke(app, ["access-log", "export", "--from", today, "--to", today])
    assert as_csv.stdout.splitlines()[0] == "at,subject,role,endpoint,school_id,pupil_id,status"
    purged = runner.invoke(app, ["access-log", "purge"])
    assert purged.exit_code == 0 and "0 entries older than 365 days deleted" in purged.output
