"""The pages over HTTP: the session cookie, CSRF, French error pages, nothing from outside,
and page reads traced like API reads."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from serving.app import create_app
from tests.serving.conftest import ServedDistrict, Service, service_settings, token
from tests.support.oidc import AUDIENCE, CLIENT_ID, ISSUER, oidc_provider


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]{64})"', html)
    assert found, "no CSRF token in the form"
    return found.group(1)


def _signed_in(service: Service, schools: list[str] | None = None) -> TestClient:
    client = service.client
    client.cookies.clear()
    form = client.get("/")
    answer = client.post(
        "/connexion",
        data={"token": token(service.settings, "staff", schools or [service.district.own_school]),
              "csrf": _csrf(form.text)},
        follow_redirects=False,
    )  # fmt: skip
    assert answer.status_code == 303, answer.text
    return client


def test_the_session_cookie_is_httponly_strict_and_ends_with_the_token(service: Service) -> None:
    client = service.client
    client.cookies.clear()
    csrf = _csrf(client.get("/").text)
    short = token(service.settings, "staff", [service.district.own_school], ttl_hours=0.5)
    answer = client.post("/connexion", data={"token": short, "csrf": csrf}, follow_redirects=False)
    cookie = next(h for h in answer.headers.get_list("set-cookie") if h.startswith("vigie_session="))
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # plain HTTP on loopback; behind TLS it is set (next test)
    max_age = int(re.search(r"Max-Age=(\d+)", cookie).group(1))  # type: ignore[union-attr]
    assert 1700 <= max_age <= 1800
    assert answer.headers["location"] == "/"
    assert client.get("/", follow_redirects=False).headers["location"] == f"/ecoles/{service.district.own_school}"


def test_the_session_cookie_is_secure_over_https(served_district: ServedDistrict, tmp_path: Path) -> None:
    tmp = tmp_path
    app = create_app(service_settings(served_district, tmp), served_district.data_dir, load_on_start=False)
    with TestClient(app, base_url="https://vigie.example") as client:
        csrf = _csrf(client.get("/").text)
        settings = service_settings(served_district, tmp)
        answer = client.post("/connexion", data={"token": token(settings, "staff", ["0750001A"]), "csrf": csrf},
                             follow_redirects=False)  # fmt: skip
        assert "Secure" in next(h for h in answer.headers.get_list("set-cookie") if h.startswith("vigie_session="))


def test_forms_without_their_csrf_token_are_refused(service: Service) -> None:
    client = service.client
    client.cookies.clear()
    client.get("/")
    staff = token(service.settings, "staff", [service.district.own_school])
    for csrf in ("", "0" * 64):
        refused = client.post("/connexion", data={"token": staff, "csrf": csrf}, follow_redirects=False)
        assert refused.status_code == 403 and "Le formulaire a expiré" in html.unescape(refused.text)
    signed_in = _signed_in(service)
    page = signed_in.get(f"/ecoles/{service.district.own_school}")
    assert signed_in.post("/deconnexion", data={"csrf": "nope"}).status_code == 403
    assert signed_in.post("/deconnexion", json={"csrf": _csrf(page.text)}).status_code == 415
    out = signed_in.post("/deconnexion", data={"csrf": _csrf(page.text)}, follow_redirects=False)
    assert out.status_code == 303 and 'vigie_session=""' in out.headers["set-cookie"]


def test_a_refused_or_expired_token_never_opens_a_session(service: Service) -> None:
    client = service.client
    client.cookies.clear()
    csrf = _csrf(client.get("/").text)
    expired = token(service.settings, "staff", [service.district.own_school], ttl_hours=-1)
    for bad in ("pas-un-jeton", expired):
        answer = client.post("/connexion", data={"token": bad, "csrf": csrf})
        assert answer.status_code == 401 and "Ce jeton n'est pas valide ou a expiré" in html.unescape(answer.text)
        assert "vigie_session" not in answer.headers.get("set-cookie", "")
    client.cookies.set("vigie_session", expired)
    assert client.get(f"/ecoles/{service.district.own_school}", follow_redirects=False).headers["location"] == "/"


def test_pages_load_nothing_from_outside_and_run_no_inline_script(service: Service) -> None:
    client = _signed_in(service)
    for path in ("/", f"/ecoles/{service.district.own_school}", f"/eleves/{service.district.own_pupil}", "/comprendre"):
        answer = client.get(path)
        assert answer.status_code == 200, path
        assert "default-src 'self'" in answer.headers["content-security-policy"]
        assert answer.headers["cache-control"] == "no-store"
        assert not re.findall(r'(?:src|href)="(?:https?:)?//', answer.text), path
        assert not re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", answer.text), path  # every script is a file
        assert " style=" not in html.unescape(answer.text), path
    for asset in ("dsfr/dsfr.min.css", "dsfr/dsfr.module.min.js", "dsfr/fonts/Marianne-Regular.woff2", "vigie.js"):
        assert client.get(f"/static/{asset}").status_code == 200, asset


def test_page_errors_are_french_pages_and_api_errors_stay_json(service: Service) -> None:
    client = _signed_in(service)
    for path in (f"/eleves/{service.district.other_pupil}", f"/ecoles/{service.district.other_school}",
                 "/eleves/pas-un-pseudonyme", "/nulle-part"):  # fmt: skip
        answer = client.get(path)
        assert answer.status_code == 404 and "text/html" in answer.headers["content-type"], path
        assert "Page introuvable" in html.unescape(answer.text) and "Traceback" not in html.unescape(answer.text)
    bad_filter = client.get(f"/ecoles/{service.district.own_school}?niveau_risque=enorme")
    assert bad_filter.status_code == 400 and "Ce filtre n'existe pas" in html.unescape(bad_filter.text)
    api = client.get(f"/api/v1/pupils/{service.district.other_pupil}", headers=service.headers("staff"))
    assert api.status_code == 404 and api.json() == {"detail": "Introuvable."}


def test_page_reads_are_traced_like_api_reads(service: Service) -> None:
    client = _signed_in(service)
    client.get(f"/eleves/{service.district.own_pupil}")
    client.get(f"/eleves/{service.district.other_pupil}")
    client.get(f"/ecoles/{service.district.own_school}/export.csv")
    today = datetime.now(UTC).date().isoformat()
    log = service.client.get(
        f"/api/v1/access-log?from={today}&to={today}&format=json", headers=service.headers("admin")
    ).json()
    entries = {(e["endpoint"], e["status"], e["pupil_id"]) for e in log}
    assert ("GET /eleves/{pupil_id}", 200, service.district.own_pupil) in entries
    assert ("GET /eleves/{pupil_id}", 404, service.district.other_pupil) in entries
    assert ("GET /ecoles/{school_id}/export.csv", 200, None) in entries


def test_without_a_batch_the_pages_say_so(served_district: ServedDistrict, tmp_path: Path) -> None:
    settings = service_settings(served_district, tmp_path)
    with TestClient(create_app(settings, served_district.data_dir, load_on_start=False)) as client:
        csrf = _csrf(client.get("/").text)
        client.post("/connexion", data={"token": token(settings, "staff", [served_district.own_school]), "csrf": csrf})
        answer = client.get(f"/ecoles/{served_district.own_school}")
        assert answer.status_code == 503 and "Service momentanément indisponible" in html.unescape(answer.text)
        assert "Les scores apparaissent ici après chaque calcul de lot" in html.unescape(answer.text)
        assert "Aucun modèle n'est en service" in html.unescape(client.get("/comprendre").text)


@pytest.fixture
def provider_app(served_district: ServedDistrict, tmp_path: Path) -> Iterator[tuple[TestClient, object]]:
    with oidc_provider() as provider:
        settings = service_settings(
            served_district, tmp_path, auth="oidc", secret=None, oidc_issuer=ISSUER, oidc_audience=AUDIENCE,
            oidc_jwks_url=provider.jwks_url, oidc_client_id=CLIENT_ID,
            oidc_authorization_url=provider.authorization_url, oidc_token_url=provider.token_url,
        )  # fmt: skip
        with TestClient(create_app(settings, served_district.data_dir, load_on_start=False)) as client:
            yield client, provider


def test_the_provider_flow_checks_state_and_pkce(provider_app: tuple[TestClient, object]) -> None:
    client, provider = provider_app
    start = client.get("/connexion/oidc", follow_redirects=False)
    assert start.status_code == 303
    target = start.headers["location"]
    assert "code_challenge_method=S256" in target and "code_challenge=" in target and "state=" in target
    flow_cookie = next(h for h in start.headers.get_list("set-cookie") if h.startswith("vigie_oidc_flow="))
    assert "HttpOnly" in flow_cookie and "SameSite=lax" in flow_cookie
    forged = client.get("/connexion/retour?code=abc&state=not-the-state")
    assert forged.status_code == 400 and "La connexion a expiré" in html.unescape(forged.text)
    client.cookies.clear()
    no_flow = client.get("/connexion/retour?code=abc&state=whatever")
    assert no_flow.status_code == 400
    assert getattr(provider, "refused") == []  # noqa: B009 - nothing reached the provider's token endpoint


def test_with_embedded_sign_in_there_is_no_provider_flow(service: Service) -> None:
    service.client.cookies.clear()
    assert service.client.get("/connexion/oidc").status_code == 404
    assert "Collez votre jeton" in html.unescape(service.client.get("/").text)


def test_staff_of_another_school_cannot_write_a_plan_from_the_pages(service: Service) -> None:
    client = _signed_in(service, [service.district.other_school])
    csrf = _csrf(client.get(f"/ecoles/{service.district.other_school}").text)
    refused = client.post(
        f"/eleves/{service.district.own_pupil}/plans", data={"csrf": csrf, "action": "tutorat", "owner": "cpe"}
    )
    assert refused.status_code == 404 and "Page introuvable" in html.unescape(refused.text)
    plans = service.client.get(f"/api/v1/pupils/{service.district.own_pupil}/plans", headers=service.headers("staff"))
    assert all(plan["action"] != "tutorat" for plan in plans.json())  # nothing was written


def test_a_plan_form_with_a_wrong_date_says_so_in_french(service: Service) -> None:
    client = _signed_in(service)
    pupil = service.district.own_pupil
    csrf = _csrf(client.get(f"/eleves/{pupil}").text)
    form = {"csrf": csrf, "action": "tutorat", "owner": "cpe", "start_date": "2052-01-01"}
    answer = client.post(f"/eleves/{pupil}/plans", data=form)
    assert answer.status_code == 400 and "moins de deux ans" in html.unescape(answer.text)
    unknown = client.post(f"/eleves/{pupil}/plans", data={**form, "start_date": "", "action": "therapie"})
    assert unknown.status_code == 400 and "dans les listes" in html.unescape(unknown.text)


def test_a_review_dated_before_the_plans_start_says_so_in_french(service: Service) -> None:
    client = _signed_in(service)
    pupil = service.district.own_pupil
    csrf = _csrf(client.get(f"/eleves/{pupil}").text)
    opened = client.post(
        f"/eleves/{pupil}/plans", data={"csrf": csrf, "action": "tutorat", "owner": "cpe"}, follow_redirects=False
    )
    assert opened.status_code == 303
    plans_url, staff = f"/api/v1/pupils/{pupil}/plans", service.headers("staff")
    plan = next(p for p in client.get(plans_url, headers=staff).json() if p["action"] == "tutorat")
    before_start = (date.fromisoformat(plan["start_date"]) - timedelta(days=1)).isoformat()
    review = {"csrf": csrf, "status": "en_cours", "review_date": before_start}
    answer = client.post(f"/suivis/{plan['id']}", data=review)
    assert answer.status_code == 400 and "après le début du plan" in html.unescape(answer.text)
    kept = next(p for p in client.get(plans_url, headers=staff).json() if p["id"] == plan["id"])
    assert kept["review_date"] == plan["review_date"] and kept["status"] == "ouvert"  # nothing was written


def test_a_form_a_plan_rule_refuses_is_traced_with_the_status_the_page_answers(service: Service) -> None:
    """The pages call the API's plan rules through their own access context: the refused review is
    an entry of the page's route with the 400 it answered, then the pupil page shown again is a read."""
    client = _signed_in(service)
    pupil = service.district.own_pupil
    csrf = _csrf(client.get(f"/eleves/{pupil}").text)
    client.post(f"/eleves/{pupil}/plans", data={"csrf": csrf, "action": "contact_famille", "owner": "cpe"})
    staff = service.headers("staff")
    plan = next(p for p in client.get(f"/api/v1/pupils/{pupil}/plans", headers=staff).json()
                if p["action"] == "contact_famille")  # fmt: skip
    before_start = (date.fromisoformat(plan["start_date"]) - timedelta(days=1)).isoformat()
    answer = client.post(f"/suivis/{plan['id']}", data={"csrf": csrf, "review_date": before_start})
    assert answer.status_code == 400 and "après le début du plan" in html.unescape(answer.text)
    day = date.today().isoformat()
    log = client.get(f"/api/v1/access-log?from={day}&to={day}&format=json", headers=service.headers("admin")).json()
    last = [(e["endpoint"], e["status"]) for e in log if e["pupil_id"] == pupil][-2:]
    assert last == [("POST /suivis/{plan_id}", 400), ("GET /eleves/{pupil_id}", 200)]
