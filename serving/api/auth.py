"""Sign-in: OAuth2 bearer JWTs checked with PyJWT, from Vigie's own signer or an OIDC provider.

A token names a subject, one role and, for school staff, the schools (UAI) they work in, at the
claim paths the settings name (a provider's roles mapped to Vigie's). Every failure (bad
signature, wrong issuer or audience, expired, a claim missing or of another shape) is a 401 that
says nothing more than that the token was refused.
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
    """What a caller may see: staff their own schools' pupils, reviewers aggregates and audits, data scientists model
    metadata, admins the log and reloads."""

    STAFF = "staff"  # their schools' pupils only
    REVIEWER = "reviewer"  # aggregates, model card, audits; no pupil-level data
    DATA_SCIENTIST = "data_scientist"  # model metadata, what-if scoring; no pupil list
    ADMIN = "admin"  # access-log export, reload, the stop switch
    DPO = "dpo"  # the data protection officer: the objection register (GDPR art. 21); no pupil data


class TokenRefusedError(Exception):
    """The token cannot be trusted; the reason is for the server's eyes, never the response."""


@dataclass(frozen=True)
class Principal:
    """The verified caller: who, in which role, and for staff the schools they may see."""

    subject: str
    role: Role
    schools: frozenset[str]

    def reaches(self, school_id: str) -> bool:
        """Whether this caller may see the pupils of ``school_id``."""
        return self.role is Role.STAFF and school_id in self.schools


def issue_token(settings: ServiceSettings, *, subject: str, role: Role, schools: list[str], ttl: timedelta) -> str:
    """An embedded token (HS256) for ``vigie token``; ValueError beyond the settings' longest lifetime."""
    longest = timedelta(hours=settings.embedded_token_max_hours)
    if ttl > longest:
        raise ValueError(f"a token may live {longest} at most (service.embedded_token_max_hours), asked {ttl}")
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
        """The caller a bearer token names, once its signature, issuer, audience and expiry check out; TokenRefusedError
        otherwise (its reason for the log only)."""
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
        if self._secret is not None and _seconds_left(claims) > 3600 * s.embedded_token_max_hours + 60:
            raise TokenRefusedError("embedded token lives longer than embedded_token_max_hours")
        return principal_of(claims, s)


def _seconds_left(claims: dict[str, Any]) -> float:
    return float(claims["exp"]) - datetime.now(UTC).timestamp()


def claim_at(claims: dict[str, Any], path: str) -> Any:
    """The value at a dotted claim path (``realm_access.roles``), None when any step is missing.
    A claim whose own name holds a dot is found first as it is."""
    if path in claims:
        return claims[path]
    value: Any = claims
    for step in path.split("."):
        if not isinstance(value, dict) or step not in value:
            return None
        value = value[step]
    return value


def _strings(value: Any) -> list[str] | None:
    """A claim of one string or a list of strings, as a list; None for any other shape."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(x, str) for x in value):
        return list(value)
    return None


def principal_of(claims: dict[str, Any], s: ServiceSettings) -> Principal:
    """The caller a verified token names. Claims of any other shape than expected (an object, a
    number, a list of objects) are a refused token, never an error: a provider may send roles as
    a list (Keycloak: ``realm_access.roles``), mapped to Vigie's by ``role_map``."""
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise TokenRefusedError("claim 'sub' is not a string")
    names = _strings(claim_at(claims, s.role_claim))
    if names is None:
        raise TokenRefusedError(f"claim {s.role_claim!r} missing or neither a string nor a list of strings")
    known = {r.value for r in Role}
    roles = (
        {Role(s.role_map[n]) for n in names if n in s.role_map}
        if s.role_map
        else {Role(n) for n in names if n in known}
    )
    if len(roles) != 1:
        raise TokenRefusedError(f"claim {s.role_claim!r} names {len(roles)} Vigie roles, exactly one needed")
    role = roles.pop()
    raw_schools = claim_at(claims, s.schools_claim)
    schools = [] if raw_schools is None else _strings(raw_schools)
    if schools is None:
        raise TokenRefusedError(f"claim {s.schools_claim!r} is not a list of UAI")
    if role is Role.STAFF and not schools:
        raise TokenRefusedError(f"a staff token needs {s.schools_claim!r}")
    return Principal(subject, role, frozenset(schools))
