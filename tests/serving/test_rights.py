"""Issue 26 through the API and the pages, on SQLite and on a real PostgreSQL server: the
objection register (GDPR art. 21), staff judgements and the stop switch (AI Act art. 14)."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete

from models.judgements import JUDGEMENTS, read_judgements
from models.objections import OBJECTIONS, read_objections
from serving.api.access_log import make_engine, migrate
from serving.api.rights import SUSPENSIONS
from serving.app import create_app
from tests.serving.conftest import ServedDistrict, Service, service_settings, token

TODAY = date(2024, 6, 20)


@pytest.fixture
def rights_service(served_district: ServedDistrict, database_url: str, tmp_path: Path) -> Iterator[Service]:
    """The service on SQLite or PostgreSQL, with an empty register, no judgement, no suspension."""
    migrate(database_url)
    engine = make_engine(database_url)
    with engine.begin() as connection:
        for table in (OBJECTIONS, JUDGEMENTS, SUSPENSIONS):
            connection.execute(delete(table))
    engine.dispose()
    settings = service_settings(served_district, tmp_path, database_url=database_url, reference_date=TODAY)
    with TestClient(create_app(settings, served_district.data_dir), raise_server_exceptions=False) as client:
        yield Service(client, settings, served_district)


def _csrf(text: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]{64})"', text)
    assert found, "no CSRF token in the form"
    return found.group(1)


def _sign_in(service: Service) -> TestClient:
    client = service.client
    client.cookies.clear()
    form = client.get("/")
    answer = client.post("/connexion", data={"token": token(service.settings, "staff", [service.district.own_school]),
                                             "csrf": _csrf(form.text)}, follow_redirects=False)  # fmt: skip
    assert answer.status_code == 303, answer.text
    return client


def _log(service: Service) -> list[dict[str, object]]:
    day = datetime.now(UTC).date().isoformat()
    answer = service.client.get(f"/api/v1/access-log?from={day}&to={day}&format=json", headers=service.headers("admin"))
    return list(answer.json())


def _everything_about(service: Service, pupil: str) -> dict[str, object]:
    """What every output says of ``pupil`` and of its school's counts."""
    school, staff = service.district.own_school, service.headers("staff")
    client = service.client
    listing = client.get(f"/api/v1/schools/{school}/pupils?page_size=1000", headers=staff).json()
    export = client.get(f"/api/v1/schools/{school}/pupils/export", headers=staff)
    aggregates = client.get("/api/v1/aggregates", headers=service.headers("reviewer")).json()
    model = client.get("/api/v1/model", headers=service.headers("data_scientist")).json()
    page_client = _sign_in(service)
    school_page = page_client.get(f"/ecoles/{school}?niveau_risque=")
    pupil_page = page_client.get(f"/ecoles/{school}/export.csv")
    return {
        "api": client.get(f"/api/v1/pupils/{pupil}", headers=staff).status_code,
        "plans": client.get(f"/api/v1/pupils/{pupil}/plans", headers=staff).status_code,
        "explanation": client.get(f"/api/v1/pupils/{pupil}/explanation", headers=staff).status_code,
        "change": client.get(f"/api/v1/pupils/{pupil}/change", headers=staff).status_code,
        "in_list": pupil in {p["pupil_id"] for p in listing["pupils"]},
        "total": listing["total"],
        "count": sum(listing["counts"]["by_tier"].values()),
        "in_export": pupil in set(pd.read_csv(io.StringIO(export.text))["pupil_id"]),
        "export_total": int(export.headers["X-Total-Count"]),
        "aggregates": aggregates["pupils"],
        "batch_pupils": model["batch_pupils"],
        "page": page_client.get(f"/eleves/{pupil}").status_code,
        "explanation_page": page_client.get(f"/eleves/{pupil}/explication").status_code,
        "in_school_page": pupil in school_page.text or pupil in pupil_page.text,
    }


