"""FastAPI dependencies: the caller, what is served, and the access log that traces each read."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from serving.api.access_log import Access, AccessLog
from serving.api.auth import Principal, Role, TokenRefusedError, TokenVerifier
from serving.api.settings import ServiceSettings
from serving.api.state import ServiceState, Serving

NOT_FOUND = "Introuvable."
bearer = HTTPBearer(auto_error=False, description="A Vigie token ('vigie token') or the OIDC provider's access token.")


def settings(request: Request) -> ServiceSettings:
    return request.app.state.settings


async def principal(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> Principal:
    """The signed-in caller; 401 for no token or a refused one.

    An embedded token is checked on the event loop (a few microseconds, no I/O); a provider's
    token in a worker thread, since fetching its JWKS blocks.
    """
    if credentials is None:
        raise HTTPException(401, "Authentification requise.", headers={"WWW-Authenticate": "Bearer"})
    verifier: TokenVerifier = request.app.state.verifier
    try:
        if verifier.blocking:
            return await run_in_threadpool(verifier.verify, credentials.credentials)
        return verifier.verify(credentials.credentials)
    except TokenRefusedError:
        raise HTTPException(401, "Jeton refusé.", headers={"WWW-Authenticate": "Bearer"}) from None


Caller = Annotated[Principal, Depends(principal)]


async def serving(request: Request) -> Serving:
    state: ServiceState = request.app.state.serving
    current = state.current
    if current is None:
        raise HTTPException(503, "Aucun modèle ni lot de scores n'est chargé pour l'instant.")
    return current


Served = Annotated[Serving, Depends(serving)]


async def access_log(request: Request) -> AccessLog:
    return request.app.state.access_log


Log = Annotated[AccessLog, Depends(access_log)]


def require(caller: Principal, *roles: Role) -> None:
    """403 for an operation the caller's role does not allow (pupil data answers 404 instead)."""
    if caller.role not in roles:
        raise HTTPException(403, "Votre rôle ne permet pas cette opération.")


def trace(
    log: AccessLog,
    caller: Principal,
    endpoint: str,
    status: int,
    *,
    school_id: str | None = None,
    pupil_id: str | None = None,
) -> None:
    """Write the access entry before anything is served; when it cannot be written,
    :class:`AccessLogUnavailableError` makes the answer a 503 (fail closed, ``app.py``)."""
    log.record(Access(caller.subject, caller.role.value, endpoint, status, school_id, pupil_id))
