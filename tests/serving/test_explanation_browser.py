"""The explanation a family may ask for, and why a risk changed, in a real browser (Debian's
Chromium through Playwright), on the session's service over the real model: the document from the
pupil page, every input on it, its print view and the PDF Chromium makes of it, its access-log entry."""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx
import pytest

from features import french
from features.catalog import AUDIT_COLUMNS
from serving.api.service.explanation import SHOWN_CHANGE
from tests.serving.browser import ARTIFACTS, BROWSER_MARKS, Site, accessible, shot, sign_in
from tests.serving.conftest import token
from tests.serving.test_explanation import AUDIT_WORDS_FR

pytestmark = BROWSER_MARKS


def _admin_log(site: Site) -> list[dict[str, Any]]:
    today = date.today().isoformat()
    answer = httpx.get(
        f"{site.url}/api/v1/access-log?from={today}&to={today}&format=json",
        headers={"Authorization": f"Bearer {token(site.settings, 'admin')}"},
        timeout=30,
    )
    answer.raise_for_status()
    return list(answer.json())


def test_the_explanation_document_lists_every_input_prints_and_is_traced(page: Any, site: Site) -> None:
    sign_in(page, site)
    pupil = site.district.own_pupil
    page.goto(f"{site.url}/eleves/{pupil}")
    page.get_by_role("link", name="Explication complète du score (document pour la famille)").click()
    page.wait_for_load_state("networkidle")
    assert page.url == f"{site.url}/eleves/{pupil}/explication"
    api = site.api(f"/api/v1/pupils/{pupil}/explanation")
    rows = page.locator("tr[data-input]")
    assert rows.count() == len(api["inputs"]) > 30  # every model input, not the top three
    assert [rows.nth(i).get_attribute("data-input") for i in range(rows.count())] == [
        i["feature"] for i in api["inputs"]
    ]
    for i in (0, rows.count() - 1):
        text = rows.nth(i).inner_text()
        assert api["inputs"][i]["label"] in text and api["inputs"][i]["text"] in text
        assert french.signed(api["inputs"][i]["contribution"], 3) in text
    shown = sum(float(c) for c in rows.evaluate_all("rows => rows.map(r => r.dataset.contribution)"))
    assert api["base_value"] + shown == pytest.approx(api["score"], abs=1e-9)
    assert french.number(api["score"], 3) in page.locator("tr[data-score]").inner_text()
    assert page.locator("[data-risk]").inner_text() == french.percent(api["risk"], 1)
    assert page.locator("tr[data-table]").count() == len(api["tables"])
    assert page.locator("[data-operations] li").count() == len(api["operations_fr"])
    body = page.locator("main").inner_text()
    for heading in (
        "1. Comment l'algorithme contribue",
        "2. Les données utilisées",
        "3. Les paramètres",
        "4. Les opérations",
    ):
        assert heading in body
    assert all(column not in body for column in AUDIT_COLUMNS)
    assert all(f" {word}" not in body for word in AUDIT_WORDS_FR)
    accessible(page)
    shot(page, "explication.png")

    page.emulate_media(media="print")
    assert not page.locator("header.fr-header").is_visible()
    assert not page.get_by_role("button", name="Imprimer ou enregistrer en PDF").is_visible()
    box = page.locator("#contributions").bounding_box()
    assert page.locator("#contributions").is_visible() and box["x"] >= 0 and box["x"] + box["width"] <= 1280, box
    shot(page, "explication-impression.png")
    # the docs' screenshot (docs/take_screenshots.py copies it): the document's first printed screens
    top = {"x": 0, "y": 0, "width": 1280, "height": 2300}
    page.screenshot(path=str(ARTIFACTS / "explication-document.png"), clip=top, full_page=True)
    pdf = page.pdf(format="A4", print_background=True)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "explication.pdf").write_bytes(pdf)
    pages = pdf.count(b"/Type /Page") - pdf.count(b"/Type /Pages")
    assert pdf.startswith(b"%PDF-") and 2 <= pages <= 8, pages

    issued = [e for e in _admin_log(site) if e["endpoint"] == "GET /eleves/{pupil_id}/explication"]
    assert {(e["pupil_id"], e["school_id"], e["status"]) for e in issued} >= {(pupil, site.district.own_school, 200)}


def test_another_schools_explanation_is_the_french_404_page(page: Any, site: Site) -> None:
    sign_in(page, site)
    answer = page.goto(f"{site.url}/eleves/{site.district.other_pupil}/explication")
    assert answer is not None and answer.status == 404
    assert page.get_by_role("heading", level=1).inner_text() == "Page introuvable"


def test_the_pupil_page_says_why_the_risk_changed(page: Any, site: Site) -> None:
    sign_in(page, site)
    school = site.district.own_school
    listing = site.api(f"/api/v1/schools/{school}/pupils?page_size=1000")
    moved = [p for p in listing["pupils"] if p["change"] in ("up", "new_high", "down")]
    assert moved, "the two batches move no risk in the school"
    pupil = next((p for p in moved if p["change"] != "down"), moved[0])
    change = site.api(f"/api/v1/pupils/{pupil['pupil_id']}/change")
    assert change["explained"]
    page.goto(f"{site.url}/eleves/{pupil['pupil_id']}")
    page.get_by_role("tab", name="Évolution du risque").click()
    section = page.locator("[data-change]")
    section.wait_for(state="visible")
    assert french.percent(change["risk"]) in section.inner_text()
    ups = [s for s in change["detail"]["signals"] if s["contribution_change"] >= SHOWN_CHANGE][:3]
    downs = [s for s in change["detail"]["signals"] if s["contribution_change"] <= -SHOWN_CHANGE][:3]
    up_items = page.locator("[data-change-up] [data-change-signal]")
    assert up_items.evaluate_all("items => items.map(i => i.dataset.changeSignal)") == [s["signal"] for s in ups]
    down_items = page.locator("[data-change-down] [data-change-signal]")
    assert down_items.evaluate_all("items => items.map(i => i.dataset.changeSignal)") == [s["signal"] for s in downs]
    assert ups if pupil["change"] != "down" else downs, "a risk that moved has a signal that moved it that way"
    accessible(page)
    shot(page, "eleve-changement.png")
