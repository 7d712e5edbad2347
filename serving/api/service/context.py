"""The access context: who asks (the caller), where the answer is traced (the access log) and
through which route (its template, never the raw path: that holds pseudonyms). The API and the
pages each build one per request through a FastAPI dependency; every read and write of the
service layer takes it and traces through it."""

from __future__ import annotations

from dataclasses import dataclass, replace

from fastapi import Request

from models.stagger import StaggerDraw
from serving.api.access_log import Access, AccessLog
from serving.api.auth import Principal


def route_of(request: Request) -> str:
    """``METHOD /route/{template}`` of the matched route (``/api/v1/pupils/{pupil_id}``)."""
    route = request.scope.get("route")
    return f"{request.method} {getattr(route, 'path', 'unmatched')}"


@dataclass(frozen=True)
class AccessContext:
    """Who is asking, through which route, and where their accesses are traced: what every service-layer read and change
    takes."""

    caller: Principal
    log: AccessLog
    route: str
    #: The status a request refused by a plan rule answers: 422 on the API, 400 on the pages.
    refused: int = 422
    #: The staggered start's draw when it is on (``serving.api.service.stagger``), else None.
    stagger: StaggerDraw | None = None

    def trace(self, status: int, *, school_id: str | None = None, pupil_id: str | None = None) -> None:
        """Write the access entry before anything is served; when it cannot be written,
        :class:`AccessLogUnavailableError` makes the answer a 503 (fail closed, ``serving/app.py``)."""
        caller = self.caller
        self.log.record(Access(caller.subject, caller.role.value, self.route, status, school_id, pupil_id))

    def at(self, route: str) -> AccessContext:
        """The same caller and log, traced under another route (a page re-shown after a refused form)."""
        return replace(self, route=route)

    def reaches(self, school_id: str) -> bool:
        """Whether the caller may see the pupils of ``school_id``."""
        return self.caller.reaches(school_id)


def context_of(
    request: Request, caller: Principal, log: AccessLog, *, refused: int = 422, stagger: StaggerDraw | None = None
) -> AccessContext:
    """The request's context (called by the API's and the pages' dependencies, which hand in the staggered
    start's draw when it is on)."""
    return AccessContext(caller, log, route_of(request), refused, stagger)
