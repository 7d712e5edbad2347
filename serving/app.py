"""The risk service assembled, built by :func:`create_app` from the typed settings: the API
(``serving.api``) and the staff pages (``serving.pages``) over it, mounted side by side."""

from __future__ import annotations

import asyncio
import hmac
import html
import ipaddress
import logging
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CollectorRegistry
from prometheus_fastapi_instrumentator import Instrumentator
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from features.ingest import ContractError, load_key
from models.paths import Paths
from models.stagger import StaggerSettings
from serving.api.access_log import AccessLog, AccessLogUnavailableError, make_engine, migrate
from serving.api.auth import TokenVerifier
from serving.api.errors import problem
from serving.api.plans import PlanStore
from serving.api.rights import RightsStore
from serving.api.routers import ROUTERS
from serving.api.service import ServiceError
from serving.api.service.stagger import load_gate
from serving.api.sessions import SessionStore
from serving.api.settings import ServiceSettings
from serving.api.state import ServiceState
from serving.pages import NOT_FOUND_PAGE, STATIC, PageKeys, SignInRequiredError, error_page, refusal_page
from serving.pages import router as pages
from serving.pages.explanation import router as explanation_pages
from serving.pages.notice import router as notice

log = logging.getLogger("vigie.service")
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    # The pages load nothing from outside and run no inline script or style; the DSFR's CSS draws
    # a few of its marks as data: images.
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; object-src 'none'; frame-ancestors 'none'; "
        "base-uri 'self'; form-action 'self'"
    ),
}


def _too_large(status: int) -> JSONResponse:
    message = "Requête trop volumineuse." if status == 413 else "En-têtes de requête trop volumineux."
    return JSONResponse({"detail": message}, status_code=status)


class HeaderLimit:
    """431 for a request whose target and headers together exceed the limit (before any parsing)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer 431 at once when the target and headers are too large, else pass the request on."""
        if scope["type"] == "http":
            size = len(scope.get("raw_path") or b"") + len(scope.get("query_string", b""))
            size += sum(len(name) + len(value) + 4 for name, value in scope.get("headers", []))
            if size > self.max_bytes:
                await _too_large(431)(scope, receive, send)
                return
        await self.app(scope, receive, send)


