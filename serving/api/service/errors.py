"""What the service layer refuses, as types: the API maps them to statuses and JSON
(:mod:`serving.api.errors`), the pages to French messages (:mod:`serving.pages.wording`)."""

from __future__ import annotations

from serving.api.plans import REVIEW_BEFORE_START
from serving.api.rights import Suspension


class ServiceError(Exception):
    """A request the service layer refuses (already traced when the refusal names a pupil or school)."""


class OutOfReachError(ServiceError):
    """Unknown, or outside the caller's schools: the same answer for both (404)."""


class PupilNotFoundError(OutOfReachError):
    """No such pupil in the served batch, or one outside the caller's schools."""


class SchoolNotFoundError(OutOfReachError):
    """No such school in the served batch, or one outside the caller's schools."""


class PlanNotFoundError(OutOfReachError):
    """No such plan, or one for a pupil outside the caller's schools."""


class PlanRuleError(ServiceError):
    """A plan change that breaks a rule (422 on the API), naming the body fields at fault."""

    message = "plan rule broken"

    def __init__(self, *fields: str) -> None:
        super().__init__(self.message)
        self.fields = fields


class ImplausibleDatesError(PlanRuleError):
    """A date more than two years from today (a typo such as 2052)."""

    message = "date more than two years from today"


class ReviewBeforeStartError(PlanRuleError):
    """A review dated before the plan starts."""

    message = REVIEW_BEFORE_START

    def __init__(self) -> None:
        super().__init__("review_date")


class SuspendedError(ServiceError):
    """Vigie is suspended for the school asked about, or everywhere (AI Act art. 14(4)(e)): 503
    with the reason on the API, the French notice on the pages."""

    def __init__(self, suspension: Suspension) -> None:
        super().__init__(suspension.notice())
        self.suspension = suspension


class JudgementRuleError(ServiceError):
    """A judgement that does not fit the pupil's tier or lacks its reason (422 naming the field,
    as an invalid body would; 400 with the form's French message on the pages)."""

    def __init__(self, message: str = "judgement rule broken", *fields: str) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields or ("verdict",)


class ObjectionConflictError(ServiceError):
    """The pupil's objection already stands (409)."""
