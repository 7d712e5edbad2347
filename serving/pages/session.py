"""The pages' session: an opaque id in an HttpOnly, SameSite=Strict cookie, the session itself
in the service's database (:mod:`serving.api.sessions`), CSRF tokens bound to the live session
for every form that writes, and the state of a sign-in with the provider (PKCE).

The token signed in with (Vigie's own or the provider's) is checked once, by the API's own
verifier (:class:`serving.api.auth.TokenVerifier`), and never kept: the session ends at its
expiry or after ``service.session_max_hours``, and at sign-out, whichever comes first.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

import jwt
from fastapi import HTTPException, Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.concurrency import run_in_threadpool

from serving.api.auth import Principal, TokenVerifier
from serving.api.sessions import SessionStore
from serving.api.settings import ServiceSettings

SESSION_COOKIE = "vigie_session"
#: Before sign-in, the CSRF token of the sign-in form is bound to this random cookie.
NONCE_COOKIE = "vigie_nonce"
#: The provider sign-in in progress (state and PKCE verifier), signed, for ten minutes.
FLOW_COOKIE = "vigie_oidc_flow"
FLOW_SECONDS = 600
MAX_FORM_FIELDS = 20


class SignInRequiredError(Exception):
    """No session, or its token is refused or expired: the page sends the visitor to sign in."""


@dataclass(frozen=True)
class PageKeys:
    """Secrets of the pages: CSRF tokens and the signed sign-in state."""

    key: bytes

    @classmethod
    def of(cls, settings: ServiceSettings) -> PageKeys:
        """The pages' key: the configured session secret, else one derived from the embedded signing secret, else a
        random one (sessions then end with the process)."""
        if settings.session_secret is not None:
            return cls(settings.session_secret.get_secret_value().encode())
        if settings.auth == "embedded":
            return cls(hmac.new(settings.signing_secret(), b"vigie-pages", hashlib.sha256).digest())
        return cls(secrets.token_bytes(32))

    def csrf(self, binding: str) -> str:
        """The CSRF token of a session (or of the pre-session nonce)."""
        return hmac.new(self.key, b"csrf:" + binding.encode(), hashlib.sha256).hexdigest()

    def flow(self) -> URLSafeTimedSerializer:
        """The signer of the provider sign-in's state cookie."""
        return URLSafeTimedSerializer(self.key, salt="vigie-oidc-flow")


def keys(request: Request) -> PageKeys:
    """The pages' keys (FastAPI dependency)."""
    return request.app.state.page_keys


def csrf_binding(request: Request) -> str:
    """What a CSRF token is bound to: the live session found by :func:`page_caller` for this
    request, else the nonce cookie (a closed session's tokens bind to nothing)."""
    return getattr(request.state, "session_id", None) or request.cookies.get(NONCE_COOKIE) or ""


async def form_fields(request: Request) -> dict[str, str]:
    """A small URL-encoded form (the pages post nothing else); 415 for any other body."""
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/x-www-form-urlencoded":
        raise HTTPException(415, "Formulaire attendu.")
    body = (await request.body()).decode("utf-8", errors="replace")
    try:
        return dict(parse_qsl(body, keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS))
    except ValueError:
        raise HTTPException(400, "Formulaire illisible.") from None


def check_csrf(request: Request, fields: dict[str, str]) -> None:
    """403 unless the form carries the token of this session (or of the sign-in nonce)."""
    binding = csrf_binding(request)
    sent = fields.get("csrf", "")
    if not binding or not hmac.compare_digest(sent, keys(request).csrf(binding)):
        raise HTTPException(403, "Le formulaire a expiré ou ne vient pas de Vigie : rechargez la page.")


async def verify(request: Request, token: str) -> Principal:
    """The caller a token names; a verifier that may fetch the provider's keys runs off the event loop."""
    verifier: TokenVerifier = request.app.state.verifier
    if verifier.blocking:
        return await run_in_threadpool(verifier.verify, token)
    return verifier.verify(token)


def sessions(request: Request) -> SessionStore:
    """The page sessions' store (FastAPI dependency)."""
    return request.app.state.sessions


