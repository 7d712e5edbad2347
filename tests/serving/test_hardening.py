"""The findings of the red-team run (issue 23), one test or more each: metrics, malformed claims,
server-side sessions, access-log dates, CSV cells, header size, the plan review form, /docs."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pyarrow as pa
import pytest
from fastapi.testclient import TestClient

from serving.api import Role, issue_token
from serving.api.service.reads import Export
from serving.app import SECURITY_HEADERS, create_app
from serving.pages.wording import spreadsheet_csv
from tests.serving.conftest import SECRET, ServedDistrict, Service, service_settings
from tests.support.oidc import AUDIENCE, ISSUER, oidc_provider

pytestmark = pytest.mark.integration
FORMULAS = ['=HYPERLINK("https://evil.example","ok")', "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx"]


def _today() -> str:
    return datetime.now(UTC).date().isoformat()


def _log(service: Service) -> list[dict[str, object]]:
    answer = service.client.get(
        f"/api/v1/access-log?from={_today()}&to={_today()}&format=json", headers=service.headers("admin")
    )
    assert answer.status_code == 200, answer.text
    return list(answer.json())


def _loopback(service: Service) -> TestClient:
    """The module's app as a client on this machine sees it (Prometheus on the same host)."""
    return TestClient(service.client.app, client=("127.0.0.1", 50000), raise_server_exceptions=False)


# --- 1. metrics ---------------------------------------------------------------------------------


def test_metrics_carry_route_templates_only_whatever_the_request(service: Service) -> None:
    local, pupil = _loopback(service), service.district.own_pupil
    staff = service.headers("staff")
    slash = local.get(f"/api/v1/pupils/{pupil}/", headers=staff, follow_redirects=False)
    assert slash.status_code == 404 and "location" not in slash.headers  # no redirect, none built from Host
    assert local.get(f"/api/v1/pupils/{pupil}", headers=staff).status_code == 200
    for n in range(5):
        local.get(f"/nulle-part-{n}-{pupil}")
        local.request(f"INVENTED{n}", "/healthz")
    metrics = local.get("/metrics")
    assert metrics.status_code == 200
    handlers = {line.split('handler="', 1)[1].split('"', 1)[0] for line in metrics.text.splitlines()
                if 'handler="' in line}  # fmt: skip
    templates = set(service.client.app.openapi()["paths"]) | {"/metrics"}  # type: ignore[attr-defined]
    assert "/api/v1/pupils/{pupil_id}" in handlers and "none" in handlers and handlers <= templates | {"none"}
    assert pupil not in metrics.text and "nulle-part" not in metrics.text and "INVENTED" not in metrics.text


def test_metrics_are_for_loopback_by_default_or_a_bearer_token_or_nobody(
    service: Service, served_district: ServedDistrict, tmp_path: Path
) -> None:
    assert service.client.get("/metrics").status_code == 404  # a client from elsewhere
    assert _loopback(service).get("/metrics").status_code == 200
    scrape = "metrics-token-0123456789abcdef0123456789"
    guarded = service_settings(served_district, tmp_path, metrics="token", metrics_token=scrape)
    client = TestClient(create_app(guarded, served_district.data_dir, load_on_start=False), client=("127.0.0.1", 1))
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/metrics", headers={"Authorization": f"Bearer {scrape}"}).status_code == 200
    off = service_settings(served_district, tmp_path, metrics="off")
    client = TestClient(create_app(off, served_district.data_dir, load_on_start=False), client=("127.0.0.1", 1))
    assert client.get("/metrics").status_code == 404
    with pytest.raises(ValueError, match="metrics_token"):
        service_settings(served_district, tmp_path, metrics="token", metrics_token="short")


# --- 2. malformed claims in a validly signed token ------------------------------------------------


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
    return {**claims, **changes}


MALFORMED = [{"vigie_role": {"staff": True}}, {"vigie_role": 3}, {"vigie_role": [["staff"]]},
             {"vigie_role": ["staff", "admin"]}, {"vigie_schools": {"uai": "0750001A"}},
             {"vigie_schools": [{"uai": "0750001A"}]}, {"sub": {"id": 1}}]  # fmt: skip