def test_an_objected_pupil_is_absent_everywhere_and_back_after_withdrawal(rights_service: Service) -> None:
    service, pupil = rights_service, rights_service.district.own_pupil
    before = _everything_about(service, pupil)
    assert before["api"] == before["explanation"] == before["page"] == before["explanation_page"] == 200
    assert before["in_list"] and before["in_export"]

    recorded = service.client.post("/api/v1/objections", json={"pupil_id": pupil}, headers=service.headers("dpo"))
    assert recorded.status_code == 201, recorded.text
    assert recorded.json()["standing"] and recorded.json()["recorded_by"] == "test-dpo"
    again = service.client.post("/api/v1/objections", json={"pupil_id": pupil}, headers=service.headers("dpo"))
    assert again.status_code == 409

    after = _everything_about(service, pupil)
    for output in ("api", "plans", "explanation", "change", "page", "explanation_page"):
        assert after[output] == 404, output  # as for an unknown pupil
    assert not after["in_list"] and not after["in_export"] and not after["in_school_page"]
    for counted in ("total", "count", "export_total", "aggregates", "batch_pupils"):
        assert after[counted] == before[counted] - 1, counted  # type: ignore[operator]
    assert read_objections(service.settings.database_url or "").pupils == {pupil}  # what the stages read

    withdrawn = service.client.post(f"/api/v1/objections/{pupil}/withdraw", headers=service.headers("dpo"))
    assert withdrawn.status_code == 200 and withdrawn.json()["withdrawn_by"] == "test-dpo"
    assert _everything_about(service, pupil) == before
    register = service.client.get("/api/v1/objections", headers=service.headers("dpo")).json()
    assert [(e["pupil_id"], e["standing"]) for e in register] == [(pupil, False)]
    assert set(register[0]) == {"pupil_id", "recorded_at", "recorded_by", "withdrawn_at", "withdrawn_by", "standing"}
    entries = {(e["endpoint"], e["status"], e["pupil_id"]) for e in _log(service)}
    assert ("POST /api/v1/objections", 201, pupil) in entries
    assert ("POST /api/v1/objections/{pupil_id}/withdraw", 200, pupil) in entries


def test_an_objection_by_ine_and_who_may_record_it(rights_service: Service) -> None:
    service, district = rights_service, rights_service.district
    pupil = district.own_low_pupil
    ine = next(i for p, i in district.ine_of.items() if p == pupil)
    for role in ("staff", "admin", "reviewer", "data_scientist"):
        refused = service.client.post("/api/v1/objections", json={"ine": ine}, headers=service.headers(role))
        assert refused.status_code == 403, role
    recorded = service.client.post("/api/v1/objections", json={"ine": ine}, headers=service.headers("dpo"))
    assert recorded.status_code == 201 and recorded.json()["pupil_id"] == pupil
    assert ine not in recorded.text
    assert service.client.get(f"/api/v1/pupils/{pupil}", headers=service.headers("staff")).status_code == 404
    both = service.client.post("/api/v1/objections", json={"ine": ine, "pupil_id": pupil},
                               headers=service.headers("dpo"))  # fmt: skip
    assert both.status_code == 422 and ine not in both.text
    # the data protection officer sees no pupil data
    assert service.client.get(f"/api/v1/pupils/{district.own_pupil}", headers=service.headers("dpo")).status_code == 404
    assert service.client.post("/api/v1/objections/0000000000000000000a/withdraw",
                               headers=service.headers("dpo")).status_code == 404  # fmt: skip