async def page_caller(request: Request) -> Principal:
    """The signed-in visitor of a page (FastAPI dependency): a live session in the database."""
    session_id = request.cookies.get(SESSION_COOKIE)
    if not session_id or len(session_id) > 128:
        raise SignInRequiredError
    found = await run_in_threadpool(sessions(request).find, session_id)
    if found is None:
        raise SignInRequiredError
    request.state.session_id = session_id
    return found[0]


def _secure(request: Request) -> bool:
    configured: bool | None = request.app.state.settings.cookie_secure
    return request.url.scheme == "https" if configured is None else configured


def _token_expiry(token: str) -> datetime:
    """When the (already verified) token expires."""
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return datetime.fromtimestamp(float(claims["exp"]), UTC)


async def open_session(request: Request, response: Response, token: str, caller: Principal) -> None:
    """A new session for the verified ``token``'s caller (any session the browser had is closed):
    it ends at the token's expiry or after ``session_max_hours``, whichever comes first."""
    now = datetime.now(UTC)
    longest = now + timedelta(hours=request.app.state.settings.session_max_hours)
    ends = min(_token_expiry(token), longest)
    store = sessions(request)
    previous = request.cookies.get(SESSION_COOKIE)
    if previous:
        await run_in_threadpool(store.close, previous)
    session_id = await run_in_threadpool(store.open, caller, ends, now)
    response.set_cookie(
        SESSION_COOKIE, session_id, max_age=max(0, int((ends - now).total_seconds())), path="/",
        secure=_secure(request), httponly=True, samesite="strict",
    )  # fmt: skip
    response.delete_cookie(NONCE_COOKIE, path="/")


async def close_session(request: Request, response: Response) -> None:
    """Delete the session server-side (a replayed cookie then opens nothing), and the cookie."""
    session_id = request.cookies.get(SESSION_COOKIE)
    if session_id:
        await run_in_threadpool(sessions(request).close, session_id)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")


def new_nonce() -> str:
    """A fresh random nonce for the sign-in form, before any session exists."""
    return secrets.token_urlsafe(24)


def set_nonce(request: Request, response: Response, nonce: str) -> None:
    """The pre-session nonce the sign-in form's CSRF token is bound to."""
    response.set_cookie(NONCE_COOKIE, nonce, path="/", secure=_secure(request), httponly=True, samesite="strict")


@dataclass(frozen=True)
class Flow:
    """A provider sign-in in progress (RFC 7636): what the callback must match."""

    state: str
    verifier: str

    @classmethod
    def start(cls) -> Flow:
        """A new flow: a random state and PKCE verifier."""
        return cls(secrets.token_urlsafe(24), secrets.token_urlsafe(48))

    @property
    def challenge(self) -> str:
        """The PKCE challenge sent to the provider: the verifier's SHA-256, base64url without padding."""
        digest = hashlib.sha256(self.verifier.encode("ascii")).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def remember_flow(request: Request, response: Response, flow: Flow) -> None:
    """The flow's cookie is SameSite=Lax: the provider's redirect back is a cross-site navigation."""
    value = keys(request).flow().dumps({"state": flow.state, "verifier": flow.verifier})
    response.set_cookie(
        FLOW_COOKIE, value, max_age=FLOW_SECONDS, path="/connexion", secure=_secure(request), httponly=True,
        samesite="lax",
    )  # fmt: skip


def recall_flow(request: Request, state: str) -> Flow:
    """The flow this callback answers; 400 when missing, expired, forged or for another state."""
    try:
        saved = keys(request).flow().loads(request.cookies.get(FLOW_COOKIE, ""), max_age=FLOW_SECONDS)
    except BadSignature:
        raise HTTPException(400, "La connexion a expiré ou n'a pas été demandée ici : recommencez.") from None
    if not hmac.compare_digest(str(saved.get("state", "")), state):
        raise HTTPException(400, "La connexion a expiré ou n'a pas été demandée ici : recommencez.")
    return Flow(str(saved["state"]), str(saved["verifier"]))


def forget_flow(response: Response) -> None:
    """Drop the flow's cookie once the callback has used it."""
    response.delete_cookie(FLOW_COOKIE, path="/connexion")
