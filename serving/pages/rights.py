"""The pages' part of issue 26: staff record their judgement on a pupil's flag (AI Act art. 14),
the list and the pupil page show it, the stop switch's French notice, and the reminder that the
score is one signal among others. Over the same service layer as the API
(:mod:`serving.api.service.rights`)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from models.judgements import CONCERN, NOT_A_CONCERN, VERDICT_REASONS, VERDICTS, verdicts_at
from serving.api.deps import Plans, Rights, Served, Today
from serving.api.rights import JudgementIn
from serving.api.service import JudgementRuleError
from serving.api.service import rights as rules
from serving.pages.session import check_csrf, form_fields
from serving.pages.views import Context, PupilId, _pupil_page, templates
from serving.pages.wording import JUDGEMENT_FORM_ERROR

router = APIRouter(include_in_schema=False)
templates.env.globals.update(
    VERDICTS=VERDICTS, NOT_A_CONCERN=NOT_A_CONCERN, CONCERN=CONCERN, verdicts_at=verdicts_at,
    VERDICT_REASONS=VERDICT_REASONS,
)  # fmt: skip
#: Verdicts whose badge reads as a disagreement with the model.
VERDICT_BADGES = {"accord": "fr-badge--info", "pas_une_inquietude": "fr-badge--success",
                  "inquietude_malgre_score": "fr-badge--warning"}  # fmt: skip
templates.env.globals["VERDICT_BADGES"] = VERDICT_BADGES


@router.post("/eleves/{pupil_id}/avis", name="pupil_judgement")
async def pupil_judgement(
    request: Request, pupil_id: PupilId, *, ctx: Context, served: Served, plans: Plans, rights: Rights, day: Today
) -> Response:
    """Record staff's judgement from the pupil page's form."""
    fields = await form_fields(request)
    check_csrf(request, fields)
    values = {k: v for k, v in fields.items() if k in {"verdict", "reason"} and v}
    try:
        new = JudgementIn.model_validate(values)
        await run_in_threadpool(rules.record_judgement, ctx, served, rights, pupil_id, new)
    except (ValidationError, JudgementRuleError):
        return await run_in_threadpool(_pupil_page, request, ctx, served, plans, day, pupil_id, status=400,
                                       judgement_error=JUDGEMENT_FORM_ERROR)  # fmt: skip
    return RedirectResponse(f"{request.app.url_path_for('pupil_page', pupil_id=pupil_id)}#avis", status_code=303)