@pytest.mark.parametrize("changes", MALFORMED, ids=[json.dumps(c) for c in MALFORMED])
def test_malformed_claims_of_a_valid_signature_are_a_401_never_a_500(service: Service, changes: dict[str, Any]) -> None:
    bad = jwt.encode(_claims(**changes), SECRET, algorithm="HS256")
    api = service.client.get("/api/v1/model/card", headers={"Authorization": f"Bearer {bad}"})
    assert api.status_code == 401 and api.json() == {"detail": "Jeton refusé."}
    client = service.client
    client.cookies.clear()
    form = client.get("/")
    csrf = form.text.split('name="csrf" value="', 1)[1][:64]
    page = client.post("/connexion", data={"token": bad, "csrf": csrf})
    assert page.status_code == 401 and "text/html" in page.headers["content-type"]
    assert "Ce jeton n&#39;est pas valide" in page.text or "Ce jeton n'est pas valide" in page.text
    assert client.get("/comprendre").status_code == 200


def test_roles_as_a_list_and_nested_claims_of_a_provider_are_read_and_mapped(
    served_district: ServedDistrict, tmp_path: Path
) -> None:
    own, other = served_district.own_school, served_district.other_school
    with oidc_provider() as provider:
        settings = service_settings(
            served_district, tmp_path, secret=None, auth="oidc", oidc_issuer=ISSUER, oidc_audience=AUDIENCE,
            oidc_jwks_url=provider.jwks_url, role_claim="realm_access.roles", schools_claim="education.uai",
            role_map={"vigie-cpe": "staff", "vigie-dpd": "admin"},
        )  # fmt: skip
        with TestClient(create_app(settings, served_district.data_dir), raise_server_exceptions=False) as client:

            def status(url: str, roles: Any, schools: Any = None) -> int:
                nested: dict[str, Any] = {"realm_access": {"roles": roles}, "education": {"uai": schools}}
                bearer = provider.token(vigie_role=None, vigie_schools=None, **nested)
                return client.get(url, headers={"Authorization": f"Bearer {bearer}"}).status_code

            pupil = f"/api/v1/pupils/{served_district.own_pupil}"
            assert status(pupil, ["offline_access", "vigie-cpe"], [own]) == 200
            assert status(pupil, ["vigie-cpe"], [other]) == 404
            assert status(pupil, "vigie-cpe", own) == 200  # a single value as a string
            assert status("/api/v1/access-log?from=2026-01-01&to=2026-01-01", ["vigie-dpd"]) == 200
            assert status(pupil, ["staff"], [own]) == 401  # with a map, only the provider's names count
            assert status(pupil, ["vigie-cpe", "vigie-dpd"], [own]) == 401  # two roles: which one?
            assert status(pupil, {"vigie-cpe": True}, [own]) == 401
            assert status(pupil, ["vigie-cpe"], {"uai": own}) == 401
            assert status(pupil, ["vigie-cpe"], None) == 401  # staff without a school
            bearer = provider.token(vigie_role=None, vigie_schools=None, realm_access=["vigie-cpe"])
            assert client.get(pupil, headers={"Authorization": f"Bearer {bearer}"}).status_code == 401


# --- 3. server-side sessions -------------------------------------------------------------------


def test_signing_out_revokes_the_session_and_its_csrf_tokens(service: Service) -> None:
    from tests.serving.test_pages import _csrf, _signed_in

    d = service.district
    client = _signed_in(service)
    session = client.cookies["vigie_session"]
    assert session.count(".") != 2 and not session.startswith("eyJ")  # an opaque id, not the token
    csrf = _csrf(client.get(f"/eleves/{d.own_pupil}").text)
    out = client.post("/deconnexion", data={"csrf": csrf}, follow_redirects=False)
    assert out.status_code == 303
    client.cookies.set("vigie_session", session)  # replayed after sign-out
    assert client.get(f"/ecoles/{d.own_school}", follow_redirects=False).headers.get("location") == "/"
    write = client.post(f"/eleves/{d.own_pupil}/plans", data={"csrf": csrf, "action": "autre", "owner": "cpe"},
                        follow_redirects=False)  # fmt: skip
    assert write.status_code == 303 and write.headers["location"] == "/"
    plans = service.client.get(f"/api/v1/pupils/{d.own_pupil}/plans", headers=service.headers("staff")).json()
    assert all(p["action"] != "autre" for p in plans)  # nothing was written with the dead session
    again = client.post("/deconnexion", data={"csrf": csrf}, follow_redirects=False)
    assert again.status_code == 303 and again.headers["location"] == "/"


