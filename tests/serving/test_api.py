"""The risk service on a real model: who sees what, sign-in failures, traces, reload, hygiene."""

from __future__ import annotations

import csv
import io
import logging
import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from models.matrix import feature_matrix
from models.registry import load_registered
from serving.api import Role
from serving.app import create_app
from tests.serving.conftest import SECRET, ServedDistrict, Service, service_settings, token

pytestmark = pytest.mark.integration
ROLES = [r.value for r in Role]


def _service_log(caplog: pytest.LogCaptureFixture) -> str:
    """What the service logged (httpx, the tests' own client, logs the URLs it calls)."""
    return "\n".join(f"{r.name} {r.getMessage()}" for r in caplog.records if not r.name.startswith("httpx"))


def _endpoints(d: ServedDistrict, own: bool) -> dict[str, tuple[str, str, dict[str, Any] | None]]:
    school = d.own_school if own else d.other_school
    pupil = d.own_pupil if own else d.other_pupil
    today = date.today().isoformat()
    return {
        "school list": ("GET", f"/api/v1/schools/{school}/pupils", None),
        "school export": ("GET", f"/api/v1/schools/{school}/pupils/export", None),
        "pupil": ("GET", f"/api/v1/pupils/{pupil}", None),
        "look-up by INE": ("POST", "/api/v1/pupils/lookup", {"ine": d.ine_of[pupil]}),
        "what-if": ("POST", "/api/v1/model/what-if", {"features": {"grade_level": "2PRO"}}),
        "model": ("GET", "/api/v1/model", None),
        "model card": ("GET", "/api/v1/model/card", None),
        "fairness": ("GET", "/api/v1/model/fairness", None),
        "aggregates": ("GET", "/api/v1/aggregates", None),
        "access log": ("GET", f"/api/v1/access-log?from={today}&to={today}", None),
        "reload": ("POST", "/api/v1/admin/reload", None),
        "objection register": ("GET", "/api/v1/objections", None),
        "suspensions": ("GET", "/api/v1/admin/suspensions", None),
    }


PUPIL_DATA = {"school list", "school export", "pupil", "look-up by INE"}
ALLOWED = {
    "staff": {"model card", "fairness"},
    "reviewer": {"model", "model card", "fairness", "aggregates"},
    "data_scientist": {"what-if", "model", "model card", "fairness", "aggregates"},
    "admin": {"model", "model card", "fairness", "aggregates", "access log", "reload", "suspensions"},
    "dpo": {"model card", "fairness", "objection register"},  # the register, and no pupil data
}


def _expected(role: str, endpoint: str, own: bool) -> int:
    if endpoint in PUPIL_DATA:  # outside the caller's reach answers exactly as what does not exist
        return 200 if role == "staff" and own else 404
    return 200 if endpoint in ALLOWED[role] else 403


@pytest.mark.parametrize("own", [True, False], ids=["own school", "other school"])
@pytest.mark.parametrize("role", ROLES)
def test_access_matrix(service: Service, role: str, own: bool) -> None:
    for name, (method, url, body) in _endpoints(service.district, own).items():
        response = service.client.request(method, url, json=body, headers=service.headers(role))
        assert response.status_code == _expected(role, name, own), (role, name, own, response.text)
        if response.status_code == 404:
            assert response.json() == {"detail": "Introuvable."}  # no hint of existence


def test_a_pupil_outside_reach_answers_like_one_that_does_not_exist(service: Service) -> None:
    staff = service.headers("staff")
    other = service.client.get(f"/api/v1/pupils/{service.district.other_pupil}", headers=staff)
    missing = service.client.get("/api/v1/pupils/0123456789abcdef0123", headers=staff)
    assert other.status_code == missing.status_code == 404 and other.json() == missing.json()
    assert other.headers.get("content-length") == missing.headers.get("content-length")


def _claims(**changes: object) -> dict[str, object]:
    now = datetime.now(UTC)
    claims: dict[str, object] = {
        "sub": "someone",
        "iss": "vigie",
        "aud": "vigie",
        "iat": now,
        "exp": now + timedelta(hours=1),
        "vigie_role": "staff",
        "vigie_schools": ["0750001A"],
    }
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


