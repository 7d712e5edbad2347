"""The pages for school staff, in French on the State design system (DSFR), over the service layer the API uses."""

from serving.pages.session import PageKeys, SignInRequiredError
from serving.pages.views import NOT_FOUND_PAGE, STATIC, error_page, refusal_page, router

__all__ = ["NOT_FOUND_PAGE", "STATIC", "PageKeys", "SignInRequiredError", "error_page", "refusal_page", "router"]
