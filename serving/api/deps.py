"""FastAPI dependencies: the caller and its role, what is served, the access context that traces
each read and write, the plans and today's date."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import date
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from models.stagger import StaggerDraw
from serving.api.access_log import AccessLog
from serving.api.auth import Principal, Role, TokenRefusedError, TokenVerifier
from serving.api.plans import PlanStore
from serving.api.rights import RightsStore
from serving.api.service import AccessContext, SuspendedError, context_of
from serving.api.settings import ServiceSettings
from serving.api.state import ServiceState, Serving

bearer = HTTPBearer(auto_error=False, description="A Vigie token ('vigie token') or the OIDC provider's access token.")


def settings(request: Request) -> ServiceSettings:
    """The service's settings (FastAPI dependency)."""
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


def require_role(*roles: Role) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency: the caller, or 403 when their role does not allow the operation (pupil data
    answers 404 instead, by the reach rule of :mod:`serving.api.service`)."""

    async def allowed(caller: Caller) -> Principal:
        if caller.role not in roles:
            raise HTTPException(403, "Votre rôle ne permet pas cette opération.")
        return caller

    return allowed


#: Role dependencies, for a route's ``dependencies=[...]``.
DATA_SCIENTISTS = Depends(require_role(Role.DATA_SCIENTIST))
MODEL_READERS = Depends(require_role(Role.DATA_SCIENTIST, Role.REVIEWER, Role.ADMIN))
ADMINS = Depends(require_role(Role.ADMIN))


def _served_now(state: ServiceState, rights: RightsStore) -> Serving | None:
    """What this request sees: the register read now (the objections honoured, GDPR art. 21;
    the standing suspensions, AI Act art. 14(4)(e)), over the served batch."""
    register = rights.register()
    state.honour(register.objections)
    current = state.current
    return (
        None if current is None else replace(current, suspensions=register.suspensions, objections=register.objections)
    )


async def serving(request: Request) -> Serving:
    """The served model and batch, as the objection register and the stop switch stand now."""
    state: ServiceState = request.app.state.serving
    current = await run_in_threadpool(_served_now, state, request.app.state.rights)
    if current is None:
        raise HTTPException(503, "Aucun modèle ni lot de scores n'est chargé pour l'instant.")
    return current


Served = Annotated[Serving, Depends(serving)]


async def running(served: Served) -> Serving:
    """What is served, unless Vigie is suspended everywhere (then 503 with the reason): for the
    outputs that are no school's (counts over the batch, what-if scoring)."""
    stop = served.suspensions.everywhere
    if stop is not None:
        raise SuspendedError(stop)
    return served


Running = Annotated[Serving, Depends(running)]


async def rights_store(request: Request) -> RightsStore:
    """The objection register, the judgements and the suspensions."""
    return request.app.state.rights


Rights = Annotated[RightsStore, Depends(rights_store)]
DPOS = Depends(require_role(Role.DPO))


async def access_log(request: Request) -> AccessLog:
    """The access log every pupil-level answer is traced in (FastAPI dependency)."""
    return request.app.state.access_log


Log = Annotated[AccessLog, Depends(access_log)]


async def stagger_gate(request: Request) -> StaggerDraw | None:
    """The staggered start's draw the service honours (issue 28), or None when it is off, the default
    (FastAPI dependency; read once at start by :func:`serving.api.service.stagger.load_gate`)."""
    return request.app.state.stagger


Gate = Annotated[StaggerDraw | None, Depends(stagger_gate)]


async def api_context(request: Request, caller: Caller, log: Log, gate: Gate) -> AccessContext:
    """The caller, the access log and the route template of this API request."""
    return context_of(request, caller, log, stagger=gate)


Context = Annotated[AccessContext, Depends(api_context)]


async def plan_store(request: Request) -> PlanStore:
    """The follow-up plans' store (FastAPI dependency)."""
    return request.app.state.plans


Plans = Annotated[PlanStore, Depends(plan_store)]


async def today(request: Request) -> date:
    """Today, as the settings say (tests set a fixed day)."""
    return settings(request).today()


Today = Annotated[date, Depends(today)]
