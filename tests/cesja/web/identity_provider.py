"""An OpenID Connect provider on 127.0.0.1 for the tests, as a registrar's would answer: its
configuration, its published key, the authorization endpoint (the person is signed in there
already: it sends them straight back with a code) and the token endpoint, which checks the
client's secret and the PKCE verifier and returns an RS256 ID token. `spoil` makes it answer
wrongly, one way at a time."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

CLIENT_ID, CLIENT_SECRET = "cesja-office", "a-client-secret-of-the-registrars-idp"


class IdentityProvider:
    def __init__(self) -> None:
        self.key = rsa.generate_private_key(65537, 2048)
        self.other_key = rsa.generate_private_key(65537, 2048)  # published by no one
        self.user = "anna"
        self.spoil: str | None = None  # "audience", "nonce", "signature", "expired", "issuer"
        self.codes: dict[str, dict[str, str]] = {}
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                url = urlsplit(self.path)
                if url.path == "/.well-known/openid-configuration":
                    self._json(provider.configuration())
                elif url.path == "/jwks":
                    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(provider.key.public_key()))
                    self._json({"keys": [{**jwk, "kid": "k1", "alg": "RS256", "use": "sig"}]})
                elif url.path == "/authorize":
                    self._redirect(provider.authorize(parse_qs(url.query)))
                else:
                    self.send_error(404)

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                status, answer = provider.token(parse_qs(body), self.headers.get("Authorization"))
                self._json(answer, status)

            def _json(self, data: dict[str, Any], status: int = 200) -> None:
                body = json.dumps(data).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _redirect(self, location: str) -> None:
                self.send_response(302)
                self.send_header("Location", location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.issuer = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def configuration(self) -> dict[str, str]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks",
        }

    def authorize(self, query: dict[str, list[str]]) -> str:
        asked = {name: values[0] for name, values in query.items()}
        assert asked["client_id"] == CLIENT_ID and asked["response_type"] == "code"
        assert asked["code_challenge_method"] == "S256" and "openid" in asked["scope"]
        code = secrets.token_urlsafe(16)
        self.codes[code] = asked
        return f"{asked['redirect_uri']}?{urlencode({'code': code, 'state': asked['state']})}"

    def token(self, form: dict[str, list[str]], authorization: str | None) -> tuple[int, Any]:
        sent = {name: values[0] for name, values in form.items()}
        client = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        if authorization != f"Basic {client}":
            return 401, {"error": "invalid_client"}
        asked = self.codes.pop(sent.get("code", ""), None)
        verifier = sent.get("code_verifier", "").encode()
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier).digest()).rstrip(b"=")
        if asked is None or asked["code_challenge"] != challenge.decode():
            return 400, {"error": "invalid_grant"}
        if sent.get("redirect_uri") != asked["redirect_uri"]:
            return 400, {"error": "invalid_grant"}
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "sub": f"user-{self.user}",
            "aud": CLIENT_ID,
            "iat": now,
            "exp": now + 300,
            "nonce": asked["nonce"],
            "preferred_username": self.user,
        }
        if self.spoil == "audience":
            claims["aud"] = "another-client"
        elif self.spoil == "nonce":
            claims["nonce"] = "a-nonce-of-another-sign-in"
        elif self.spoil == "expired":
            claims["exp"] = now - 600
        elif self.spoil == "issuer":
            claims["iss"] = "https://idp.elsewhere.example"
        key = self.other_key if self.spoil == "signature" else self.key
        token = jwt.encode(claims, key, algorithm="RS256", headers={"kid": "k1"})
        return 200, {"id_token": token, "access_token": "unused", "token_type": "Bearer"}

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