def test_judgements_are_checked_stored_shown_and_traced(rights_service: Service) -> None:
    service, district = rights_service, rights_service.district
    staff, high, low = service.headers("staff"), district.own_pupil, district.own_low_pupil
    post = service.client.post
    refused = [
        (high, {"verdict": "pas_une_inquietude"}),  # needs its reason
        (high, {"verdict": "inquietude_malgre_score", "reason": "observations_equipe"}),  # the score is not low
        (low, {"verdict": "accord"}),  # nothing to agree with
        (high, {"verdict": "accord", "reason": "situation_connue"}),  # agreement takes no reason
        (high, {"verdict": "pas_une_inquietude", "reason": "observations_equipe"}),  # the other list's reason
        (high, {"verdict": "autre chose"}),
        (high, {"verdict": "accord", "note": "texte libre"}),  # no free text
    ]
    for pupil, body in refused:
        answer = post(f"/api/v1/pupils/{pupil}/judgements", json=body, headers=staff)
        assert answer.status_code == 422, (body, answer.text)
        assert answer.json()["detail"][0]["loc"][0] == "body"
    first = post(f"/api/v1/pupils/{high}/judgements", json={"verdict": "accord"}, headers=staff)
    assert first.status_code == 201, first.text
    second = post(f"/api/v1/pupils/{high}/judgements",
                  json={"verdict": "pas_une_inquietude", "reason": "situation_connue"}, headers=staff)  # fmt: skip
    worried = {"verdict": "inquietude_malgre_score", "reason": "evolution_recente"}
    concern = post(f"/api/v1/pupils/{low}/judgements", json=worried, headers=staff)
    assert second.status_code == concern.status_code == 201
    assert second.json()["tier"] == "high" and concern.json()["tier"] == "low"
    listed = service.client.get(f"/api/v1/pupils/{high}/judgements", headers=staff).json()
    assert [j["verdict"] for j in listed] == ["accord", "pas_une_inquietude"]
    school = service.client.get(f"/api/v1/schools/{district.own_school}/judgements", headers=staff).json()
    assert {j["pupil_id"]: j["verdict"] for j in school["judgements"]} == {
        high: "pas_une_inquietude", low: "inquietude_malgre_score"}  # the latest of each  # fmt: skip
    other = service.headers("staff", [district.other_school])
    assert post(f"/api/v1/pupils/{high}/judgements", json={"verdict": "accord"}, headers=other).status_code == 404
    entries = [(e["endpoint"], e["status"], e["pupil_id"]) for e in _log(service)]
    assert entries.count(("POST /api/v1/pupils/{pupil_id}/judgements", 201, high)) == 2
    assert ("POST /api/v1/pupils/{pupil_id}/judgements", 422, high) in entries
    assert ("POST /api/v1/pupils/{pupil_id}/judgements", 404, high) in entries
    # what monitoring reads: the latest judgement of each pupil on the served batch
    batch = service.client.get(f"/api/v1/pupils/{high}", headers=staff).json()
    url, as_of = service.settings.database_url or "", date.fromisoformat(batch["as_of"])
    read = read_judgements(url, batch["model_version"], as_of)
    assert dict(zip(read["pupil_id"], read["verdict"], strict=True)) == {
        high: "pas_une_inquietude", low: "inquietude_malgre_score"}  # fmt: skip
    # shown on the list page and on the pupil page
    pages = _sign_in(service)
    listing = pages.get(f"/ecoles/{district.own_school}").text
    assert re.search(rf'data-judgement="{high}"[^>]*>[^<]*<[^>]*>\s*Pas une inquiétude', listing), listing[-3000:]
    assert "Situation connue et suivie" in pages.get(f"/eleves/{high}").text


def test_staff_record_a_judgement_with_the_pupil_page_form(rights_service: Service) -> None:
    service, pupil = rights_service, rights_service.district.own_pupil
    pages = _sign_in(service)
    form = pages.get(f"/eleves/{pupil}")
    assert "data-judgement-form" in form.text
    sent = pages.post(f"/eleves/{pupil}/avis", data={"csrf": _csrf(form.text), "verdict": "pas_une_inquietude",
                                                   "reason": "donnees_erronees"}, follow_redirects=False)  # fmt: skip
    assert sent.status_code == 303, sent.text
    shown = pages.get(f"/eleves/{pupil}").text
    assert "Données erronées" in shown and "data-judgement-current" in shown
    wrong = pages.post(f"/eleves/{pupil}/avis", data={"csrf": _csrf(shown), "verdict": "pas_une_inquietude"})
    assert wrong.status_code == 400 and "data-judgement-error" in wrong.text
    forged = pages.post(f"/eleves/{pupil}/avis", data={"csrf": "0" * 64, "verdict": "accord"})
    assert forged.status_code == 403
    listed = service.client.get(f"/api/v1/pupils/{pupil}/judgements", headers=service.headers("staff")).json()
    assert [(j["verdict"], j["reason"]) for j in listed] == [("pas_une_inquietude", "donnees_erronees")]


