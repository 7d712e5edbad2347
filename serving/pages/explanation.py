"""The explanation a family may ask for, as a printable page (CRPA L311-3-1, R311-3-1-2; GDPR
15(1)(h), 22): the service layer's :class:`PupilExplanation` in French, its issue traced. Printed
or saved as PDF by the browser (``print.css``), tested with Chromium's ``page.pdf``."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from serving.api.deps import Served, settings
from serving.api.service import explanation
from serving.pages.views import Context, PupilId, render

router = APIRouter(include_in_schema=False)


@router.get("/eleves/{pupil_id}/explication", response_class=HTMLResponse, name="pupil_explanation_page")
def pupil_explanation(request: Request, pupil_id: PupilId, ctx: Context, served: Served) -> Response:
    """The document to hand over: the four items of R311-3-1-2 for this pupil at the served batch."""
    document = explanation.pupil_explanation(served, ctx, pupil_id)
    return render(
        request,
        "explanation.html",
        title=f"Explication du score de l'élève {document.pupil_id}",
        doc=document,
        contact=settings(request).contact,
    )