@pytest.mark.parametrize(
    ("what", "claims", "secret"),
    [
        ("wrong signature", _claims(), "another-secret-0123456789abcdef0123456789"),
        ("expired", _claims(exp=datetime.now(UTC) - timedelta(minutes=1)), SECRET),
        ("wrong audience", _claims(aud="someone-else"), SECRET),
        ("wrong issuer", _claims(iss="someone-else"), SECRET),
        ("no subject", _claims(sub=None), SECRET),
        ("no expiry", _claims(exp=None), SECRET),
        ("no role", _claims(vigie_role=None), SECRET),
        ("unknown role", _claims(vigie_role="superuser"), SECRET),
        ("staff without school", _claims(vigie_schools=[]), SECRET),
    ],
)
def test_refused_tokens_answer_401(service: Service, what: str, claims: dict[str, object], secret: str) -> None:
    bad = jwt.encode(claims, secret, algorithm="HS256")
    response = service.client.get("/api/v1/model/card", headers={"Authorization": f"Bearer {bad}"})
    assert response.status_code == 401, what
    assert response.json() == {"detail": "Jeton refusé."} and response.headers["www-authenticate"] == "Bearer"


def test_no_token_and_garbage_answer_401(service: Service) -> None:
    assert service.client.get("/api/v1/model/card").status_code == 401
    garbage = service.client.get("/api/v1/model/card", headers={"Authorization": "Bearer not.a.jwt"})
    assert garbage.status_code == 401


def test_a_missing_or_short_secret_is_refused_at_start(served_district: ServedDistrict, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"service\.secret is not set"):
        create_app(service_settings(served_district, tmp_path, secret=None), served_district.data_dir)
    with pytest.raises(ValueError, match="too short"):
        create_app(service_settings(served_district, tmp_path, secret="short"), served_district.data_dir)


def test_school_list_filters_pages_and_counts(service: Service) -> None:
    school = service.district.own_school
    url = f"/api/v1/schools/{school}/pupils"
    everyone = service.client.get(url, params={"page_size": 1000}, headers=service.headers("staff")).json()
    assert everyone["page_size"] == service.settings.max_page_size  # capped
    pupils = everyone["pupils"]
    for page in range(2, everyone["total"] // everyone["page_size"] + 2):
        more = service.client.get(url, params={"page_size": 1000, "page": page}, headers=service.headers("staff"))
        pupils += more.json()["pupils"]
    assert everyone["total"] == len(pupils) == sum(everyone["counts"]["by_tier"].values())
    assert len({p["pupil_id"] for p in pupils}) == len(pupils)
    risks = [p["risk"] for p in pupils]
    assert risks == sorted(risks, reverse=True)
    levels = everyone["counts"]["by_grade_level"]
    assert sum(sum(v.values()) for v in levels.values()) == everyone["total"]
    assert {p["change"] for p in pupils} <= {"first", "new_high", "up", "down", "stable"}
    assert any(p["previous_risk"] is not None for p in pupils)
    high = service.client.get(url, params={"tier": "high"}, headers=service.headers("staff")).json()
    assert high["total"] == everyone["counts"]["by_tier"]["high"] and all(p["tier"] == "high" for p in high["pupils"])
    assert all(p["reasons"] for p in high["pupils"])
    level = pupils[0]["grade_level"]
    filtered = service.client.get(url, params={"grade_level": level, "page_size": 2, "page": 2},
                                  headers=service.headers("staff")).json()  # fmt: skip
    assert filtered["total"] == sum(levels[level].values()) and len(filtered["pupils"]) <= 2
    assert all(p["grade_level"] == level for p in filtered["pupils"])
    bad = service.client.get(url, params={"tier": "urgent"}, headers=service.headers("staff"))
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "tier"]