class BodyLimit:
    """413 for a request body over the limit, declared or streamed (pure ASGI, before any parsing)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer 413 when the declared or streamed body passes the limit, else pass the request on."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await _too_large(413)(scope, receive, send)
            return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                raise HTTPException(413, "Requête trop volumineuse.")
            return message

        await self.app(scope, limited, send)


def _route_of(request: Request) -> str:
    """The route template (``/api/v1/pupils/{pupil_id}``): logs never carry a pseudonym."""
    route = request.scope.get("route")
    return getattr(route, "path", "unmatched")


def tune_interpreter() -> None:
    """Hand the GIL over every 0.5 ms rather than 5: each request crosses from the event loop to a
    worker thread and back, and under concurrent load the default interval adds up to tens of
    milliseconds of waiting per request (measured: p50 45 ms -> see benchmarks/serve.py)."""
    sys.setswitchinterval(0.0005)


def create_app(
    settings: ServiceSettings, data_dir: Path, *, load_on_start: bool = True, stagger: StaggerSettings | None = None
) -> FastAPI:
    """The service: sign-in, the served state, the access log, metrics, hygiene; with ``stagger`` on (issue 28,
    off by default) the schools not yet started see a notice instead of their pupils."""
    verifier = TokenVerifier(settings)  # refuses a missing or short embedded secret now, not at first request
    database = settings.database(data_dir)
    engine = make_engine(database)
    rights = RightsStore(engine)  # the objection register, judgements, the stop switch (issue 26)
    state = ServiceState(
        settings.model_name, settings.model_reference, Paths(data_dir).score_history, settings.risk_change_threshold,
        rights.objections,
    )  # fmt: skip

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await run_in_threadpool(migrate, database)
        if load_on_start:
            await run_in_threadpool(state.reload)
        task = asyncio.create_task(_reload_every(state, settings.reload_interval_seconds))
        yield
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task
        app.state.access_log.engine.dispose()

    app = FastAPI(
        title="Vigie — service des risques de décrochage",
        description=(
            "Scores de risque de décrochage scolaire et leurs raisons, pour les personnels de "
            "l'établissement de l'élève uniquement. Le score informe, une personne décide. "
            "Chaque consultation est tracée."
        ),
        version="1",
        lifespan=lifespan,
        # No redirect for a trailing slash: it was a way to put raw paths (pseudonyms) into the
        # metrics' labels, and a redirect is built from the request's Host header.
        redirect_slashes=False,
        # /docs is served from local files below; ReDoc (a CDN script) is not offered.
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.verifier = verifier
    app.state.serving = state
    app.state.access_log = AccessLog(engine)
    app.state.rights = rights
    app.state.plans = PlanStore(app.state.access_log.engine)  # the same database, the same migrations
    app.state.sessions = SessionStore(app.state.access_log.engine)
    app.state.stagger = load_gate(stagger or StaggerSettings(), data_dir)  # None unless a trial is on
    app.state.pseudonym_key = load_key(settings.pseudonym_key_file) if settings.pseudonym_key_file else None
    app.state.page_keys = PageKeys.of(settings)
    for router in ROUTERS:
        app.include_router(router)
    app.include_router(pages)
    app.include_router(notice)  # public: the notice of the algorithm (CRPA L312-1-3)
    app.include_router(explanation_pages)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    _docs(app)
    _errors(app)
    _metrics(app, settings)  # before the hygiene: its middleware then sees bounded methods only
    _hygiene(app, settings)
    return app


API_DOCS_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title} — API</title>
<link rel="stylesheet" href="/static/swagger/swagger-ui.css">
</head>
<body>
<div id="swagger-ui" data-openapi="{openapi}"></div>
<script src="/static/swagger/swagger-ui-bundle.js"></script>
<script src="/static/api-docs.js"></script>
</body>
</html>
"""


def _docs(app: FastAPI) -> None:
    """Swagger UI from the service's own files (``make setup`` copies them from npm), started by
    a static script: nothing is loaded from outside and the CSP needs no exception."""
    page = API_DOCS_PAGE.format(title=html.escape(app.title), openapi=html.escape(app.openapi_url or ""))

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return HTMLResponse(page)


def _metrics(app: FastAPI, settings: ServiceSettings) -> None:
    """Prometheus metrics labelled by route template only (unknown paths fold into ``none``,
    unknown methods into ``OTHER`` in :class:`Hygiene`), readable as ``service.metrics`` says."""

    def allowed(request: Request) -> None:
        if settings.metrics == "token":
            expected = settings.metrics_token.get_secret_value() if settings.metrics_token else ""
            sent = request.headers.get("authorization", "")
            if not (expected and hmac.compare_digest(sent.encode(), f"Bearer {expected}".encode())):
                raise HTTPException(401, "Authentification requise.", headers={"WWW-Authenticate": "Bearer"})
        elif settings.metrics == "off" or not _on_loopback(request):
            raise HTTPException(404, "Not Found")

    Instrumentator(registry=CollectorRegistry(), should_group_untemplated=True).instrument(app).expose(
        app, include_in_schema=False, dependencies=[Depends(allowed)]
    )


def _on_loopback(request: Request) -> bool:
    """Whether the client is this machine (behind a proxy, uvicorn's ``--proxy-headers`` puts the
    real client here)."""
    try:
        return request.client is not None and ipaddress.ip_address(request.client.host).is_loopback
    except ValueError:
        return False


async def _reload_every(state: ServiceState, seconds: float | None) -> None:
    while seconds is not None:
        await asyncio.sleep(seconds)
        await run_in_threadpool(state.reload)


#: Paths answered for programs (JSON errors); every other path is a page (French HTML errors).
MACHINE_PATHS = ("/api/", "/healthz", "/readyz", "/metrics", "/docs", "/openapi.json", "/static/")


