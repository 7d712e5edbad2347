"""Issue 26 in a real browser (Debian's Chromium through Playwright): staff record their judgement
on a flag with the pupil page's form and read it on the list (AI Act art. 14(4)(b)-(d)); the stop
switch's French notice per school and everywhere (art. 14(4)(e)); the reminder beside the list.
axe-core checks each page; screenshots land in ``tests/artifacts/pages/`` (and in the docs)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import mlflow
import pytest

from serving.app import create_app
from tests.serving.browser import ARTIFACTS, BROWSER_MARKS, Site, _serve, _stop, accessible, shot, sign_in
from tests.serving.conftest import ServedDistrict, service_settings, token

pytestmark = BROWSER_MARKS


@pytest.fixture(scope="module")
def rights_site(served_district: ServedDistrict, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The service over the session's served district, with a database of its own: the judgements
    and suspensions written here never reach the other page tests."""
    mlflow.set_tracking_uri(served_district.tracking_uri)
    mlflow.set_registry_uri(served_district.tracking_uri)
    settings = service_settings(served_district, tmp_path_factory.mktemp("rights"), reference_date=date(2024, 6, 20))
    running = _serve(create_app(settings, served_district.data_dir))
    yield Site(running.url, settings, served_district)
    _stop(running)


def _admin(site: Site, path: str, body: dict[str, object]) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token(site.settings, 'admin')}"}
    return httpx.post(f"{site.url}{path}", json=body, headers=headers, timeout=30)


def test_staff_record_their_judgement_and_read_it_on_the_list(page: Any, rights_site: Site) -> None:
    site, pupil = rights_site, rights_site.district.own_pupil
    sign_in(page, site)
    reminder = page.locator("[data-automation-reminder]")
    assert "Un signal parmi d'autres" in reminder.inner_text()
    assert "Aucune décision concernant un élève ne peut reposer sur ce seul score" in reminder.inner_text()
    assert page.locator(f'td[data-judgement="{pupil}"]').inner_text().strip() == "—"
    page.goto(f"{site.url}/eleves/{pupil}")
    form = page.locator("[data-judgement-form]")
    assert (
        form.get_by_role("radio", name="Une inquiétude malgré un score bas").count() == 0
    )  # not offered on a high risk
    form.locator('label[for="avis-pas_une_inquietude"]').click()  # the DSFR draws the radio on its label
    form.get_by_label("Raison").select_option(label="Situation connue et suivie")
    accessible(page)
    form.get_by_role("button", name="Enregistrer l'avis").click()
    page.wait_for_load_state("networkidle")
    assert page.url.endswith(f"/eleves/{pupil}#avis")
    current = page.locator("[data-judgement-current]")
    shown = current.inner_text().lower()  # the DSFR's badges are in capitals
    assert "pas une inquiétude" in shown and "situation connue et suivie" in shown
    accessible(page)
    shot(page, "avis-equipe-page.png")
    page.locator("#avis").screenshot(path=str(shot_path("avis-equipe.png")))
    api = httpx.get(f"{site.url}/api/v1/pupils/{pupil}/judgements", timeout=30,
                    headers={"Authorization": f"Bearer {site.token()}"}).json()  # fmt: skip
    assert [(j["verdict"], j["reason"]) for j in api] == [("pas_une_inquietude", "situation_connue")]

    page.locator('label[for="avis-pas_une_inquietude"]').click()  # no reason: refused, said why
    page.locator("[data-judgement-form]").get_by_role("button", name="Enregistrer l'avis").click()
    page.wait_for_load_state("networkidle")
    assert "sa raison dans la liste" in page.locator("[data-judgement-error]").inner_text()

    page.goto(f"{site.url}/ecoles/{site.district.own_school}")
    assert page.locator(f'td[data-judgement="{pupil}"]').inner_text().strip().lower() == "pas une inquiétude"


def shot_path(name: str) -> Path:
    """Where :func:`shot` keeps a screenshot (for a screenshot of one element)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS / name


def test_the_stop_notice_per_school_and_everywhere(page: Any, rights_site: Site) -> None:
    site, school = rights_site, rights_site.district.own_school
    started = _admin(site, "/api/v1/admin/suspensions", {"school_id": school, "reason": "anomalie_donnees"})
    assert started.status_code == 201, started.text
    try:
        sign_in(page, site)  # lands on the school's list: the notice stands in its place
        notice = page.locator("[data-suspension-notice]")
        assert notice.get_attribute("data-reason") == "anomalie_donnees"
        assert "Vigie est suspendu pour votre établissement" in notice.inner_text()
        assert "une anomalie dans les données est en cours de vérification" in notice.inner_text()
        assert page.locator("tr[data-pupil-row]").count() == 0
        accessible(page)
        shot(page, "suspension.png")
        answer = page.goto(f"{site.url}/eleves/{site.district.own_pupil}")
        assert answer is not None and answer.status == 503
        assert page.locator("[data-suspension-notice]").count() == 1
        assert _admin(site, "/api/v1/admin/suspensions/lift", {"school_id": school}).status_code == 200
        assert _admin(site, "/api/v1/admin/suspensions", {"reason": "incident_securite"}).status_code == 201
        page.goto(f"{site.url}/ecoles/{school}")
        assert (
            "Vigie est suspendu pour tous les établissements" in page.locator("[data-suspension-notice]").inner_text()
        )
        page.goto(f"{site.url}/comprendre")  # nothing else changes
        assert page.locator("[data-suspension-notice]").count() == 0
    finally:
        _admin(site, "/api/v1/admin/suspensions/lift", {"school_id": school})
        _admin(site, "/api/v1/admin/suspensions/lift", {})
    page.goto(f"{site.url}/ecoles/{school}")
    assert page.locator("tr[data-pupil-row]").count() > 0  # lifted: everything as before