def test_export_is_csv_for_the_staff_meeting(service: Service) -> None:
    url = f"/api/v1/schools/{service.district.own_school}/pupils/export"
    response = service.client.get(url, params={"tier": "high"}, headers=service.headers("staff"))
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert response.text.splitlines()[0] == "pupil_id,grade_level,track,risk,tier,change,reasons"
    assert len(rows) == int(response.headers["x-total-count"]) > 0
    assert all(r["tier"] == "high" and r["reasons"] and 0 <= float(r["risk"]) <= 1 for r in rows)
    listed = service.client.get(url.removesuffix("/export"), params={"tier": "high", "page_size": 200},
                                headers=service.headers("staff")).json()["pupils"]  # fmt: skip
    assert [r["pupil_id"] for r in rows][: len(listed)] == [p["pupil_id"] for p in listed]


def test_pupil_detail_reasons_from_the_batch_or_on_demand(service: Service) -> None:
    d = service.district
    high = service.client.get(f"/api/v1/pupils/{d.own_pupil}", headers=service.headers("staff")).json()
    assert high["tier"] == "high" and high["reasons_source"] == "batch" and high["reasons"]
    assert [h["as_of"] for h in high["history"]] == sorted(h["as_of"] for h in high["history"])
    assert len(high["history"]) == 2 and high["history"][-1]["risk"] == pytest.approx(high["risk"])
    low = service.client.get(f"/api/v1/pupils/{d.own_low_pupil}", headers=service.headers("staff")).json()
    assert low["tier"] == "low" and low["reasons_source"] == "on_demand"
    assert low["reasons"] and all(r["text"] for r in low["reasons"])
    malformed = service.client.get("/api/v1/pupils/not-a-pseudonym", headers=service.headers("staff"))
    assert malformed.status_code == 422


def test_ine_look_up_leaves_no_trace(service: Service, caplog: pytest.LogCaptureFixture) -> None:
    d = service.district
    ine = d.ine_of[d.own_pupil]
    with caplog.at_level(logging.DEBUG):
        found = service.client.post("/api/v1/pupils/lookup", json={"ine": ine}, headers=service.headers("staff"))
        malformed = service.client.post(
            "/api/v1/pupils/lookup", json={"ine": ine + "!"}, headers=service.headers("staff")
        )
    assert found.status_code == 200 and found.json()["pupil_id"] == d.own_pupil
    assert ine not in found.text
    assert malformed.status_code == 422 and ine not in malformed.text
    assert malformed.json()["detail"][0]["loc"] == ["body", "ine"]
    assert ine not in _service_log(caplog) and d.own_pupil not in _service_log(caplog)
    assert "vigie.service" in _service_log(caplog)
    database = service.settings.database_url or ""
    with create_engine(database).connect() as connection:
        rows = connection.execute(text("SELECT * FROM access_log")).fetchall()
    assert not [r for r in rows if ine in " ".join(map(str, r))]
    assert [r for r in rows if r.endpoint == "POST /api/v1/pupils/lookup" and r.pupil_id == d.own_pupil]


def test_every_pupil_read_is_in_the_access_log_and_only_there(
    service: Service, caplog: pytest.LogCaptureFixture
) -> None:
    d = service.district
    headers = service.headers("staff")
    with caplog.at_level(logging.DEBUG):
        service.client.get(f"/api/v1/pupils/{d.own_pupil}", headers=headers)
        service.client.get(f"/api/v1/pupils/{d.other_pupil}", headers=headers)
    logged = _service_log(caplog)
    assert d.own_pupil not in logged and d.other_pupil not in logged
    assert headers["Authorization"].split()[1] not in logged
    assert "GET /api/v1/pupils/{pupil_id} 200" in logged and "GET /api/v1/pupils/{pupil_id} 404" in logged
    today = date.today().isoformat()
    exported = service.client.get(
        f"/api/v1/access-log?from={today}&to={today}&format=json", headers=service.headers("admin")
    ).json()
    endpoint = "GET /api/v1/pupils/{pupil_id}"
    mine = [e for e in exported if e["endpoint"] == endpoint and e["subject"] == "test-staff"]
    assert {(e["pupil_id"], e["status"]) for e in mine} >= {(d.own_pupil, 200), (d.other_pupil, 404)}
    assert all(e["role"] == "staff" for e in mine)


