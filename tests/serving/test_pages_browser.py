"""The staff pages in a real browser: Debian's Chromium driven by Playwright (no browser download),
against the service on loopback with a real model and two real score batches. axe-core checks
every page; screenshots of the list and the pupil page are kept in ``tests/artifacts/pages/``."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest

from features import french
from serving.app import create_app
from tests.serving.browser import (
    BROWSER_MARKS,
    Site,
    _serve,
    _stop,
    accessible,
    shot,
    sign_in,
)
from tests.serving.conftest import ServedDistrict, service_settings
from tests.support.oidc import AUDIENCE, CLIENT_ID, ISSUER, oidc_provider

pytestmark = BROWSER_MARKS


def test_sign_in_leads_to_the_school_list_with_its_counts(page: Any, site: Site) -> None:
    page.goto(f"{site.url}/")
    assert page.get_by_role("heading", level=1).inner_text() == "Connexion"
    accessible(page)
    sign_in(page, site)
    school = site.district.own_school
    assert page.url == f"{site.url}/ecoles/{school}"
    api = site.api(f"/api/v1/schools/{school}/pupils?page_size=50")
    for tier, label in (("high", "Risque élevé"), ("medium", "Risque moyen"), ("low", "Risque faible")):
        badge = page.locator(f"[data-count={tier}]")
        assert badge.inner_text().lower() == f"{label} : {french.integer(api['counts']['by_tier'][tier])}".lower()
    by_tier = [api["counts"]["by_tier"][tier] for tier in ("high", "medium", "low")]
    totals = page.locator("tr[data-counts-total] td").all_inner_texts()
    assert totals == [french.integer(n) for n in [*by_tier, sum(by_tier)]]
    rows = page.locator("tr[data-pupil-row]")
    assert rows.count() == len(api["pupils"])
    assert [rows.nth(i).get_attribute("data-pupil-row") for i in range(5)] == [p["pupil_id"] for p in api["pupils"][:5]]
    first = api["pupils"][0]
    first_row = rows.first.inner_text()
    assert french.percent(first["risk"]) in first_row
    assert first["reasons"][0]["text"] in first_row
    assert page.locator("[data-total]").get_attribute("data-total") == str(api["total"])
    accessible(page)
    shot(page, "liste.png")


def test_filters_live_in_the_address_and_survive_a_reload(page: Any, site: Site) -> None:
    sign_in(page, site)
    page.get_by_label("Groupe de risque", exact=True).select_option("high")
    page.get_by_role("button", name="Filtrer").click()
    page.wait_for_load_state("networkidle")
    assert "niveau_risque=high" in page.url
    page.reload()
    assert page.get_by_label("Groupe de risque", exact=True).input_value() == "high"
    tiers = page.locator("tr[data-pupil-row]").evaluate_all("rows => rows.map(r => r.dataset.tier)")
    school = site.district.own_school
    api = site.api(f"/api/v1/schools/{school}/pupils?tier=high&page_size=200")
    assert tiers and set(tiers) == {"high"}
    assert int(page.locator("[data-total]").get_attribute("data-total")) == api["total"]
    level = api["pupils"][0]["grade_level"]
    page.get_by_label("Niveau", exact=True).select_option(level)
    page.get_by_role("button", name="Filtrer").click()
    page.wait_for_load_state("networkidle")
    assert f"niveau={level}" in page.url and "niveau_risque=high" in page.url
    with page.expect_download() as download:
        page.get_by_role("link", name="Exporter la liste (CSV)").click()
    raw = Path(download.value.path()).read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # the byte-order mark: a spreadsheet then reads the accents right
    exported = pd.read_csv(download.value.path(), sep=";", dtype=str, encoding="utf-8-sig")
    assert list(exported.columns)[:5] == ["Élève (pseudonyme)", "Niveau", "Voie", "Risque estimé (%)", "Groupe"]
    assert set(exported["Groupe"]) == {"Risque élevé"}
    assert set(exported["Niveau"]) == {page.get_by_label("Niveau", exact=True).locator("option:checked").inner_text()}
    assert len(exported) == int(page.locator("[data-total]").get_attribute("data-total"))
    first = api["pupils"][0]  # its grade level is the one filtered on
    shown = exported.set_index("Élève (pseudonyme)")
    for pupil in [p for p in api["pupils"] if p["grade_level"] == level][:5]:  # risk with a decimal comma
        assert shown.loc[pupil["pupil_id"], "Risque estimé (%)"] == french.number(100 * round(pupil["risk"], 4), 1)
    assert shown.loc[first["pupil_id"], "Raisons"].startswith(first["reasons"][0]["text"])


def test_a_filter_with_nobody_shows_an_empty_state(page: Any, site: Site) -> None:
    sign_in(page, site)
    school = site.district.own_school
    counts = site.api(f"/api/v1/schools/{school}/pupils?page_size=1")["counts"]["by_grade_level"]
    empty = [level for level, by_tier in counts.items() if by_tier["high"] == 0]
    if not empty:
        pytest.skip("every grade level of this school has a high-tier pupil")
    page.goto(f"{site.url}/ecoles/{school}?niveau_risque=high&niveau={empty[0]}")
    assert "Aucun élève dans le groupe « risque élevé »" in page.locator("[data-empty]").inner_text()
    accessible(page)


def test_a_pupil_page_explains_the_score_with_reasons_history_and_a_print_view(page: Any, site: Site) -> None:
    sign_in(page, site)
    pupil = site.district.own_pupil
    page.goto(f"{site.url}/eleves/{pupil}")
    api = site.api(f"/api/v1/pupils/{pupil}")
    assert page.locator("[data-risk]").inner_text() == french.percent(api["risk"])
    assert page.locator(".vigie-risk-card .fr-badge").first.inner_text().lower() == "risque élevé"
    assert "des 10 % d'élèves au risque estimé le plus haut" in page.locator("[data-tier-meaning]").inner_text()
    reasons = page.locator("[data-reason]")
    assert reasons.count() == len(api["reasons"]) > 0
    for i, reason in enumerate(api["reasons"]):
        assert reason["text"] in reasons.nth(i).inner_text()
    assert page.locator("#raisons tbody tr").count() == len(api["reasons"])  # the chart's text alternative
    assert f"modèle {api['model_version']}" in page.locator("[data-provenance]").inner_text()
    accessible(page)
    shot(page, "eleve.png")

    page.get_by_role("tab", name="Évolution du risque").click()
    page.locator("#panneau-evolution").wait_for(state="visible")
    history = page.locator("#historique tbody tr")
    assert history.count() == len(api["history"]) == 2
    assert french.percent(api["history"][-1]["risk"]) in history.last.inner_text()
    assert page.locator("circle.vigie-risk-point").count() == 2
    accessible(page)

    page.emulate_media(media="print")
    assert not page.locator("header.fr-header").is_visible()
    assert not page.get_by_role("button", name="Imprimer la fiche").is_visible()
    for panel in ("#panneau-raisons", "#panneau-evolution"):  # both tabs on paper, inside the page
        box = page.locator(panel).bounding_box()
        assert page.locator(panel).is_visible() and box["x"] >= 0 and box["x"] + box["width"] <= 1280, box
    shot(page, "eleve-impression.png")


def test_on_a_phone_wide_tables_scroll_in_their_frame_and_take_the_keyboard(page: Any, site: Site) -> None:
    page.set_viewport_size({"width": 320, "height": 640})  # WCAG 1.4.10 reflow: 1280 px at 400 % zoom
    sign_in(page, site)
    for path in (f"/ecoles/{site.district.own_school}", f"/eleves/{site.district.own_pupil}", "/comprendre"):
        page.goto(f"{site.url}{path}")
        assert page.evaluate("document.documentElement.scrollWidth") <= 320, path  # the page never widens
        accessible(page)
    page.goto(f"{site.url}/ecoles/{site.district.own_school}")
    frame = page.locator("#eleves .fr-table__container")
    assert frame.evaluate("f => f.scrollWidth > f.clientWidth")  # too wide for a phone: it scrolls here
    assert frame.get_attribute("tabindex") == "0" and frame.get_attribute("role") == "region"
    assert frame.get_attribute("aria-label").startswith("Élèves par risque décroissant")
    frame.focus()
    page.keyboard.press("ArrowRight")
    assert _soon(lambda: frame.evaluate("f => f.scrollLeft") > 0)
    page.set_viewport_size({"width": 1280, "height": 900})  # wide again: nothing to scroll, no extra tab stop
    assert _soon(lambda: page.locator("#effectifs .fr-table__container").get_attribute("tabindex") is None)


def _soon(condition: Callable[[], bool], seconds: float = 5.0) -> bool:
    """Polled from here: the pages' CSP forbids the eval that Playwright's wait_for_function uses."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_a_low_tier_pupil_gets_reasons_computed_on_demand(page: Any, site: Site) -> None:
    sign_in(page, site)
    page.goto(f"{site.url}/eleves/{site.district.own_low_pupil}")
    assert page.locator(".vigie-risk-card .fr-badge").first.inner_text().lower() == "risque faible"
    assert page.locator("[data-reason]").count() >= 1
    assert "calculées à la consultation" in page.locator("#panneau-raisons").inner_text()


