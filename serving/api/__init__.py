"""The risk service's API for school staff: sign-in, per-school access, an access log, follow-up
plans. The service with its pages is assembled in :mod:`serving.app`."""

from serving.api.auth import Principal, Role, issue_token
from serving.api.settings import ServiceSettings

__all__ = ["Principal", "Role", "ServiceSettings", "issue_token"]