def test_the_stop_switch_per_school_and_everywhere(rights_service: Service) -> None:
    service, district = rights_service, rights_service.district
    own, other = district.own_school, district.other_school
    staff, other_staff, admin = service.headers("staff"), service.headers("staff", [other]), service.headers("admin")
    client = service.client

    def status() -> tuple[int, int, int, int]:
        return (client.get(f"/api/v1/schools/{own}/pupils", headers=staff).status_code,
                client.get(f"/api/v1/pupils/{district.own_pupil}", headers=staff).status_code,
                client.get(f"/api/v1/schools/{other}/pupils", headers=other_staff).status_code,
                client.get("/api/v1/aggregates", headers=service.headers("reviewer")).status_code)  # fmt: skip

    assert status() == (200, 200, 200, 200)
    assert client.post("/api/v1/admin/suspensions", json={"school_id": own, "reason": "anomalie_donnees"},
                       headers=staff).status_code == 403  # fmt: skip
    started = client.post("/api/v1/admin/suspensions", json={"school_id": own, "reason": "anomalie_donnees"},
                          headers=admin)  # fmt: skip
    assert started.status_code == 201, started.text
    assert status() == (503, 503, 200, 200)
    answer = client.get(f"/api/v1/pupils/{district.own_pupil}", headers=staff)
    body = answer.json()
    assert body["reason"] == "anomalie_donnees" and body["school_id"] == own
    assert "suspendu" in body["detail"] and "Traceback" not in answer.text
    # outside the caller's reach it is still a 404: the stop says nothing of other schools
    assert client.get(f"/api/v1/schools/{own}/pupils", headers=other_staff).status_code == 404
    page = _sign_in(service).get(f"/ecoles/{own}")
    assert page.status_code == 503 and "data-suspension-notice" in page.text and "Vigie est suspendu" in page.text

    everywhere = client.post("/api/v1/admin/suspensions", json={"reason": "alerte_suivi"}, headers=admin)
    assert everywhere.status_code == 201 and everywhere.json()["school_id"] is None
    assert client.post("/api/v1/admin/suspensions", json={"reason": "autre"}, headers=admin).status_code == 409
    assert status() == (503, 503, 503, 503)
    assert client.get(f"/api/v1/schools/{other}/pupils", headers=other_staff).json()["reason"] == "alerte_suivi"
    assert client.get("/api/v1/model/card", headers=staff).status_code == 200  # nothing else changes
    assert client.get("/readyz").status_code == 200

    assert client.post("/api/v1/admin/suspensions/lift", json={}, headers=admin).status_code == 200
    assert status() == (503, 503, 200, 200)
    assert client.post("/api/v1/admin/suspensions/lift", json={"school_id": own}, headers=admin).status_code == 200
    assert status() == (200, 200, 200, 200)
    assert client.post("/api/v1/admin/suspensions/lift", json={"school_id": own}, headers=admin).status_code == 404
    log = client.get("/api/v1/admin/suspensions", headers=admin).json()
    assert [(s["school_id"], s["reason"], s["lifted_by"]) for s in log] == [
        (own, "anomalie_donnees", "test-admin"), (None, "alerte_suivi", "test-admin")]  # fmt: skip
    entries = {(e["endpoint"], e["status"], e["school_id"]) for e in _log(service)}
    assert ("POST /api/v1/admin/suspensions", 201, own) in entries
    assert ("GET /api/v1/schools/{school_id}/pupils", 503, own) in entries