def test_a_session_ends_at_the_longest_session_length(served_district: ServedDistrict, tmp_path: Path) -> None:
    from tests.serving.conftest import token
    from tests.serving.test_pages import _csrf

    settings = service_settings(served_district, tmp_path, session_max_hours=0.25)
    app = create_app(settings, served_district.data_dir, load_on_start=False)
    with TestClient(app) as client:
        csrf = _csrf(client.get("/").text)
        staff = token(settings, "staff", [served_district.own_school], ttl_hours=2)
        answer = client.post("/connexion", data={"token": staff, "csrf": csrf}, follow_redirects=False)
        cookie = next(h for h in answer.headers.get_list("set-cookie") if h.startswith("vigie_session="))
        assert 890 <= int(cookie.split("Max-Age=", 1)[1].split(";", 1)[0]) <= 900
        session = client.cookies["vigie_session"]
        store = app.state.sessions
        assert store.find(session) is not None
        assert store.find(session, now=datetime.now(UTC) + timedelta(minutes=16)) is None


def test_sessions_are_kept_and_expire_on_sqlite_and_postgresql(database_url: str) -> None:
    from serving.api.access_log import make_engine, migrate
    from serving.api.auth import Principal
    from serving.api.sessions import SessionStore

    migrate(database_url)
    store = SessionStore(make_engine(database_url))
    now = datetime.now(UTC)
    caller = Principal("agent-1", Role.STAFF, frozenset({"0750001A", "0750002B"}))
    session = store.open(caller, now + timedelta(hours=1), now)
    found = store.find(session, now)
    assert (
        found is not None and found[0] == caller and abs(found[1] - (now + timedelta(hours=1))) < timedelta(seconds=1)
    )
    assert store.find(session, now + timedelta(hours=2)) is None and store.find("not-a-session", now) is None
    store.close(session)
    assert store.find(session, now) is None


def test_embedded_tokens_live_no_longer_than_the_setting(
    service: Service, served_district: ServedDistrict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from vigie.cli import app as cli

    monkeypatch.setenv("VIGIE_SERVICE__SECRET", SECRET)
    runner = CliRunner()
    refused = runner.invoke(cli, ["token", "--role", "admin", "--ttl", "3650d"])
    assert refused.exit_code == 2 and "at most" in refused.output
    assert runner.invoke(cli, ["token", "--role", "admin", "--ttl", "7d"]).exit_code == 0
    decade = jwt.encode(_claims(exp=datetime.now(UTC) + timedelta(days=3650)), SECRET, algorithm="HS256")
    assert service.client.get("/api/v1/model/card", headers={"Authorization": f"Bearer {decade}"}).status_code == 401


# --- 4. access-log export dates ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "field"), [("2026-01-01", "9999-12-31", "to"), ("0001-01-01", "2026-01-01", "from")]
)
def test_an_access_log_export_out_of_range_is_a_422_naming_the_field_and_traced_as_such(
    service: Service, start: str, end: str, field: str
) -> None:
    answer = service.client.get(f"/api/v1/access-log?from={start}&to={end}", headers=service.headers("admin"))
    assert answer.status_code == 422, answer.text
    assert [e["loc"] for e in answer.json()["detail"]] == [["query", field]]
    statuses = [e["status"] for e in _log(service) if e["endpoint"] == "GET /api/v1/access-log"]
    assert 422 in statuses


# --- 5. CSV cells -------------------------------------------------------------------------------


def test_one_helper_makes_formula_cells_inert_and_leaves_the_rest() -> None:
    from serving.api.csv_cells import neutralise, neutralise_table

    for formula in FORMULAS:
        assert neutralise(formula) == "'" + formula
    assert neutralise("0750001A") == "0750001A" and neutralise(-0.5) == -0.5 and neutralise(None) is None
    table = neutralise_table(pa.table({"text": [*FORMULAS, "ok", None], "number": [-1.0] * 8}))
    assert table.column("text").to_pylist() == [*("'" + f for f in FORMULAS), "ok", None]
    assert table.column("number").to_pylist() == [-1.0] * 8


#: Whatever writes CSV in the service; ``serving/batch.py`` writes the score file, whose form
#: ../shared/data-contract.md fixes (its cells are codes, numbers, dates and a JSON list).
CSV_WRITERS = ("to_csv(", "csv.writer(", "DictWriter(", "write_csv(")


def test_every_csv_writer_of_the_service_uses_the_one_helper() -> None:
    root = Path(__file__).resolve().parents[2] / "serving"
    writers = [p for p in root.rglob("*.py") if p.name != "batch.py" and any(w in p.read_text() for w in CSV_WRITERS)]
    assert {p.name for p in writers} >= {"access_log.py", "reads.py", "wording.py"}
    for path in writers:
        assert "neutralise" in path.read_text(), f"{path} writes CSV without serving.api.csv_cells"


def _cells(text: str, delimiter: str = ",") -> list[str]:
    return [cell for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter) for cell in row]


