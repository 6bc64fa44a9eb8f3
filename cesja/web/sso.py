"""Staff sign-in through the registrar's identity provider: OpenID Connect, the authorization
code flow with PKCE, for a confidential client (`CESJA_OIDC_*`).

The provider says who the person is; the back office still decides who may come in: the
username the provider gives (`CESJA_OIDC_USERNAME_CLAIM`) must be an active staff account
(`cesja staff add`), and what they decide is recorded under it, as with a password.

What the browser carries between the two legs (state, nonce, the PKCE verifier, where to go
next) is a short-lived HttpOnly cookie of its own, SameSite=Lax so that it comes back with the
provider's redirect; the callback checks the state against it before anything else, and the
ID token's signature (the provider's published keys, RS256 or ES256 only), issuer, audience,
expiry and nonce before it believes a claim.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
import jwt

from cesja.config import Settings
from cesja.errors import CesjaError
from cesja.web.catalogue import DEFAULT_LANGUAGE, language_or_default

COOKIE = "cesja_sso"
LOGIN_SECONDS = 600  # from leaving for the provider to coming back
CALLBACK = "/sign-in/sso/callback"
ALGORITHMS = ["RS256", "ES256"]
TIMEOUT_SECONDS = 10.0
DISCOVERY_SECONDS = 3600  # how long the provider's endpoints and keys are kept
LEEWAY_SECONDS = 60  # clocks a little apart


class SignInRefused(CesjaError):
    """The provider's answer does not let anyone in; the message says why (never a token)."""

    code = "sso_refused"
    http_status = 401


@dataclass(frozen=True)
class Provider:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str


@dataclass(frozen=True)
class Login:
    """One sign-in under way: what the cookie holds until the provider sends the person back."""

    state: str
    nonce: str
    verifier: str
    next: str
    started: float
    language: str = DEFAULT_LANGUAGE  # the sign-in page's, for the session it opens

    def cookie(self) -> str:
        return json.dumps(self.__dict__, separators=(",", ":"))

    @classmethod
    def from_cookie(cls, value: str | None) -> Login | None:
        try:
            data = json.loads(value or "")
            kept = {k: data[k] for k in ("state", "nonce", "verifier", "next", "started")}
            login = cls(**kept, language=language_or_default(data.get("language")))
        except (ValueError, KeyError, TypeError):
            return None
        return login if time.time() - float(login.started) < LOGIN_SECONDS else None


def configured(settings: Settings) -> bool:
    return bool(settings.oidc_issuer)


def begin(settings: Settings, next_page: str, language: str) -> tuple[str, Login]:
    """Where to send the browser, and what it must bring back."""
    provider = _provider(settings)
    login = Login(
        state=secrets.token_urlsafe(32),
        nonce=secrets.token_urlsafe(32),
        verifier=secrets.token_urlsafe(48),
        next=next_page,
        started=time.time(),
        language=language_or_default(language),
    )
    challenge = base64.urlsafe_b64encode(hashlib.sha256(login.verifier.encode()).digest())
    query = {
        "response_type": "code",
        "client_id": settings.oidc_client_id,
        "redirect_uri": redirect_uri(settings),
        "scope": "openid profile email",
        "state": login.state,
        "nonce": login.nonce,
        "code_challenge": challenge.rstrip(b"=").decode(),
        "code_challenge_method": "S256",
    }
    return f"{provider.authorization_endpoint}?{urlencode(query)}", login


def finish(settings: Settings, login: Login | None, state: str, code: str) -> str:
    """The username the provider vouches for; SignInRefused, saying why, otherwise."""
    if login is None:
        raise SignInRefused("the sign-in took too long or was not started here; start again")
    if not secrets.compare_digest(login.state.encode(), state.encode()):
        raise SignInRefused("the answer does not belong to the sign-in started here")
    provider = _provider(settings)
    try:
        answer = httpx.post(
            provider.token_endpoint,
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect_uri(settings),
                "code_verifier": login.verifier,
            },
            auth=(settings.oidc_client_id or "", settings.oidc_client_secret or ""),
            timeout=TIMEOUT_SECONDS,
        )
    except httpx.HTTPError as err:
        raise SignInRefused(
            f"the identity provider did not answer ({type(err).__name__})"
        ) from None
    if answer.status_code != 200:
        raise SignInRefused(f"the identity provider refused the code ({answer.status_code})")
    try:
        id_token = answer.json()["id_token"]
    except (ValueError, KeyError, TypeError):
        raise SignInRefused("the identity provider sent no ID token") from None
    claims = _verified(settings, provider, id_token, login.nonce)
    username = claims.get(settings.oidc_username_claim)
    if not isinstance(username, str) or not username:
        raise SignInRefused(f"the ID token names no {settings.oidc_username_claim}")
    return username.strip().lower()