def test_names_are_read_in_the_browser_and_never_sent(page: Any, site: Site) -> None:
    school = site.district.own_school
    names_file = site.district.names_dir / f"correspondance_{school}.csv"  # from 'vigie pseudonymise'
    listed = pd.read_csv(names_file, dtype=str, keep_default_na=False)
    secrets = set(listed["ine"]) | set(listed["last_name"]) | set(listed["first_name"])
    sent: list[str] = []
    page.on("request", lambda r: sent.append(f"{r.method} {r.url}\n{r.post_data or ''}"))

    sign_in(page, site)
    page.get_by_label("Afficher les noms").set_input_files(str(names_file))
    first = page.locator("tr[data-pupil-row]").first
    pupil_id = first.get_attribute("data-pupil-row")
    row = listed.set_index("pupil_id").loc[pupil_id]
    expected = f"{row['last_name'].upper()} {row['first_name']}"
    assert _soon(lambda: first.locator(".vigie-name").inner_text() == expected)  # the file is read asynchronously
    assert "Noms affichés" in page.locator("[data-names-status]").first.inner_text()
    first.locator("a").click()
    page.wait_for_url(f"**/eleves/{pupil_id}")
    assert page.locator("h1 .vigie-name").inner_text() == expected  # kept for this tab while it is open

    other_tab = page.context.new_page()  # sessionStorage belongs to one tab: a new one knows no name
    other_tab.goto(page.url)
    assert other_tab.locator("h1 .vigie-name").is_hidden()
    other_tab.close()
    page.get_by_role("button", name="Masquer les noms").click()
    assert page.locator("h1 .vigie-name").is_hidden()

    assert sent, "the network was not watched"
    # Nothing sent carries the file: no body and no address holds an INE or a name of it (the
    # design system's own files aside: its font is called Marianne, like some pupils).
    outgoing = [r for r in sent if "/static/dsfr/" not in r.split("\n", 1)[0]]
    leaked = [r for r in outgoing if any(s in r for s in secrets if len(s) > 2)]
    assert not leaked, leaked[:3]
    assert not any("multipart/form-data" in request for request in sent)


