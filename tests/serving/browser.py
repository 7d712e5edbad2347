"""What every browser test shares: one service on loopback over the real model (``site``), one Debian
Chromium driven by Playwright (``browser``), a fresh context per test (``page``), and the checks
(axe-core, sign-in, screenshots into ``tests/artifacts/pages/``).

The fixtures are registered once, in ``tests/serving/conftest.py``: imported into each test module
instead, pytest would start one service and one browser per module."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import axe_playwright_python.sync_playwright as axe_module  # type: ignore[import-untyped]
import httpx
import mlflow
import playwright.sync_api as playwright_sync
import pytest
import uvicorn
from fastapi import FastAPI

from serving.api import ServiceSettings
from serving.app import create_app
from tests.serving.conftest import ServedDistrict, service_settings, token
from tests.support.loopback import free_port, wait_until_ready

CHROMIUM = Path("/usr/bin/chromium")
#: Chromium without any connection of its own: no updates, no sync, no QUIC, nothing external;
#: in French, as staff see it (its own controls: the file picker, the date fields).
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync", "--lang=fr-FR",
]  # fmt: skip
CHROMIUM_ENV: dict[str, str | float | bool] = {**os.environ, "LANGUAGE": "fr_FR", "LANG": "fr_FR.UTF-8"}
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "pages"

#: Browser test marks: one xdist worker runs them all (one service, one Chromium), slow ones.
BROWSER_MARKS = [pytest.mark.xdist_group("browser"), pytest.mark.browser, pytest.mark.slow]


@dataclass
class Site:
    url: str
    settings: ServiceSettings
    district: ServedDistrict

    def token(self, schools: list[str] | None = None) -> str:
        return token(self.settings, "staff", schools or [self.district.own_school])

    def api(self, path: str, schools: list[str] | None = None) -> Any:
        answer = httpx.get(f"{self.url}{path}", headers={"Authorization": f"Bearer {self.token(schools)}"}, timeout=30)
        answer.raise_for_status()
        return answer.json()


@dataclass
class Running:
    server: uvicorn.Server
    thread: threading.Thread
    url: str


def _serve(app: FastAPI) -> Running:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    assert wait_until_ready(f"{url}/readyz", 120), "the service did not get ready"
    return Running(server, thread, url)


def _stop(running: Running) -> None:
    running.server.should_exit = True
    running.thread.join(timeout=30)


@pytest.fixture(scope="session")
def site(served_district: ServedDistrict, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """One service for every browser test (embedded sign-in)."""
    mlflow.set_tracking_uri(served_district.tracking_uri)
    mlflow.set_registry_uri(served_district.tracking_uri)
    # the service's "today" a few days after its newest batch (of 2024-06-15), as in real use
    settings = service_settings(served_district, tmp_path_factory.mktemp("pages"), reference_date=date(2024, 6, 20))
    running = _serve(create_app(settings, served_district.data_dir))
    yield Site(running.url, settings, served_district)
    _stop(running)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} missing: 'make test' installs Debian's chromium (tests/support/install-system-deps.sh)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    with playwright_sync.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, env=CHROMIUM_ENV)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh browser context (no cookies, no storage) per test; console errors fail the test."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="fr-FR")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(f"page error: {error}"))
    page.on("console", lambda m: errors.append(f"console: {m.text} ({m.location.get('url')})") if _unexpected(m)
            else None)  # fmt: skip
    yield page
    context.close()
    assert not errors, errors


def _unexpected(message: Any) -> bool:
    """A console error, except the status of a page itself (a test may ask for a 401 or a 404 page):
    a missing asset or a script error still counts."""
    if message.type != "error":
        return False
    failed_document = "Failed to load resource" in message.text and "/static/" not in message.location.get("url", "")
    return not failed_document


def accessible(page: Any) -> None:
    """axe-core on the page as shown: no serious or critical violation."""
    results = axe_module.Axe().run(page)
    violations = [v for v in results.response["violations"] if v.get("impact") in ("serious", "critical")]
    assert not violations, [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3]) for v in violations]


def sign_in(page: Any, site: Site, schools: list[str] | None = None) -> None:
    page.goto(f"{site.url}/")
    page.get_by_label("Collez votre jeton").fill(site.token(schools))
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_load_state("networkidle")


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)