def redirect_uri(settings: Settings) -> str:
    return settings.public_url.rstrip("/") + CALLBACK


def _verified(settings: Settings, provider: Provider, token: str, nonce: str) -> dict[str, Any]:
    try:
        header = jwt.get_unverified_header(token)
        key = _signing_key(provider, header.get("kid"))
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=ALGORITHMS,
            audience=settings.oidc_client_id,
            issuer=provider.issuer,
            leeway=LEEWAY_SECONDS,
            options={"require": ["iss", "aud", "exp", "iat", "sub"]},
        )
    except jwt.PyJWTError as err:
        raise SignInRefused(f"the ID token does not hold ({err})") from None
    if not secrets.compare_digest(str(claims.get("nonce", "")).encode(), nonce.encode()):
        raise SignInRefused("the ID token was not made for this sign-in (nonce)")
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    if len(audiences) > 1 and claims.get("azp") != settings.oidc_client_id:
        raise SignInRefused("the ID token was issued to another client (azp)")
    return claims


# The provider's endpoints and keys, per process, looked up again after DISCOVERY_SECONDS and
# whenever a token names a key not among them (the provider rotated its keys).
_known: dict[str, tuple[float, Provider, dict[str, Any]]] = {}
_known_lock = threading.Lock()


def _provider(settings: Settings) -> Provider:
    issuer = (settings.oidc_issuer or "").rstrip("/")
    with _known_lock:
        kept = _known.get(issuer)
    if kept is not None and time.monotonic() - kept[0] < DISCOVERY_SECONDS:
        return kept[1]
    return _discover(issuer)[0]


def _discover(issuer: str) -> tuple[Provider, dict[str, Any]]:
    try:
        found = _get_json(f"{issuer}/.well-known/openid-configuration")
        provider = Provider(
            issuer=str(found["issuer"]),
            authorization_endpoint=str(found["authorization_endpoint"]),
            token_endpoint=str(found["token_endpoint"]),
            jwks_uri=str(found["jwks_uri"]),
        )
        keys = _get_json(provider.jwks_uri)
    except (httpx.HTTPError, ValueError, KeyError, TypeError) as err:
        raise SignInRefused(
            f"the identity provider's configuration could not be read ({type(err).__name__})"
        ) from None
    if provider.issuer.rstrip("/") != issuer:
        raise SignInRefused("the identity provider names another issuer than CESJA_OIDC_ISSUER")
    for url in (provider.authorization_endpoint, provider.token_endpoint, provider.jwks_uri):
        require_https(url, "the identity provider's endpoints")
    with _known_lock:
        _known[issuer] = (time.monotonic(), provider, keys)
    return provider, keys


def _signing_key(provider: Provider, kid: str | None) -> Any:
    issuer = provider.issuer.rstrip("/")
    for attempt in range(2):
        with _known_lock:
            keys = _known[issuer][2]
        for jwk in keys.get("keys", []):
            if kid is None or jwk.get("kid") == kid:
                return jwt.PyJWK(jwk).key
        if attempt == 0:
            _discover(issuer)  # a key not seen yet: the provider may have rotated
    raise SignInRefused("the ID token is signed with a key the identity provider does not publish")


def _get_json(url: str) -> dict[str, Any]:
    answer = httpx.get(url, timeout=TIMEOUT_SECONDS)
    answer.raise_for_status()
    found = answer.json()
    if not isinstance(found, dict):
        raise ValueError("not a JSON object")
    return found


def require_https(url: str, what: str) -> None:
    """HTTPS, but for this machine (a provider run beside the service, or in tests)."""
    parts = urlsplit(url)
    if parts.scheme != "https" and parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        raise SignInRefused(f"{what} must be https:// ({url})")
