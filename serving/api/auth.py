"""Sign-in: OAuth2 bearer JWTs checked with PyJWT, from Vigie's own signer or an OIDC provider.

A token names a subject, one role and, for school staff, the schools (UAI) they work in. Every
failure (bad signature, wrong issuer or audience, expired, a claim missing) is a 401 that says
nothing more than that the token was refused.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

import jwt

from serving.api.settings import ServiceSettings


class Role(StrEnum):
    STAFF = "staff"  # their schools' pupils only
    REVIEWER = "reviewer"  # aggregates, model card, audits; no pupil-level data
    DATA_SCIENTIST = "data_scientist"  # model metadata, what-if scoring; no pupil list
    ADMIN = "admin"  # access-log export, reload


class TokenRefusedError(Exception):
    """The token cannot be trusted; the reason is for the server's eyes, never the response."""


@dataclass(frozen=True)
class Principal:
    subject: str
    role: Role
    schools: frozenset[str]

    def reaches(self, school_id: str) -> bool:
        """Whether this caller may see the pupils of ``school_id``."""
        return self.role is Role.STAFF and school_id in self.schools


def issue_token(settings: ServiceSettings, *, subject: str, role: Role, schools: list[str], ttl: timedelta) -> str:
    """An embedded token (HS256) for ``vigie token``."""
    now = datetime.now(UTC)
    claims = {
        "sub": subject,
        "iss": settings.token_issuer,
        "aud": settings.token_audience,
        "iat": now,
        "nbf": now,
        "exp": now + ttl,
        "jti": uuid.uuid4().hex,
        settings.role_claim: role.value,
        settings.schools_claim: sorted(schools),
    }
    return jwt.encode(claims, settings.signing_secret(), algorithm="HS256")


class TokenVerifier:
    """Checks bearer tokens against the embedded secret or the provider's published keys."""

    def __init__(self, settings: ServiceSettings) -> None:
        self.settings = settings
        if settings.auth == "embedded":
            self._secret: bytes | None = settings.signing_secret()  # refuses a missing or short secret at start
            self._jwks: jwt.PyJWKClient | None = None
        else:
            self._secret = None
            self._jwks = jwt.PyJWKClient(str(settings.oidc_jwks_url), cache_jwk_set=True, lifespan=300)

    @property
    def blocking(self) -> bool:
        """Whether checking a token may wait on the network (the provider's JWKS)."""
        return self._jwks is not None

    def verify(self, token: str) -> Principal:
        s = self.settings
        try:
            if self._jwks is not None:
                key: Any = self._jwks.get_signing_key_from_jwt(token).key
                algorithms, issuer, audience = ["RS256", "ES256"], s.oidc_issuer, s.oidc_audience
            else:
                key, algorithms, issuer, audience = self._secret, ["HS256"], s.token_issuer, s.token_audience
            claims = jwt.decode(
                token,
                key,
                algorithms=algorithms,
                audience=audience,
                issuer=issuer,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.PyJWTError as error:
            raise TokenRefusedError(str(error)) from None
        role, schools = claims.get(s.role_claim), claims.get(s.schools_claim, [])
        if role not in {r.value for r in Role}:
            raise TokenRefusedError(f"claim {s.role_claim!r} missing or unknown")
        if not isinstance(schools, list) or not all(isinstance(x, str) for x in schools):
            raise TokenRefusedError(f"claim {s.schools_claim!r} is not a list of UAI")
        if role == Role.STAFF and not schools:
            raise TokenRefusedError(f"a staff token needs {s.schools_claim!r}")
        return Principal(str(claims["sub"]), Role(role), frozenset(schools))
