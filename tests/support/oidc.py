"""A stand-in OpenID Connect provider on loopback: an RSA key and its JWKS served over HTTP,
tokens signed with it, as a federation of State agents would issue them, and the
authorisation-code flow with PKCE (RFC 7636) that the pages sign in with: ``/authorize``
signs in ``Provider.agent`` at once and redirects back with a code; ``/token`` trades the code
for an access token only with the right verifier, client and redirect address."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

ISSUER = "https://agents.example.gouv.fr/realms/education"
AUDIENCE = "vigie"
CLIENT_ID = "vigie-pages"


@dataclass
class Provider:
    jwks_url: str
    key: rsa.RSAPrivateKey
    kid: str = "test-key-1"
    #: Claims of the agent who signs in at /authorize (changed by a test to sign in someone else).
    agent: dict[str, Any] = field(default_factory=dict)
    #: Token requests refused so far (wrong verifier, code, client or redirect address).
    refused: list[str] = field(default_factory=list)

    @property
    def base(self) -> str:
        return self.jwks_url.removesuffix("/jwks")

    @property
    def authorization_url(self) -> str:
        return f"{self.base}/authorize"

    @property
    def token_url(self) -> str:
        return f"{self.base}/token"

    def token(self, *, key: rsa.RSAPrivateKey | None = None, **changes: Any) -> str:
        now = datetime.now(UTC)
        claims: dict[str, Any] = {
            "sub": "agent-42",
            "iss": ISSUER,
            "aud": AUDIENCE,
            "iat": now,
            "exp": now + timedelta(minutes=30),
            "vigie_role": "staff",
            "vigie_schools": ["0750001A"],
        }
        claims.update(changes)
        claims = {k: v for k, v in claims.items() if v is not None}
        return jwt.encode(claims, key or self.key, algorithm="RS256", headers={"kid": self.kid})


def _challenge(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


@contextmanager
def oidc_provider() -> Iterator[Provider]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    body = json.dumps({"keys": [{**jwk, "kid": "test-key-1", "use": "sig", "alg": "RS256"}]}).encode()
    codes: dict[str, dict[str, Any]] = {}
    provider: Provider

    class Handler(BaseHTTPRequestHandler):
        def _answer(self, status: int, payload: bytes, headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            for name, value in (headers or {"Content-Type": "application/json"}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            if url.path == "/jwks":
                self._answer(200, body)
            elif url.path == "/authorize":
                query = dict(parse_qsl(url.query))
                if query.get("client_id") != CLIENT_ID or query.get("code_challenge_method") != "S256":
                    self._answer(400, b'{"error": "invalid_request"}')
                    return
                code = secrets.token_urlsafe(16)
                codes[code] = {"challenge": query["code_challenge"], "redirect_uri": query["redirect_uri"],
                               "claims": dict(provider.agent)}  # fmt: skip
                target = f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query['state']})}"
                self._answer(302, b"", {"Location": target})
            else:
                self._answer(404, b"{}")

        def do_POST(self) -> None:
            if urlsplit(self.path).path != "/token":
                self._answer(404, b"{}")
                return
            form = dict(parse_qsl(self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()))
            grant = codes.pop(form.get("code", ""), None)
            problem = (
                "unknown code" if grant is None
                else "wrong client" if form.get("client_id") != CLIENT_ID
                else "wrong redirect" if form.get("redirect_uri") != grant["redirect_uri"]
                else "wrong verifier" if _challenge(form.get("code_verifier", "")) != grant["challenge"]
                else None
            )  # fmt: skip
            if problem is not None or grant is None:
                provider.refused.append(str(problem))
                self._answer(400, b'{"error": "invalid_grant"}')
                return
            token = provider.token(**grant["claims"])
            self._answer(200, json.dumps({"access_token": token, "token_type": "Bearer", "expires_in": 1800}).encode())

        def log_message(self, *args: Any) -> None:  # quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    provider = Provider(f"http://127.0.0.1:{server.server_address[1]}/jwks", key)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield provider
    finally:
        server.shutdown()
        server.server_close()
