"""The pages for school staff, in French on the State design system (DSFR), over the service layer the API uses."""

from fastapi import APIRouter

from serving.pages import rights, views
from serving.pages.session import PageKeys, SignInRequiredError
from serving.pages.views import NOT_FOUND_PAGE, STATIC, error_page, refusal_page

#: Every page: the list, the pupil, « Comprendre le score », and the judgement form (issue 26).
router = APIRouter(include_in_schema=False)
router.include_router(views.router)
router.include_router(rights.router)

__all__ = ["NOT_FOUND_PAGE", "STATIC", "PageKeys", "SignInRequiredError", "error_page", "refusal_page", "router"]
