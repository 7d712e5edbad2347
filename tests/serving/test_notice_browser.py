"""The public notice and the dossier in a real browser (Debian's Chromium, axe-core), signed out;
their screenshots are the documentation's (``docs/screenshots/algorithme.png``,
``dossier-aipd.png``, copied from ``tests/artifacts/pages/``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from serving.notice import TO_COMPLETE
from tests.serving.browser import BROWSER_MARKS, Site, accessible, shot
from tests.serving.conftest import ServedDistrict
from vigie.cli import app

pytestmark = BROWSER_MARKS


def test_the_notice_is_public_accessible_and_linked_from_every_page(page: Any, site: Site) -> None:
    page.goto(f"{site.url}/comprendre")
    page.get_by_role("link", name="Notice publique de l'algorithme").click()
    page.wait_for_load_state("networkidle")
    assert page.url == f"{site.url}/algorithme"
    assert page.get_by_role("heading", level=1).inner_text() == "Notice publique de l'algorithme"
    assert page.locator("mark[data-to-complete]").count() == 8  # what the deployer must still write stands out
    assert page.locator("#table-performances tbody tr").count() >= 7
    accessible(page)
    shot(page, "algorithme.png")


def test_the_dossier_reads_as_a_page_with_the_deployers_fields_highlighted(
    page: Any,
    served_district: ServedDistrict,
    tmp_path: Path,
) -> None:
    env = {"VIGIE_DATA_DIR": str(tmp_path / "data"), "MLFLOW_TRACKING_URI": served_district.tracking_uri}
    assert CliRunner().invoke(app, ["dossier", "--out", str(tmp_path / "dossier")], env=env).exit_code == 0
    page.goto((tmp_path / "dossier" / "aipd.html").as_uri())
    marks = page.locator("mark.to-complete")
    assert marks.count() >= 8 and marks.first.inner_text() == TO_COMPLETE
    assert marks.first.evaluate("m => getComputedStyle(m).backgroundColor") != "rgba(0, 0, 0, 0)"
    accessible(page)
    shot(page, "dossier-aipd.png")
