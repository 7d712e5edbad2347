"""The pages for school staff: sign-in, the school's list, a pupil, « Comprendre le score ».

Server-rendered French HTML on the State design system. The pages call the same service layer
as the API (:mod:`serving.api.service`) with their own access context: same reach rule (404
outside the caller's schools), same access-log entries, same export, same plan rules, whose
typed refusals the pages word in French (:mod:`serving.pages.wording`).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from datetime import date
from pathlib import Path as FilePath
from typing import Annotated, Any, Literal

import jinja2
from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from markdown_it import MarkdownIt
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from features import french
from features.ingest import PSEUDONYM_PATTERN, UAI_PATTERN
from serving.api.access_log import AccessLogUnavailableError
from serving.api.auth import Principal, Role, TokenRefusedError
from serving.api.deps import Gate, Log, Plans, Served, Today, settings
from serving.api.errors import ALREADY_OBJECTED
from serving.api.plans import ACTIONS, OUTCOMES, OWNERS, REVIEW_AFTER, STATUSES, PlanIn, PlanStore, PlanUpdate
from serving.api.service import (
    AccessContext,
    JudgementRuleError,
    ObjectionConflictError,
    OutOfReachError,
    PlanRuleError,
    ServiceError,
    SuspendedError,
    context_of,
    reads,
)
from serving.api.service import plans as rules
from serving.api.service.explanation import change_of
from serving.api.service.reads import ListFilters
from serving.api.service.rights import batch_judgements
from serving.api.service.stagger import NotStartedError
from serving.api.settings import ServiceSettings
from serving.api.state import ServiceState, Serving
from serving.pages import charts, wording
from serving.pages.session import (
    Flow,
    SignInRequiredError,
    check_csrf,
    close_session,
    csrf_binding,
    forget_flow,
    form_fields,
    keys,
    new_nonce,
    open_session,
    page_caller,
    recall_flow,
    remember_flow,
    set_nonce,
    verify,
)

HERE = FilePath(__file__).parent
STATIC = HERE / "static"
templates = Jinja2Templates(directory=HERE / "templates")


@jinja2.pass_context
def _path_for(context: dict[str, Any], name: str, /, **params: Any) -> str:
    """Links as paths, not absolute URLs: right behind any proxy."""
    request: Request = context["request"]
    return str(request.app.url_path_for(name, **params))


templates.env.globals["url_for"] = _path_for
templates.env.filters.update(french.JINJA_FILTERS)
templates.env.globals.update(
    TIER_LABELS=wording.TIER_LABELS,
    TIER_BADGES=wording.TIER_BADGES,
    CHANGE_LABELS=wording.CHANGE_LABELS,
    CHANGE_BADGES=wording.CHANGE_BADGES,
    CHANGE_TITLES=wording.CHANGE_TITLES,
    grade_level=wording.grade_level,
    ACTIONS=ACTIONS,
    OWNERS=OWNERS,
    STATUSES=STATUSES,
    OUTCOMES=OUTCOMES,
    track=wording.track,
    plural=french.plural,
)
PAGE_SIZE = 50
#: A pupil or school outside the visitor's reach reads exactly like one that does not exist.
NOT_FOUND_PAGE = "Cette page n'existe pas ou ne vous est pas accessible."
_markdown = MarkdownIt("commonmark", {"html": False}).enable("table")


def card_html(markdown: str, below: int = 3) -> str:
    """The model card as HTML (raw HTML in it is escaped), its headings moved ``below`` levels
    down so that they sit under the page's own headings."""
    tokens = _markdown.parse(markdown)
    for token in tokens:
        if token.type in ("heading_open", "heading_close"):
            token.tag = f"h{min(6, int(token.tag[1]) + below)}"
    return str(_markdown.renderer.render(tokens, _markdown.options, {}))


router = APIRouter(include_in_schema=False)
Visitor = Annotated[Principal, Depends(page_caller)]