def test_names_from_the_file_saved_again_by_a_french_spreadsheet(page: Any, site: Site, tmp_path: Path) -> None:
    """Excel in French saves CSV with semicolons, in Windows-1252: the names still read right."""
    school = site.district.own_school
    listed = pd.read_csv(site.district.names_dir / f"correspondance_{school}.csv", dtype=str, keep_default_na=False)
    sign_in(page, site)
    first = page.locator("tr[data-pupil-row]").first
    pupil_id = first.get_attribute("data-pupil-row")
    listed.loc[listed["pupil_id"] == pupil_id, ["last_name", "first_name"]] = ["Lefèvre; dit Ça", "Léa-Éloïse"]
    resaved = tmp_path / f"correspondance_{school}.csv"
    listed.to_csv(resaved, sep=";", index=False, encoding="cp1252")
    page.get_by_label("Afficher les noms").set_input_files(str(resaved))
    assert _soon(lambda: first.locator(".vigie-name").inner_text() == "LEFÈVRE; DIT ÇA Léa-Éloïse")  # read async


def test_another_schools_pupil_shows_the_french_404_page(page: Any, site: Site) -> None:
    sign_in(page, site)
    for path in (f"/eleves/{site.district.other_pupil}", f"/ecoles/{site.district.other_school}", "/eleves/nimporte"):
        answer = page.goto(f"{site.url}{path}")
        assert answer.status == 404, path
        assert page.get_by_role("heading", level=1).inner_text() == "Page introuvable"
        assert site.district.other_pupil not in page.content().split("<main", 1)[1]
    accessible(page)


