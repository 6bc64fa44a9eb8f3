"""The `cesja.transfer_ready` notice of CONTRACT.md section 7: signed, sent once, retried."""

from __future__ import annotations

import binascii
import json
import math
import random
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import httpx
from standardwebhooks.webhooks import EmptyWebhookSecretError, Webhook

from workflow._time import utc, utc_iso
from workflow.errors import InvalidWebhookSecret

EVENT_TYPE = "cesja.transfer_ready"

Outcome = Literal["delivered", "gone", "retry"]


def new_message_id() -> str:
    """A webhook-id for one notice; the app stores it and sends it on every attempt."""
    return f"msg_{secrets.token_hex(16)}"


def transfer_ready_payload(
    case_id: str,
    external_ref: str | None,
    domains: Iterable[str],
    new_registrant: Mapping[str, Any],
    at: datetime,
    *,
    audit_head: str,
) -> dict[str, Any]:
    """The notice's JSON, as it is stored with the delivery and sent on each attempt.

    `audit_head` is the hash at the head of the case's audit trail when the notice was
    made: the registrar then holds a copy of it that nobody at the service can change.
    """
    return {
        "type": EVENT_TYPE,
        "timestamp": utc_iso(at, what="the notice's time"),
        "data": {
            "case_id": case_id,
            "external_ref": external_ref,
            "domains": list(domains),
            "new_registrant": dict(new_registrant),
            "audit_head": audit_head,
        },
    }


def encode(payload: Mapping[str, Any]) -> bytes:
    """The body that is signed and sent: compact UTF-8 JSON, keys sorted so it is stable."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sign(secret: str, msg_id: str, at: datetime, body: bytes) -> dict[str, str]:
    """The Standard Webhooks headers for `body` sent at `at`."""
    # standardwebhooks replaces the zone with UTC without converting: hand it UTC already.
    at = utc(at, what="the signing time")
    signature = _webhook(secret).sign(msg_id, at, body.decode("utf-8"))
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(math.floor(at.timestamp())),
        "webhook-signature": signature,
        "content-type": "application/json",
    }


@dataclass(frozen=True)
class Attempt:
    """How one POST went: `delivered` (2xx), `gone` (410: stop for good) or `retry`."""

    outcome: Outcome
    at: datetime
    status_code: int | None = None
    error: str | None = None


def deliver(
    client: httpx.Client,
    url: str,
    secret: str,
    msg_id: str,
    payload: Mapping[str, Any],
    *,
    now: datetime,
) -> Attempt:
    """POST the notice once, signed at `now`; never raises for what the receiver does."""
    body = encode(payload)
    headers = sign(secret, msg_id, now, body)
    try:
        response = client.post(url, content=body, headers=headers)
    except httpx.TimeoutException as err:
        return Attempt("retry", now, error=_redact(f"no answer in time ({_describe(err)})", secret))
    except httpx.RequestError as err:
        return Attempt("retry", now, error=_redact(f"not sent: {_describe(err)}", secret))
    code = response.status_code
    if 200 <= code < 300:
        return Attempt("delivered", now, status_code=code)
    if code == 410:
        return Attempt("gone", now, status_code=code, error="the receiver answered 410 Gone")
    answer = f"the receiver answered {code} {response.reason_phrase}".rstrip()
    return Attempt("retry", now, status_code=code, error=answer)


DEFAULT_STEPS = tuple(
    timedelta(seconds=s)
    for s in (10, 30, 2 * 60, 10 * 60, 30 * 60, 3600, 2 * 3600, 4 * 3600, 8 * 3600)
)


@dataclass(frozen=True)
class RetryPolicy:
    """When to try a failed delivery again, and when to give up on it.

    The wait after attempt n is drawn uniformly between step n-1 and step n (half of it to
    all of it for the first step, and at the cap), so waits never shrink before the cap, yet
    notices that failed together while the receiver was down spread over the whole interval.
    After the last step it stays at the cap. With the defaults a notice is tried 16 times over
    roughly one and a half to three days, then it is dead.
    """

    steps: tuple[timedelta, ...] = DEFAULT_STEPS
    max_attempts: int = 16
    scale: float = 1.0  # 0.0 in tests: the same decisions without the waits

    def __post_init__(self) -> None:
        if not self.steps or any(s <= timedelta(0) for s in self.steps):
            raise ValueError("retry steps must be positive durations")
        if list(self.steps) != sorted(self.steps):
            raise ValueError("retry steps must not shrink")
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if not (self.scale >= 0 and math.isfinite(self.scale)):
            raise ValueError("scale must be a finite number >= 0")

    @classmethod
    def testing(cls, max_attempts: int = 16) -> RetryPolicy:
        """The default schedule with every wait zero."""
        return cls(max_attempts=max_attempts, scale=0.0)

    def delay(self, attempt: int, rng: random.Random | None = None) -> timedelta | None:
        """The wait after failed attempt number `attempt` (1 = the first), None to give up."""
        if attempt < 1:
            raise ValueError(f"attempts are counted from 1, got {attempt}")
        if attempt >= self.max_attempts:
            return None
        n = attempt - 1
        last = len(self.steps) - 1
        upper = self.steps[min(n, last)]
        lower = self.steps[n - 1] if 1 <= n <= last else upper / 2
        seconds = (rng or _rng).uniform(lower.total_seconds(), upper.total_seconds())
        return timedelta(seconds=seconds * self.scale)


_rng = random.Random()


def _webhook(secret: str) -> Webhook:
    key = secret.removeprefix("whsec_")
    # The library skips characters that are not base64, so a mistyped secret would sign
    # with some other key; only the base64 alphabet with optional padding is let through.
    if not _BASE64.fullmatch(key):
        raise InvalidWebhookSecret(
            "the webhook secret is not a Standard Webhooks secret (whsec_ and base64)"
        )
    try:
        return Webhook(secret)
    except (binascii.Error, ValueError, EmptyWebhookSecretError, RuntimeError):
        # `from None`: the decoder's message may quote the bytes it choked on.
        raise InvalidWebhookSecret(
            "the webhook secret is not a Standard Webhooks secret (whsec_ and base64)"
        ) from None


_BASE64 = re.compile(r"[A-Za-z0-9+/]+={0,2}")


def _describe(err: Exception) -> str:
    return f"{type(err).__name__}: {err}" if str(err) else type(err).__name__


def _redact(text: str, secret: str) -> str:
    # An error text comes from elsewhere (a proxy, a URL echoed back): never let it carry
    # the secret into a log or a database column.
    for part in {secret, secret.removeprefix("whsec_")}:
        if part:
            text = text.replace(part, "[secret]")
    return text