async def page_context(request: Request, visitor: Visitor, log: Log, gate: Gate) -> AccessContext:
    """The signed-in visitor, the access log and the page's route; a form a plan rule refuses
    answers 400 (the page shown again with the French message), and is traced so."""
    request.state.visitor = visitor
    return context_of(request, visitor, log, refused=400, stagger=gate)


Context = Annotated[AccessContext, Depends(page_context)]
SchoolId = Annotated[str, Path(pattern=UAI_PATTERN)]
PupilId = Annotated[str, Path(pattern=PSEUDONYM_PATTERN)]


def render(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    """A page, with what every page needs: the visitor (if signed in) and the CSRF token of its forms."""
    binding, nonce = csrf_binding(request), None
    if not binding:
        binding = nonce = new_nonce()
    values = {"visitor": getattr(request.state, "visitor", None), "csrf": keys(request).csrf(binding), "status": status}
    values.update(context)
    response = templates.TemplateResponse(request, name, values, status_code=status)
    if nonce is not None:
        set_nonce(request, response, nonce)
    response.headers["Cache-Control"] = "no-store"
    return response


#: ``codes | map("with_label", grade_level)``: (code, French label) pairs for ``ui.select``.
templates.env.filters["with_label"] = lambda code, label: (code, label(code))


# --- sign-in -------------------------------------------------------------------------------


@router.get("/", response_class=HTMLResponse, name="home")
async def home(request: Request) -> Response:
    """Signed out: the sign-in page. Signed in: the school's list (or the choice of schools)."""
    try:
        visitor = await page_caller(request)
    except SignInRequiredError:
        return render(request, "signin.html", oidc=settings(request).oidc_pages, title="Connexion")
    request.state.visitor = visitor
    if visitor.role is Role.STAFF and len(visitor.schools) == 1:
        return RedirectResponse(
            request.app.url_path_for("school_page", school_id=next(iter(visitor.schools))), status_code=303
        )
    return render(request, "home.html", visitor=visitor, schools=sorted(visitor.schools), title="Accueil")


@router.post("/connexion", name="sign_in")
async def sign_in(request: Request) -> Response:
    """Embedded mode: the pasted staff token becomes the session."""
    fields = await form_fields(request)
    check_csrf(request, fields)
    token = fields.get("token", "").strip()
    try:
        caller = await verify(request, token)
    except TokenRefusedError:
        return render(request, "signin.html", 401, oidc=settings(request).oidc_pages, title="Connexion",
                      error="Ce jeton n'est pas valide ou a expiré. Demandez-en un nouveau.")  # fmt: skip
    response = RedirectResponse(request.app.url_path_for("home"), status_code=303)
    await open_session(request, response, token, caller)
    return response


@router.get("/connexion/oidc", name="sign_in_oidc")
async def sign_in_oidc(request: Request) -> Response:
    """Provider mode: start the authorisation-code flow with PKCE."""
    s = settings(request)
    if not s.oidc_pages:
        raise HTTPException(404, "Introuvable.")
    flow = Flow.start()
    query = urllib.parse.urlencode(
        {
            "response_type": "code",
            "client_id": s.oidc_client_id,
            "redirect_uri": str(request.url_for("oidc_callback")),
            "scope": s.oidc_scopes,
            "state": flow.state,
            "code_challenge": flow.challenge,
            "code_challenge_method": "S256",
        }
    )
    response = RedirectResponse(f"{s.oidc_authorization_url}?{query}", status_code=303)
    remember_flow(request, response, flow)
    return response


def _exchange(s: ServiceSettings, code: str, verifier: str, redirect_uri: str) -> str:
    """The provider's access token for this code (blocking: run in a worker thread)."""
    body = urllib.parse.urlencode(
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "client_id": s.oidc_client_id,
            "code_verifier": verifier,
        }
    ).encode()
    request = urllib.request.Request(str(s.oidc_token_url), data=body, method="POST")
    request.add_header("Content-Type", "application/x-www-form-urlencoded")
    request.add_header("Accept", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            token = json.loads(answer.read()).get("access_token")
    except (urllib.error.URLError, OSError, ValueError):
        token = None
    if not isinstance(token, str) or not token:
        raise HTTPException(502, "Le fournisseur d'identité n'a pas confirmé la connexion : recommencez.")
    return token


@router.get("/connexion/retour", name="oidc_callback")
async def oidc_callback(
    request: Request, code: Annotated[str, Query(max_length=2048)], state: Annotated[str, Query(max_length=256)]
) -> Response:
    """The provider's redirect back: check the flow, exchange the code for a token, then open a session as the sign-in
    form does."""
    s = settings(request)
    if not s.oidc_pages:
        raise HTTPException(404, "Introuvable.")
    flow = recall_flow(request, state)
    token = await run_in_threadpool(_exchange, s, code, flow.verifier, str(request.url_for("oidc_callback")))
    try:
        caller = await verify(request, token)
    except TokenRefusedError:
        raise HTTPException(401, "Le fournisseur d'identité a transmis un jeton que Vigie refuse.") from None
    # The session cookie is SameSite=Strict and this answer ends a cross-site navigation: a page
    # of our own moves on to the list, so that the browser sends the new cookie with it.
    response = render(request, "signed_in.html", title="Connexion réussie")
    await open_session(request, response, token, caller)
    forget_flow(response)
    return response


@router.post("/deconnexion", name="sign_out")
async def sign_out(request: Request) -> Response:
    """Close the session (deleted server-side); a closed or unknown session goes to sign-in."""
    await page_caller(request)  # the CSRF token must be the live session's
    fields = await form_fields(request)
    check_csrf(request, fields)
    response = RedirectResponse(request.app.url_path_for("home"), status_code=303)
    await close_session(request, response)
    return response


# --- the school's list ---------------------------------------------------------------------


def _page_filters(
    tier: Annotated[str | None, Query(alias="niveau_risque", max_length=20)] = None,
    grade_level: Annotated[str | None, Query(alias="niveau", max_length=20)] = None,
    track: Annotated[str | None, Query(alias="voie", max_length=20)] = None,
) -> ListFilters:
    """The list's filters from the query string (French names, empty = all); 400 for an unknown value."""
    for value, allowed in ((tier, wording.TIER_LABELS), (grade_level, wording.GRADE_LEVELS), (track, wording.TRACKS)):
        if value and value not in allowed:
            raise HTTPException(400, "Ce filtre n'existe pas : choisissez une valeur de la liste.")
    return ListFilters(tier=tier or None, grade_level=grade_level or None, track=track or None)  # type: ignore[arg-type]


PageFilters = Annotated[ListFilters, Depends(_page_filters)]


def _query(filters: ListFilters, **extra: Any) -> str:
    values = {"niveau_risque": filters.tier, "niveau": filters.grade_level, "voie": filters.track, **extra}
    return urllib.parse.urlencode({k: v for k, v in values.items() if v not in (None, "")})


@router.get("/ecoles/{school_id}", response_class=HTMLResponse, name="school_page")
def school(
    request: Request,
    school_id: SchoolId,
    ctx: Context,
    served: Served,
    plans: Plans,
    day: Today,
    filters: PageFilters,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    suivi: Annotated[Literal["sans_plan", "en_retard"] | None, Query()] = None,
) -> Response:
    """Counts by tier and grade level, then the pupils by risk with their first reason; or, with
    ``suivi``, the high-tier pupils without a plan, or the plans overdue for review."""
    listing = reads.school_pupils(served, ctx, school_id, filters, page=page, page_size=PAGE_SIZE)
    follow_up = rules.follow_up_lists(served, plans, school_id, day)
    pages = max(1, -(-listing.total // PAGE_SIZE))
    levels = [lv for lv in wording.GRADE_LEVELS if lv in listing.counts.by_grade_level]
    return render(
        request,
        "school.html",
        title=f"Élèves de l'établissement {school_id}",
        visitor=ctx.caller,
        listing=listing,
        filters=filters,
        levels=levels,
        tracks=wording.TRACKS,
        pages=pages,
        query=lambda **extra: _query(filters, **extra),
        horizon_days=served.model.features.horizon_days,
        plans=follow_up.latest,
        without_plan=follow_up.high_without_plan,
        overdue=follow_up.overdue,
        suivi=suivi,
        judgements=batch_judgements(served, request.app.state.rights, school_id),
    )


@router.get("/ecoles/{school_id}/export.csv", name="school_export")
def school_export(
    request: Request, school_id: SchoolId, ctx: Context, served: Served, filters: PageFilters
) -> Response:
    """The filtered list for the staff meeting, as a French spreadsheet opens it (the API's rows)."""
    export = reads.export_rows(served, ctx, school_id, filters, settings(request).export_max_rows)
    return Response(
        wording.spreadsheet_csv(export.rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{export.filename}.csv"', "Cache-Control": "no-store"},
    )


# --- a pupil -------------------------------------------------------------------------------


PUPIL_PAGE = "GET /eleves/{pupil_id}"


def _pupil_page(
    request: Request, ctx: AccessContext, served: Serving, plans: PlanStore, day: date, pupil_id: str, *,
    status: int = 200, plan_error: str | None = None, judgement_error: str | None = None,
) -> Response:  # fmt: skip
    """The pupil's page, traced as a read of it (also when shown again after a refused form)."""
    detail = reads.pupil_detail(served, ctx.at(PUPIL_PAGE), pupil_id)
    judged = _judgements_of(request, served, detail.pupil_id)
    return render(
        request,
        "pupil.html",
        status,
        title=f"Élève {detail.pupil_id}",
        pupil=detail,
        tier_meaning=wording.tier_meaning(detail.tier, served.batch.metadata, detail.school_id),
        risk_meaning=wording.risk_meaning(detail.risk, served.model.features.horizon_days),
        bars=charts.reason_bars(detail.reasons),
        line=charts.risk_line(detail.history),
        plans=plans.for_pupil(detail.pupil_id, day),
        today=day,
        default_review=day + REVIEW_AFTER,
        plan_error=plan_error,
        judgement_error=judgement_error,
        **judged,
        change=change_of(served, served.batch.position(detail.pupil_id) or 0),
    )


def _judgements_of(request: Request, served: Serving, pupil_id: str) -> dict[str, Any]:
    """The pupil's judgements (AI Act art. 14), and the one on the served batch if any."""
    judgements = request.app.state.rights.pupil_judgements(pupil_id)
    batch, version = served.batch.as_of, served.model.label
    current = [j for j in judgements if j.as_of == batch and j.model_version == version]
    return {"judgements": judgements, "current_judgement": current[-1] if current else None}


@router.get("/eleves/{pupil_id}", response_class=HTMLResponse, name="pupil_page")
def pupil(request: Request, pupil_id: PupilId, ctx: Context, served: Served, plans: Plans, day: Today) -> Response:
    """Risk and tier in words, the reasons as bars, the risk over past batches, the follow-up
    plans beside them; printable."""
    return _pupil_page(request, ctx, served, plans, day, pupil_id)


@router.post("/eleves/{pupil_id}/plans", name="pupil_plan_create")
async def pupil_plan_create(
    request: Request, pupil_id: PupilId, ctx: Context, served: Served, plans: Plans, day: Today
) -> Response:
    """Open a follow-up plan from the pupil page's form."""
    fields = await form_fields(request)
    check_csrf(request, fields)
    values = {k: v for k, v in fields.items() if k in {"action", "owner", "start_date", "review_date"} and v}
    try:
        new = PlanIn.model_validate(values)
        await run_in_threadpool(rules.open_plan, ctx, served, plans, pupil_id, new, day)
    except (ValidationError, PlanRuleError) as error:
        return await run_in_threadpool(_pupil_page, request, ctx, served, plans, day, pupil_id, status=400,
                                       plan_error=wording.plan_form_error(error))  # fmt: skip
    return RedirectResponse(f"{request.app.url_path_for('pupil_page', pupil_id=pupil_id)}#suivi", status_code=303)


@router.post("/suivis/{plan_id}", name="plan_update")
async def plan_update(
    request: Request, plan_id: Annotated[str, Path(pattern=r"^[0-9a-f]{32}$")], ctx: Context, served: Served,
    plans: Plans, day: Today,
) -> Response:  # fmt: skip
    """Review or close a plan from the pupil page's form."""
    fields = await form_fields(request)
    check_csrf(request, fields)
    values = {k: v for k, v in fields.items() if k in {"status", "outcome", "review_date"} and v}
    # Reach first: another school's plan and an id that does not exist give the same traced 404,
    # whatever the form holds.
    plan = await run_in_threadpool(rules.reach_plan, ctx, plans, plan_id, day, served)
    try:
        change = PlanUpdate.model_validate(values)
        updated = await run_in_threadpool(rules.review_plan, ctx, plans, plan, change, day)
    except (ValidationError, PlanRuleError) as error:
        return await run_in_threadpool(_pupil_page, request, ctx, served, plans, day, plan.pupil_id, status=400,
                                       plan_error=wording.plan_form_error(error))  # fmt: skip
    target = request.app.url_path_for("pupil_page", pupil_id=updated.pupil_id)
    return RedirectResponse(f"{target}#suivi", status_code=303)


# --- understanding the score ---------------------------------------------------------------


@router.get("/comprendre", response_class=HTMLResponse, name="understand")
async def understand(request: Request) -> Response:
    """What the score is and is not, how it was trained and audited, whom to contact (public)."""
    try:
        request.state.visitor = await page_caller(request)
    except (SignInRequiredError, AccessLogUnavailableError):  # the page is public, even when sessions cannot be read
        request.state.visitor = None
    state: ServiceState = request.app.state.serving
    current = state.current
    card = card_html(current.model_card) if current and current.model_card else None
    return render(
        request,
        "understand.html",
        title="Comprendre le score",
        visitor=request.state.visitor,
        served=current,
        card_html=card,
        fairness=current.fairness if current else None,
        contact=settings(request).contact,
    )


def refusal_page(request: Request, error: ServiceError) -> HTMLResponse:
    """The French page of what the service layer refuses: out of reach reads like what does not exist."""
    if isinstance(error, OutOfReachError):
        return error_page(request, 404, NOT_FOUND_PAGE)
    if isinstance(error, SuspendedError):  # the stop switch (AI Act art. 14(4)(e)): its French notice
        return render(request, "rights/suspended.html", 503, title="Vigie suspendu", suspension=error.suspension)
    if isinstance(error, PlanRuleError):
        return error_page(request, 400, wording.plan_form_error(error))
    if isinstance(error, JudgementRuleError):
        return error_page(request, 400, wording.JUDGEMENT_FORM_ERROR)
    if isinstance(error, ObjectionConflictError):
        return error_page(request, 409, ALREADY_OBJECTED)
    if isinstance(error, NotStartedError):  # the staggered start (issue 28): its French notice
        return render(request, "not_started.html", 403, title="Vigie n'est pas encore ouvert", refusal=error)
    raise TypeError(f"no page for {type(error).__name__}")  # a new error type must be worded here


def error_page(request: Request, status: int, message: str) -> HTMLResponse:
    """The French page of an error (404 outside the caller's reach as for what does not exist)."""
    titles = {
        400: "Demande incorrecte",
        401: "Connexion refusée",
        403: "Accès refusé",
        404: "Page introuvable",
        415: "Demande incorrecte",
        502: "Connexion impossible",
        500: "Erreur inattendue",
        503: "Service momentanément indisponible",
    }
    return render(request, "error.html", status, title=titles.get(status, "Erreur"), message=message)