def test_understanding_the_score_is_reachable_from_every_page(page: Any, site: Site) -> None:
    page.goto(f"{site.url}/")
    page.get_by_role("link", name="Comprendre le score").first.click()
    page.wait_for_url("**/comprendre")
    assert "RGPD, article 22" in page.locator("main").inner_text()
    report = site.api("/api/v1/model/fairness")["report"]
    audited = report is not None
    assert page.locator("[data-fairness]").count() == int(audited)
    assert audited  # the served champion was audited at training
    if audited:  # the audit's day as staff read dates
        title = page.locator("[data-fairness] .fr-alert__title").inner_text()
        assert title.startswith(f"Audit d'équité du {french.day(report['generated_at'][:10])} :")
    assert audited or "Aucun audit d'équité n'est encore publié" in page.locator("main").inner_text()
    page.get_by_role("button", name="Lire la fiche du modèle").click()
    page.locator("#fiche-modele").wait_for(state="visible")
    assert "Usage prévu" in page.locator("#fiche-modele").inner_text()
    accessible(page)
    sign_in(page, site)
    for path in (f"/ecoles/{site.district.own_school}", f"/eleves/{site.district.own_pupil}"):
        page.goto(f"{site.url}{path}")
        assert page.get_by_role("link", name="Comprendre le score").count() >= 2  # header and footer


def test_signing_out_ends_the_session(page: Any, site: Site) -> None:
    sign_in(page, site)
    page.get_by_role("button", name="Se déconnecter").click()
    page.wait_for_url(f"{site.url}/")
    assert page.get_by_role("heading", level=1).inner_text() == "Connexion"
    assert not [c for c in page.context.cookies() if c["name"] == "vigie_session"]
    page.goto(f"{site.url}/ecoles/{site.district.own_school}")
    assert page.url == f"{site.url}/"


def test_a_refused_token_is_said_in_french(page: Any, site: Site) -> None:
    page.goto(f"{site.url}/")
    page.get_by_label("Collez votre jeton").fill("ceci.nest.pas-un-jeton")
    page.get_by_role("button", name="Se connecter").click()
    assert "Ce jeton n'est pas valide ou a expiré" in page.get_by_role("alert").inner_text()
    accessible(page)


def test_sign_in_with_the_provider_uses_the_code_flow_with_pkce(
    browser: Any, served_district: ServedDistrict, tmp_path: Path
) -> None:
    with oidc_provider() as provider:
        provider.agent = {"sub": "agent-7", "vigie_role": "staff", "vigie_schools": [served_district.own_school]}
        settings = service_settings(
            served_district, tmp_path, auth="oidc", secret=None, oidc_issuer=ISSUER, oidc_audience=AUDIENCE,
            oidc_jwks_url=provider.jwks_url, oidc_client_id=CLIENT_ID,
            oidc_authorization_url=provider.authorization_url, oidc_token_url=provider.token_url,
        )  # fmt: skip
        running = _serve(create_app(settings, served_district.data_dir))
        context = browser.new_context(locale="fr-FR")
        try:
            page = context.new_page()
            page.goto(f"{running.url}/")
            page.get_by_role("link", name="Se connecter avec mon compte académique").click()
            page.wait_for_url(f"**/ecoles/{served_district.own_school}")
            assert page.locator("tr[data-pupil-row]").count() > 0
            session = next(c for c in context.cookies() if c["name"] == "vigie_session")
            assert session["httpOnly"] and session["sameSite"] == "Strict"
            assert provider.refused == []
        finally:
            context.close()
            _stop(running)