def test_what_if_is_checked_against_the_model(service: Service) -> None:
    headers = service.headers("data_scientist")
    vector = {"grade_level": "2PRO", "unjustified_absence_rate_4w": 0.3, "grade_mean_year": 6.0}
    response = service.client.post("/api/v1/model/what-if", json={"features": vector}, headers=headers)
    assert response.status_code == 200
    model = load_registered("vigie-dropout", "champion").estimator
    frame = {name: vector.get(name, np.nan) for name in model.feature_names_in_}
    import pandas as pd

    expected = model.predict_proba(feature_matrix(pd.DataFrame([frame]), list(model.feature_names_in_)))[0, 1]
    assert response.json()["risk"] == pytest.approx(expected)
    for bad, field in (({"shoe_size": 42}, "shoe_size"), ({"grade_level": "CM2"}, "grade_level"),
                       ({"grade_mean_year": "douze"}, "grade_mean_year")):  # fmt: skip
        refused = service.client.post("/api/v1/model/what-if", json={"features": bad}, headers=headers)
        assert refused.status_code == 422 and refused.json()["detail"][0]["loc"][:3] == ["body", "features", field]


def test_hygiene_headers_cors_and_size(service: Service) -> None:
    response = service.client.get(
        "/api/v1/model/card", headers={**service.headers("staff"), "Origin": "https://elsewhere.example"}
    )
    assert response.headers["x-content-type-options"] == "nosniff" and response.headers["x-frame-options"] == "DENY"
    assert response.headers["cache-control"] == "no-store" and "access-control-allow-origin" not in response.headers
    huge = service.client.post(
        "/api/v1/model/what-if", content=b"{" + b" " * 100_000 + b"}", headers=service.headers("data_scientist")
    )
    assert huge.status_code == 413 and "Traceback" not in huge.text
    assert service.client.get("/healthz").json() == {"status": "ok"}
    local = TestClient(service.client.app, client=("127.0.0.1", 50000))  # /metrics: loopback only by default
    assert local.get("/metrics").status_code == 200
    assert "pupil_id" not in local.get("/metrics").text.replace("{pupil_id}", "")


def test_reload_with_a_broken_new_batch_keeps_serving_the_old(served_district: ServedDistrict, tmp_path: Path) -> None:
    history = tmp_path / "data" / "score_history"
    shutil.copytree(served_district.data_dir / "score_history", history)
    settings = service_settings(served_district, tmp_path)
    with TestClient(create_app(settings, tmp_path / "data"), raise_server_exceptions=False) as client:
        before = client.get("/readyz").json()
        assert before["ready"] and before["last_reload_error"] is None
        newest = sorted(history.glob("as_of=*"))[-1]
        broken = history / "as_of=2099-01-01"
        broken.mkdir()
        (broken / next(newest.glob("*.parquet")).name).write_bytes(b"not parquet")
        admin = {"Authorization": f"Bearer {token(settings, 'admin')}"}
        result = client.post("/api/v1/admin/reload", headers=admin).json()
        assert result["reloaded"] is False and result["error"]
        assert result["batch_as_of"] == before["batch_as_of"]
        after = client.get("/readyz").json()
        assert after["ready"] and after["batch_as_of"] == before["batch_as_of"] and after["last_reload_error"]
        staff = {"Authorization": f"Bearer {token(settings, 'staff', [served_district.own_school])}"}
        assert client.get(f"/api/v1/pupils/{served_district.own_pupil}", headers=staff).status_code == 200
        shutil.rmtree(broken)
        fixed = client.post("/api/v1/admin/reload", headers=admin).json()
        assert fixed["reloaded"] is True and client.get("/readyz").json()["last_reload_error"] is None