def _is_page(request: Request) -> bool:
    return not request.url.path.startswith(MACHINE_PATHS)


def _errors(app: FastAPI) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> Response:
        if _is_page(request):
            message = (
                NOT_FOUND_PAGE if error.status_code == 404
                else error.detail if isinstance(error.detail, str)
                else "La demande n'est pas valide : vérifiez les champs du formulaire."
            )  # fmt: skip  # never a structure's Python text on a page
            return error_page(request, error.status_code, message)
        return JSONResponse({"detail": error.detail}, status_code=error.status_code, headers=error.headers)

    @app.exception_handler(ServiceError)
    async def refused(request: Request, error: ServiceError) -> Response:
        """What the service layer refuses: the API's status and body, or the pages' French page."""
        return refusal_page(request, error) if _is_page(request) else problem(error)

    @app.exception_handler(SignInRequiredError)
    async def sign_in_first(request: Request, error: SignInRequiredError) -> Response:
        return RedirectResponse(request.app.url_path_for("home"), status_code=303)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError) -> Response:
        """422 naming the field; the submitted value (an INE, say) is never echoed."""
        if _is_page(request):  # a malformed pupil or school in a page's address: as if it did not exist
            in_path = any(e.get("loc", ("",))[0] == "path" for e in error.errors())
            if in_path:
                return error_page(request, 404, NOT_FOUND_PAGE)
            return error_page(request, 400, "Un paramètre de l'adresse n'est pas valide.")
        detail = [
            {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
            for e in error.errors()
        ]
        return JSONResponse({"detail": detail}, status_code=422)

    @app.exception_handler(AccessLogUnavailableError)
    async def database_down(request: Request, error: AccessLogUnavailableError) -> Response:
        log.warning("service database unavailable (%s) on %s", error, _route_of(request))
        if _is_page(request):
            return error_page(request, 503, AccessLogUnavailableError.MESSAGE)
        return JSONResponse({"detail": AccessLogUnavailableError.MESSAGE}, status_code=503)

    @app.exception_handler(ContractError)
    async def contract(request: Request, error: ContractError) -> Response:
        if _is_page(request):
            return error_page(request, 503, "Les données de ce lot sont indisponibles pour l'instant.")
        return JSONResponse({"detail": "Données indisponibles pour cette requête."}, status_code=503)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> Response:
        log.error("unexpected %s on %s", type(error).__name__, _route_of(request), exc_info=error)
        if _is_page(request):
            return error_page(request, 500, "Une erreur inattendue s'est produite. Réessayez plus tard.")
        return JSONResponse({"detail": "Erreur interne du service."}, status_code=500)


#: Methods kept as they are in metrics and logs; any other is ``OTHER`` (and answered 404 or 405).
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class Hygiene:
    """Security headers on every response, ``no-store`` on the API, one log line per request with
    the route template (never the raw path: it holds pseudonyms). Pure ASGI: no per-request task."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on, adding the headers to its answer and logging one line when it ends."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["method"] not in KNOWN_METHODS:  # a label and a log field, not free text: bounded
            scope = {**scope, "method": "OTHER"}
        began, status = time.perf_counter(), 0
        api = scope["path"].startswith("/api/")

        async def with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
                if api:
                    headers.setdefault("Cache-Control", "no-store")
            await send(message)

        try:
            await self.app(scope, receive, with_headers)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            log.info("%s %s %d %.1f ms", scope["method"], route, status, 1000 * (time.perf_counter() - began))


def _hygiene(app: FastAPI, settings: ServiceSettings) -> None:
    if settings.cors_origins:  # closed unless origins are named
        app.add_middleware(
            CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["GET", "POST"], allow_headers=["*"]
        )
    app.add_middleware(BodyLimit, max_bytes=settings.max_request_bytes)
    app.add_middleware(HeaderLimit, max_bytes=settings.max_header_bytes)
    app.add_middleware(Hygiene)  # outermost: the limits' 413 and 431 carry the security headers too
