"""The risk service for school staff: FastAPI, sign-in, per-school access, an access log."""

from serving.api.app import create_app, tune_interpreter
from serving.api.auth import Principal, Role, issue_token
from serving.api.settings import ServiceSettings

__all__ = ["Principal", "Role", "ServiceSettings", "create_app", "issue_token", "tune_interpreter"]