def test_the_api_documentation_lists_the_operations_and_loads_nothing_from_outside(page: Any, site: Site) -> None:
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.url))
    page.goto(f"{site.url}/docs")
    page.locator(".opblock").first.wait_for()
    spec = httpx.get(f"{site.url}/openapi.json", timeout=30).json()
    operations = [(method.upper(), path) for path, item in spec["paths"].items() for method in item]
    shown = page.locator(".opblock").evaluate_all(
        "blocks => blocks.map(b => [b.querySelector('.opblock-summary-method').textContent,"
        " b.querySelector('.opblock-summary-path').dataset.path])"
    )
    assert sorted(map(tuple, shown)) == sorted(operations) and len(operations) >= 10
    assert sent and all(url.startswith(f"{site.url}/") for url in sent), [u for u in sent if site.url not in u]


def test_staff_of_two_schools_choose_one(page: Any, site: Site) -> None:
    both = sorted([site.district.own_school, site.district.other_school])
    sign_in(page, site, both)
    assert page.url == f"{site.url}/"
    links = page.locator("main a.fr-link")
    assert [links.nth(i).inner_text() for i in range(links.count())] == [f"Établissement {s}" for s in both]
    accessible(page)
    links.last.click()
    page.wait_for_url(f"**/ecoles/{both[-1]}")
    assert page.locator("tr[data-pupil-row]").count() > 0


def test_a_plan_is_opened_reviewed_and_closed_from_the_pupil_page(page: Any, site: Site) -> None:
    district = site.district
    pupil = district.own_pupil
    sign_in(page, site)
    page.goto(f"{site.url}/ecoles/{district.own_school}?suivi=sans_plan")
    assert page.locator(f"tr[data-without-plan='{pupil}']").count() == 1  # high tier, no plan yet
    accessible(page)

    page.goto(f"{site.url}/eleves/{pupil}")
    new = page.locator("[data-new-plan]")
    new.get_by_label("Action").select_option("saisine_gpds")
    new.get_by_label("Responsable").select_option("referent_decrochage")
    new.get_by_label("Début").fill("2024-04-01")
    new.get_by_label("Revue").fill("2024-05-13")
    new.get_by_role("button", name="Ouvrir le plan").click()
    page.wait_for_url(f"**/eleves/{pupil}#suivi")
    row = page.locator("tr[data-plan]").last
    assert "Saisine du GPDS" in row.inner_text() and "Référent décrochage" in row.inner_text()
    assert row.locator("[data-overdue]").count() == 1  # its review date has passed
    accessible(page)

    page.goto(f"{site.url}/ecoles/{district.own_school}?suivi=en_retard")
    assert page.locator("tr[data-overdue-plan]").count() >= 1
    page.goto(f"{site.url}/ecoles/{district.own_school}?suivi=sans_plan")
    assert page.locator(f"tr[data-without-plan='{pupil}']").count() == 0

    page.goto(f"{site.url}/eleves/{pupil}")
    plan_id = page.locator("tr[data-plan]").last.get_attribute("data-plan")
    review = page.locator(f"[data-plan-form='{plan_id}']")
    review.get_by_label("Statut").select_option("clos")  # closing without its outcome is refused
    review.get_by_role("button", name="Enregistrer la revue").click()
    assert "choisissez son issue" in page.locator("[data-plan-error]").inner_text()
    review = page.locator(f"[data-plan-form='{plan_id}']")
    review.get_by_label("Statut").select_option("clos")
    review.get_by_label("Issue").select_option("maintien")
    review.get_by_role("button", name="Enregistrer la revue").click()
    page.wait_for_url(f"**/eleves/{pupil}#suivi")
    closed = page.locator(f"tr[data-plan='{plan_id}']")
    assert closed.get_attribute("data-status") == "clos" and "Maintien en scolarité" in closed.inner_text()
    assert page.locator(f"[data-plan-form='{plan_id}']").count() == 0
    accessible(page)
