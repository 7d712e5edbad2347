"""The risk service's settings: a section of Vigie's one settings object (``VIGIE_SERVICE__*``)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from models import DEFAULT_MODEL_NAME
from models.paths import Paths

#: Vigie's roles, as the settings name them (``serving.api.auth.Role``).
RoleName = Literal["staff", "reviewer", "data_scientist", "admin", "dpo"]
#: An embedded signing secret shorter than this is refused (HS256 wants at least 256 bits).
MIN_SECRET_BYTES = 32


class ServiceSettings(BaseModel):
    """Sign-in, storage, limits and reloading of ``vigie serve``."""

    model_config = ConfigDict(extra="forbid")

    # --- sign-in: embedded tokens (HS256, ``vigie token``) or an OpenID Connect provider ---
    auth: Literal["embedded", "oidc"] = "embedded"
    secret: SecretStr | None = Field(default=None, description="Signing secret of embedded tokens.")
    token_issuer: str = "vigie"
    token_audience: str = "vigie"
    oidc_issuer: str | None = None
    oidc_audience: str | None = None
    oidc_jwks_url: str | None = None
    #: Where a token carries the Vigie role and the schools (UAI) of the agent: a claim name or a
    #: dotted path into nested claims (Keycloak: ``realm_access.roles``). Each holds a string or
    #: a list of strings; any other shape refuses the token (401).
    role_claim: str = "vigie_role"
    schools_claim: str = "vigie_schools"
    #: The provider's role names -> Vigie's (``{"vigie-cpe": "staff", "dpo": "admin"}``). Empty:
    #: the claim holds Vigie's own names. Names not listed are ignored; a token whose names map
    #: to no Vigie role, or to several, is refused.
    role_map: dict[str, RoleName] = Field(default_factory=dict)
    #: The pages' sign-in with the provider: authorisation code with PKCE (a public client).
    oidc_client_id: str | None = None
    oidc_authorization_url: str | None = None
    oidc_token_url: str | None = None
    oidc_scopes: str = "openid"

    # --- the pages' session ---
    #: Signs the pages' CSRF tokens and sign-in state. Default: derived from the embedded secret,
    #: else random at start (set it when several processes serve the pages behind one address).
    session_secret: SecretStr | None = None
    #: The session cookie's Secure flag; None: set when the request came over HTTPS.
    cookie_secure: bool | None = None
    #: A pages' session ends at its token's expiry or after this many hours, whichever comes first.
    session_max_hours: float = Field(default=8, gt=0)
    #: ``vigie token --ttl`` issues no longer-lived token, and the service refuses an embedded
    #: token that would still be valid for longer than this.
    embedded_token_max_hours: float = Field(default=7 * 24, gt=0)
    #: Whom staff contact about the score (shown on « Comprendre le score »).
    contact: str = (
        "le référent décrochage de votre établissement ; pour vos données, le délégué à la "
        "protection des données de votre académie"
    )

    #: The deployer's part of the public notice of the algorithm (``configs/notice.yaml``: administration,
    #: contact, legal basis...); None: every such field reads the marker ``serving.notice.TO_COMPLETE``.
    notice_file: Path | None = None

    # --- what is served ---
    model_name: str = DEFAULT_MODEL_NAME
    model_reference: str = "champion"
    #: Pick up a new champion or a new batch every N seconds (None: only on POST /admin/reload).
    reload_interval_seconds: float | None = Field(default=None, gt=0)
    #: A risk that moved by at least this much since the previous batch is "up" or "down".
    risk_change_threshold: float = Field(default=0.02, gt=0, lt=1)
    #: The pseudonymisation key, for look-up by INE; without it the look-up answers 404.
    pseudonym_key_file: Path | None = None

    #: The service's "today" (overdue reviews, plan dates); the real date when empty. For demos
    #: and tests that serve an older batch.
    reference_date: date | None = None
    #: Closed follow-up plans are kept until the end of this many school years after the one
    #: they were closed in (default: the end of the next school year), then purged.
    followup_retention_school_years: int = Field(default=1, ge=0)
    #: Score batches (scores, reasons, model inputs) are kept until the end of this many school years
    #: after the one of their as-of date (default: the end of the next one, so the current and the
    #: previous school year are kept), then purged by ``vigie score-history purge`` (GDPR art. 5(1)(e)).
    score_history_retention_school_years: int = Field(default=1, ge=0)

    # --- the access log ---
    #: SQLAlchemy URL; default: a SQLite file in the data folder. PostgreSQL:
    #: ``postgresql+psycopg://user:password@host/dbname``.
    database_url: str | None = None
    access_log_retention_days: int = Field(default=365, ge=1)

    # --- hygiene ---
    max_request_bytes: int = Field(default=16_384, ge=1024)
    #: The request line's target and headers together; beyond, 431.
    max_header_bytes: int = Field(default=16_384, ge=1024)
    #: Who reads ``/metrics``: nobody ("off", 404), clients on loopback only ("loopback", 404 for
    #: others: Prometheus on the same host), or with ``Authorization: Bearer <metrics_token>`` ("token").
    metrics: Literal["off", "loopback", "token"] = "loopback"
    metrics_token: SecretStr | None = None
    cors_origins: list[str] = Field(default_factory=list, description="None by default: CORS closed.")
    max_page_size: int = Field(default=200, ge=1)
    export_max_rows: int = Field(default=5_000, ge=1)

    @model_validator(mode="after")
    def _auth_is_complete(self) -> ServiceSettings:
        if self.auth == "oidc" and not (self.oidc_issuer and self.oidc_audience and self.oidc_jwks_url):
            raise ValueError("auth 'oidc' needs oidc_issuer, oidc_audience and oidc_jwks_url")
        if self.metrics == "token" and len((self.metrics_token or SecretStr("")).get_secret_value()) < MIN_SECRET_BYTES:
            raise ValueError(f"metrics 'token' needs metrics_token of at least {MIN_SECRET_BYTES} characters")
        return self

    @property
    def oidc_pages(self) -> bool:
        """Whether the pages can sign in with the provider (the API needs only its keys)."""
        return self.auth == "oidc" and bool(self.oidc_client_id and self.oidc_authorization_url and self.oidc_token_url)

    def signing_secret(self) -> bytes:
        """The embedded secret, refused when missing or short."""
        if self.secret is None:
            raise ValueError(
                "service.secret is not set: set VIGIE_SERVICE__SECRET (at least "
                f"{MIN_SECRET_BYTES} bytes, e.g. from 'openssl rand -hex 32')"
            )
        value = self.secret.get_secret_value().encode()
        if len(value) < MIN_SECRET_BYTES:
            raise ValueError(f"service.secret is too short: {len(value)} bytes, at least {MIN_SECRET_BYTES} needed")
        return value

    def today(self) -> date:
        """The reference date if set, else today: what plan reviews are judged overdue against."""
        return self.reference_date or date.today()

    def database(self, data_dir: Path) -> str:
        """The service database's URL: the configured one, else SQLite under the data folder."""
        return self.database_url or f"sqlite:///{Paths(data_dir).service_database.resolve()}"
