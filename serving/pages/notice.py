"""The public notice of the algorithm at a stable address, without sign-in (CRPA L312-1-3):
``/algorithme`` (a DSFR page) and ``/algorithme.json``.

Made on the fly by :func:`serving.notice.build_notice`, the function ``vigie notice`` calls,
from the served version's registry record (read once per loaded state, then kept) and the
deployer's file (``service.notice_file``). No pupil-level data is read to make it.
"""

from __future__ import annotations

import threading
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from models.version_record import version_record
from serving.api.access_log import AccessLogUnavailableError
from serving.api.deps import Served, settings
from serving.api.state import Serving
from serving.notice import NOTICE_JSON_PATH, NOTICE_PATH, TO_COMPLETE, Notice, build_notice, load_notice_config
from serving.pages.session import SignInRequiredError, page_caller
from serving.pages.views import render, templates

templates.env.globals["TO_COMPLETE"] = TO_COMPLETE
router = APIRouter(include_in_schema=False)
_lock = threading.Lock()
#: The notice of the state last asked for: (model label, time the state was loaded) -> notice.
_made: dict[tuple[str, str], Notice] = {}


def _notice_of(request: Request, served: Serving) -> Notice:
    """The served version's notice, made once per loaded state (a reload may bring a new audit)."""
    key = (served.model.label, served.loaded_at.isoformat())
    with _lock:
        if key not in _made:
            service = settings(request)
            record = version_record(served.model.name, served.model.version)
            notice = build_notice(record, load_notice_config(service.notice_file))
            _made.clear()
            _made[key] = notice
        return _made[key]


async def current_notice(request: Request, served: Served) -> Notice:
    """The notice (503 while nothing is served: there is no version to describe)."""
    return await run_in_threadpool(_notice_of, request, served)


CurrentNotice = Annotated[Notice, Depends(current_notice)]


@router.get(NOTICE_PATH, response_class=HTMLResponse, name="notice")
async def notice_page(request: Request, notice: CurrentNotice) -> Response:
    """The notice as a French page, for anyone."""
    try:
        request.state.visitor = await page_caller(request)
    except (SignInRequiredError, AccessLogUnavailableError):  # public, signed in or not
        request.state.visitor = None
    response = render(request, "notice.html", title="Notice publique de l'algorithme", notice=notice)
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@router.get(NOTICE_JSON_PATH, name="notice_json")
async def notice_json(notice: CurrentNotice) -> Response:
    """The same notice as JSON (the inventory's fields, French keys)."""
    return Response(notice.as_json(), media_type="application/json; charset=utf-8",
                    headers={"Cache-Control": "public, max-age=300"})  # fmt: skip
