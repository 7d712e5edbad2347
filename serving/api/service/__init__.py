"""The service layer the API and the pages share: an access context per request (caller, access
log, route) through which every read and write is traced; the reads of the served batch; the
follow-up plans' rules, whose refusals are typed errors that each side words its own way."""

from serving.api.service.context import AccessContext, context_of, route_of
from serving.api.service.errors import (
    ImplausibleDatesError,
    JudgementRuleError,
    ObjectionConflictError,
    OutOfReachError,
    PlanNotFoundError,
    PlanRuleError,
    PupilNotFoundError,
    ReviewBeforeStartError,
    SchoolNotFoundError,
    ServiceError,
    SuspendedError,
)

__all__ = [
    "AccessContext",
    "ImplausibleDatesError",
    "JudgementRuleError",
    "ObjectionConflictError",
    "OutOfReachError",
    "PlanNotFoundError",
    "PlanRuleError",
    "PupilNotFoundError",
    "ReviewBeforeStartError",
    "SchoolNotFoundError",
    "ServiceError",
    "SuspendedError",
    "context_of",
    "route_of",
]
