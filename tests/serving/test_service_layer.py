"""The service layer the API and the pages share: every typed refusal has an answer on each side,
and the access context traces each request under its own route."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from starlette.requests import Request

from serving.api.access_log import Access
from serving.api.auth import Principal, Role
from serving.api.errors import ALREADY_OBJECTED, NOT_FOUND, problem
from serving.api.rights import SUSPENSION_REASONS, Suspension
from serving.api.service import (
    AccessContext,
    ImplausibleDatesError,
    JudgementRuleError,
    ObjectionConflictError,
    OutOfReachError,
    PlanNotFoundError,
    PlanRuleError,
    ReviewBeforeStartError,
    ServiceError,
    SuspendedError,
    context_of,
)
from serving.api.service.stagger import NotStartedError
from serving.pages.wording import JUDGEMENT_FORM_ERROR, PLAN_RULE_MESSAGES, plan_form_error


def _kinds(base: type[ServiceError]) -> list[type[ServiceError]]:
    """The refusals the layer raises: the leaves of the error tree."""
    return [leaf for kind in base.__subclasses__() for leaf in (_kinds(kind) or [kind])]


STOP = Suspension(school_id="0750001A", reason="anomalie_donnees", reason_text=SUSPENSION_REASONS["anomalie_donnees"],
                  started_at=datetime(2026, 12, 6, tzinfo=UTC), started_by="admin")  # fmt: skip


def _one(kind: type[ServiceError]) -> ServiceError:
    if kind is NotStartedError:
        return NotStartedError("0000001A", 2027)
    if kind is SuspendedError:
        return SuspendedError(STOP)
    if kind is JudgementRuleError:
        return JudgementRuleError("verdict 'accord' takes no reason", "reason")
    return kind("start_date") if kind is ImplausibleDatesError else kind()


@pytest.mark.parametrize("kind", _kinds(ServiceError), ids=lambda k: k.__name__)
def test_every_refusal_has_an_api_answer_and_a_french_message(kind: type[ServiceError]) -> None:
    answer = problem(_one(kind))
    body = json.loads(bytes(answer.body))
    if issubclass(kind, OutOfReachError):  # one answer whatever was out of reach: nothing tells them apart
        assert (answer.status_code, body) == (404, {"detail": NOT_FOUND})
    elif kind is NotStartedError:  # the staggered start (issue 28): the French notice and when the school opens
        assert (
            answer.status_code == 403 and body["start_year"] == 2027 and "rentrée de septembre 2027" in body["detail"]
        )
    elif kind is SuspendedError:  # the stop switch: 503 with its reason, in French, and nothing else
        assert answer.status_code == 503 and body["reason"] == "anomalie_donnees" and body["school_id"] == "0750001A"
        assert body["detail"] == STOP.notice() and "suspendu" in body["detail"]
    elif kind is ObjectionConflictError:
        assert (answer.status_code, body) == (409, {"detail": ALREADY_OBJECTED})
    elif kind is JudgementRuleError:
        assert answer.status_code == 422 and body["detail"][0]["loc"] == ["body", "reason"]
        assert JUDGEMENT_FORM_ERROR.startswith("Choisissez un avis")
    else:
        assert issubclass(kind, PlanRuleError) and kind in PLAN_RULE_MESSAGES
        assert answer.status_code == 422 and all(item["loc"][0] == "body" for item in body["detail"])
        assert plan_form_error(_one(kind)) == PLAN_RULE_MESSAGES[kind]  # type: ignore[arg-type]


def test_a_rule_refusal_names_its_fields_as_an_invalid_body_would() -> None:
    answer = json.loads(bytes(problem(ImplausibleDatesError("start_date", "review_date")).body))
    assert [item["loc"] for item in answer["detail"]] == [["body", "start_date"], ["body", "review_date"]]
    before = json.loads(bytes(problem(ReviewBeforeStartError()).body))
    assert before["detail"] == [
        {"loc": ["body", "review_date"], "msg": "review_date must not be before start_date", "type": "value_error"}
    ]
    assert "deux ans" in plan_form_error(ImplausibleDatesError("start_date"))
    assert "après le début" in plan_form_error(ReviewBeforeStartError())


class _Log:
    def __init__(self) -> None:
        self.entries: list[Access] = []

    def record(self, access: Access) -> None:
        self.entries.append(access)


class _Route:
    path = "/api/v1/pupils/{pupil_id}"


def test_the_context_traces_the_route_template_and_never_the_raw_path() -> None:
    scope: dict[str, Any] = {
        "type": "http", "method": "GET", "path": "/api/v1/pupils/3f9a1c0b7d2e4a6f8b1c", "headers": [],
        "route": _Route(),
    }  # fmt: skip
    log = _Log()
    caller = Principal("cpe@0750001A", Role.STAFF, frozenset({"0750001A"}))
    ctx = context_of(Request(scope), caller, log)  # type: ignore[arg-type]
    assert isinstance(ctx, AccessContext) and ctx.route == "GET /api/v1/pupils/{pupil_id}"
    ctx.trace(404, pupil_id="3f9a1c0b7d2e4a6f8b1c")
    ctx.at("GET /eleves/{pupil_id}").trace(200, school_id="0750001A")
    assert [(e.subject, e.role, e.endpoint, e.status) for e in log.entries] == [
        ("cpe@0750001A", "staff", "GET /api/v1/pupils/{pupil_id}", 404),
        ("cpe@0750001A", "staff", "GET /eleves/{pupil_id}", 200),
    ]
    assert ctx.reaches("0750001A") and not ctx.reaches("0750002B")
    assert isinstance(PlanNotFoundError(), OutOfReachError)  # a plan of another school reads as no plan