def test_nothing_to_serve_is_503_not_a_crash(served_district: ServedDistrict, tmp_path: Path) -> None:
    settings = service_settings(served_district, tmp_path)
    (tmp_path / "empty" / "score_history").mkdir(parents=True)
    with TestClient(create_app(settings, tmp_path / "empty"), raise_server_exceptions=False) as client:
        ready = client.get("/readyz")
        assert ready.status_code == 503 and "no score batch" in ready.json()["last_reload_error"]
        staff = {"Authorization": f"Bearer {token(settings, 'staff', [served_district.own_school])}"}
        response = client.get(f"/api/v1/pupils/{served_district.own_pupil}", headers=staff)
        assert response.status_code == 503 and "Traceback" not in response.text
    unknown = service_settings(served_district, tmp_path, model_reference="challenger")
    with TestClient(create_app(unknown, served_district.data_dir), raise_server_exceptions=False) as client:
        ready = client.get("/readyz")
        assert ready.status_code == 503
        error = ready.json()["last_reload_error"]
        assert "has no alias 'challenger'; its versions: 1" in error and "(champion)" in error


def test_a_pupil_read_whose_trace_cannot_be_written_is_refused(served_district: ServedDistrict, tmp_path: Path) -> None:
    settings = service_settings(served_district, tmp_path)
    staff = {"Authorization": f"Bearer {token(settings, 'staff', [served_district.own_school])}"}
    url = f"/api/v1/pupils/{served_district.own_pupil}"
    with TestClient(create_app(settings, served_district.data_dir), raise_server_exceptions=False) as client:
        assert client.get(url, headers=staff).status_code == 200
        engine = client.app.state.access_log.engine  # type: ignore[attr-defined]
        with engine.begin() as connection:
            connection.execute(text("ALTER TABLE access_log RENAME TO access_log_away"))
        refused = client.get(url, headers=staff)
        assert refused.status_code == 503 and "journal des accès" in refused.json()["detail"]
        assert client.get("/readyz").json()["database"] == "ok"
        with engine.begin() as connection:
            connection.execute(text("ALTER TABLE access_log_away RENAME TO access_log"))
        assert client.get(url, headers=staff).status_code == 200


def test_an_openid_connect_provider_signs_in_staff(served_district: ServedDistrict, tmp_path: Path) -> None:
    from cryptography.hazmat.primitives.asymmetric import rsa

    from tests.support.oidc import AUDIENCE, ISSUER, oidc_provider

    with oidc_provider() as provider:
        settings = service_settings(
            served_district,
            tmp_path,
            secret=None,
            auth="oidc",
            oidc_issuer=ISSUER,
            oidc_audience=AUDIENCE,
            oidc_jwks_url=provider.jwks_url,
        )
        own = served_district.own_school
        url = f"/api/v1/pupils/{served_district.own_pupil}"
        with TestClient(create_app(settings, served_district.data_dir), raise_server_exceptions=False) as client:

            def status(bearer: str) -> int:
                return client.get(url, headers={"Authorization": f"Bearer {bearer}"}).status_code

            assert status(provider.token(vigie_schools=[own])) == 200
            assert status(provider.token(vigie_schools=[served_district.other_school])) == 404
            assert status(provider.token(vigie_schools=[own], aud="another-service")) == 401
            assert status(provider.token(vigie_schools=[own], iss="https://elsewhere.example")) == 401
            expired = datetime.now(UTC) - timedelta(minutes=5)
            assert status(provider.token(vigie_schools=[own], exp=expired)) == 401
            assert status(provider.token(vigie_schools=[own], vigie_role=None)) == 401
            assert status(provider.token(vigie_schools=[own], sub=None)) == 401
            stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            assert status(provider.token(vigie_schools=[own], key=stranger)) == 401
            hs256 = jwt.encode({"sub": "x", "iss": ISSUER, "aud": AUDIENCE}, "x" * 40, algorithm="HS256")
            assert status(hs256) == 401


def test_the_model_endpoint_gives_the_batch_thresholds_and_capacity(service: Service) -> None:
    """The history keeps each batch's cut-offs and capacity beside it (they used to be lost)."""
    info = service.client.get("/api/v1/model", headers=service.headers("data_scientist")).json()
    assert info["thresholds"]["scope"] == "overall"
    assert 0 < info["thresholds"]["medium"]["all"] < info["thresholds"]["high"]["all"] < 1
