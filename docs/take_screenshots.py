"""Screenshots of the built site (``site/``, from ``make docs-build``) into ``docs/screenshots/``.

Serves ``site/`` on loopback and opens it in Debian's Chromium through Playwright (no browser is
downloaded), with the flags that stop background networking. Every request is recorded: the script fails
if a page asks anything of another host, so a screenshot is also a check that the site works offline.

The service's own pages are shot by its browser tests (``tests/serving/test_*browser.py``, real model,
real Chromium) into ``tests/artifacts/pages/``; this script then copies those the docs show
(:data:`APP_SHOTS`), saying which are missing (run the browser tests first).

Usage: ``.venv/bin/python docs/take_screenshots.py``; ``--impact DIR`` shoots the impact report that
``vigie impact`` wrote in DIR (``make demo``: ``data/demo/impact``) into ``docs/screenshots/impact.png``.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import shutil
import threading
from pathlib import Path
from urllib.parse import urlparse

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
SHOTS = {"site-accueil.png": "index.html", "site-guide-personnels.png": "guides/personnels.html"}
#: Screenshots of the service's pages taken by the browser tests: docs name -> test artifact.
APP_SHOTS = {
    "explication.png": "explication-document.png",
    "avis-equipe.png": "avis-equipe.png",  # the judgement form (AI Act art. 14)
    "suspension.png": "suspension.png",  # the stop switch's notice (AI Act art. 14(4)(e))
}
APP_ARTIFACTS = ROOT / "tests" / "artifacts" / "pages"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _record_if_elsewhere(url: str, elsewhere: list[str]) -> None:
    if url.startswith("data:"):  # an image inlined in the page (the impact report's plots)
        return
    if urlparse(url).hostname != "127.0.0.1":
        elsewhere.append(url)


def main() -> None:
    """The site's pages, or with ``--impact DIR`` the impact report of DIR."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--impact", type=Path, help="folder of a 'vigie impact' report (impact.html)")
    args = parser.parse_args()
    if args.impact is not None:
        shoot(args.impact, {"impact.png": "impact.html"}, full_page=True)
    else:
        shoot(ROOT / "site", SHOTS)
        copy_app_shots()


def shoot(folder: Path, shots: dict[str, str], *, full_page: bool = False) -> None:
    """Serve ``folder`` on loopback and screenshot each page of ``shots`` (file name -> path)."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    elsewhere: list[str] = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_FLAGS)
            page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="fr-FR")
            page.on("request", lambda request: _record_if_elsewhere(request.url, elsewhere))
            for name, path in shots.items():
                page.goto(base + path, wait_until="networkidle")
                page.screenshot(path=str(ROOT / "docs" / "screenshots" / name), full_page=full_page)
                print(f"docs/screenshots/{name} <- {path}")
            browser.close()
    finally:
        server.shutdown()
    if elsewhere:
        raise SystemExit(f"the site asked other hosts: {sorted(set(elsewhere))}")


def copy_app_shots() -> None:
    """The service pages' screenshots the browser tests took, into the docs."""
    missing = [artifact for artifact in APP_SHOTS.values() if not (APP_ARTIFACTS / artifact).exists()]
    for name, artifact in APP_SHOTS.items():
        if (APP_ARTIFACTS / artifact).exists():
            shutil.copyfile(APP_ARTIFACTS / artifact, ROOT / "docs" / "screenshots" / name)
            print(f"docs/screenshots/{name} <- tests/artifacts/pages/{artifact}")
    if missing:
        raise SystemExit(f"run the browser tests first (pytest -m browser): missing {missing}")


if __name__ == "__main__":
    main()