def test_the_access_log_csv_never_carries_a_formula(service: Service) -> None:
    settings = service.settings
    for subject in FORMULAS:
        forged = issue_token(settings, subject=subject, role=Role.REVIEWER, schools=[], ttl=timedelta(minutes=5))
        assert (
            service.client.get("/api/v1/model/card", headers={"Authorization": f"Bearer {forged}"}).status_code == 200
        )
    answer = service.client.get(f"/api/v1/access-log?from={_today()}&to={_today()}", headers=service.headers("admin"))
    cells = _cells(answer.text)
    for formula in FORMULAS:
        assert "'" + formula in cells
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
    as_json = _log(service)  # JSON is for programs: the subject as it was
    assert {e["subject"] for e in as_json} >= set(FORMULAS)


def test_the_pupils_exports_never_carry_a_formula() -> None:
    rows = pa.table(
        {
            "pupil_id": ["0123456789abcdef0123", "=1+2"],
            "grade_level": ["2PRO", "3EME"],
            "track": ["pro", "gt"],
            "risk": [0.5, 0.25],
            "tier": ["high", "low"],
            "change": ["up", "first"],
            "reasons": ["@SUM(A1)", "-x"],
        }
    )
    export = Export(rows, "eleves", 2)
    for text, delimiter in ((export.csv().decode(), ","), (spreadsheet_csv(rows).decode("utf-8-sig"), ";")):
        cells = _cells(text, delimiter)
        assert {"'=1+2", "'@SUM(A1)", "'-x"} <= set(cells), cells
        assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]


# --- 6. header size -----------------------------------------------------------------------------


def test_oversized_headers_are_a_431_and_limits_carry_the_security_headers(service: Service) -> None:
    huge = service.client.get("/healthz", headers={"X-Padding": "a" * 20_000})
    assert huge.status_code == 431 and "Traceback" not in huge.text
    declared = service.client.post(
        "/api/v1/model/what-if", content=b"{" + b" " * 100_000 + b"}", headers=service.headers("data_scientist")
    )
    assert declared.status_code == 413
    for answer in (huge, declared):
        for name, value in SECURITY_HEADERS.items():
            assert answer.headers.get(name) == value, (answer.status_code, name)
    assert service.client.get("/healthz", headers={"X-Padding": "a" * 8_000}).status_code == 200


# --- 7. the plan review form --------------------------------------------------------------------


def test_the_plan_review_form_answers_alike_for_another_schools_plan_and_a_random_id(service: Service) -> None:
    from tests.serving.test_pages import _csrf, _signed_in

    d = service.district
    made = service.client.post(f"/api/v1/pupils/{d.other_pupil}/plans", json={"action": "tutorat", "owner": "cpe"},
                               headers=service.headers("staff", [d.other_school]))  # fmt: skip
    assert made.status_code == 201, made.text
    before = len([e for e in _log(service) if e["endpoint"] == "POST /suivis/{plan_id}" and e["status"] == 404])
    client = _signed_in(service)
    csrf = _csrf(client.get(f"/eleves/{d.own_pupil}").text)
    forms = [{"status": "en_cours", "review_date": "2052-01-01"}, {"status": "clos"}, {"status": "en_cours"}]
    answers = [client.post(f"/suivis/{plan_id}", data={"csrf": csrf, **form})
               for plan_id in (made.json()["id"], "0123456789abcdef0123456789abcdef") for form in forms]  # fmt: skip
    assert {a.status_code for a in answers} == {404}
    assert len({a.text for a in answers}) == 1  # nothing tells them apart
    page = answers[0].text
    assert "Page introuvable" in page and "value_error" not in page and "[{" not in page and "&#39;loc" not in page
    traced = [e for e in _log(service) if e["endpoint"] == "POST /suivis/{plan_id}" and e["status"] == 404]
    assert len(traced) - before == len(answers)
    assert [e["pupil_id"] for e in traced[-len(answers) :]].count(d.other_pupil) == len(forms)


# --- 8. /docs -----------------------------------------------------------------------------------


def test_the_api_documentation_is_served_from_local_files_without_inline_script(service: Service) -> None:
    import re

    docs = service.client.get("/docs")
    assert docs.status_code == 200 and "default-src 'self'" in docs.headers["content-security-policy"]
    assert not re.findall(r'(?:src|href)="(?:https?:)?//', docs.text)  # no CDN
    assert not re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", docs.text)  # every script is a file
    for asset in re.findall(r'(?:src|href)="(/static/[^"]+)"', docs.text):
        assert service.client.get(asset).status_code == 200, asset
    assert service.client.get("/redoc").status_code == 404  # ReDoc is not offered
