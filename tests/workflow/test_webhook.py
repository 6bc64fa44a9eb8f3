"""The transfer-ready webhook: payload, Standard Webhooks signature, one POST, retry delays."""

from __future__ import annotations

import base64
import json
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

import httpx
import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from workflow import (
    EVENT_TYPE,
    InvalidWebhookSecret,
    RetryPolicy,
    deliver,
    encode,
    new_message_id,
    sign,
    transfer_ready_payload,
)

SECRET = "whsec_" + base64.b64encode(b"a test secret of thirty-two bytes").decode()
URL = "https://registrar.example/hooks/cesja"
NEW_REGISTRANT = {"kind": "person", "name": "Małgorzata Żółkiewska-Ćwik", "pesel": "92110804566"}


def payload() -> dict[str, object]:
    return transfer_ready_payload(
        "CS-7K2M-Q9XR",
        "REG-42",
        ("example.pl", "żółw.pl"),
        NEW_REGISTRANT,
        datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
        audit_head="ab" * 32,
    )


def now() -> datetime:
    # Receivers refuse a timestamp more than five minutes off their clock: sign at real time.
    return datetime.now(UTC)


def client(handler: Callable[[httpx.Request], httpx.Response]) -> httpx.Client:
    return httpx.Client(transport=httpx.MockTransport(handler))


def test_the_payload_has_the_contract_shape() -> None:
    """GIVEN a case that became transfer ready
    WHEN its notice is built
    THEN it is the JSON of CONTRACT.md section 7 (with section 9's `audit_head`), with a UTC
    timestamp.
    """
    assert payload() == {
        "type": EVENT_TYPE,
        "timestamp": "2026-03-02T09:00:00.000000Z",
        "data": {
            "case_id": "CS-7K2M-Q9XR",
            "external_ref": "REG-42",
            "domains": ["example.pl", "żółw.pl"],
            "new_registrant": NEW_REGISTRANT,
            "audit_head": "ab" * 32,
        },
    }
    assert EVENT_TYPE == "cesja.transfer_ready"
    assert json.loads(encode(payload())) == payload()


@pytest.mark.parametrize("zone_hours", [0, 2, -7], ids=["UTC", "UTC+2", "UTC-7"])
def test_the_signature_verifies_with_the_reference_library(zone_hours: int) -> None:
    """GIVEN a notice signed now, the time given in UTC or in another zone
    WHEN the receiver verifies it with standardwebhooks
    THEN it verifies and yields the payload (a zone dropped instead of converted would put
    the timestamp hours off and fail), and a changed body does not verify.
    """
    at = now().astimezone(timezone(timedelta(hours=zone_hours)))
    body = encode(payload())
    headers = sign(SECRET, "msg_1", at, body)

    assert Webhook(SECRET).verify(body, headers) == payload()
    assert headers["webhook-id"] == "msg_1"
    assert headers["content-type"] == "application/json"
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET).verify(body.replace(b"REG-42", b"REG-43"), headers)


def test_signing_refuses_a_naive_time() -> None:
    """GIVEN a naive datetime
    WHEN a notice is signed with it
    THEN ValueError is raised instead of a timestamp that depends on the machine's zone.
    """
    with pytest.raises(ValueError, match="timezone-aware"):
        sign(SECRET, "msg_1", datetime(2026, 3, 2, 9, 0), b"{}")


@pytest.mark.parametrize("secret", ["whsec_", "whsec_!!!not-base64!!!===x", ""])
def test_a_bad_secret_is_refused_without_being_repeated(secret: str) -> None:
    """GIVEN a webhook secret that is empty or not base64
    WHEN a notice is signed with it
    THEN InvalidWebhookSecret says what is wrong, without quoting the secret.
    """
    with pytest.raises(InvalidWebhookSecret) as raised:
        sign(secret, "msg_1", now(), b"{}")
    assert raised.value.code == "invalid_webhook_secret"
    if secret.removeprefix("whsec_"):
        assert secret.removeprefix("whsec_") not in str(raised.value)


def raising(error: Exception) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        raise error

    return handler


def answering(status: int) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status)

    return handler


@pytest.mark.parametrize(
    ("handler", "outcome", "status_code", "error_says"),
    [
        (answering(200), "delivered", 200, None),
        (answering(204), "delivered", 204, None),
        (answering(410), "gone", 410, "410 Gone"),
        (answering(500), "retry", 500, "500 Internal Server Error"),
        (answering(429), "retry", 429, "429"),
        (answering(301), "retry", 301, "301"),
        (answering(404), "retry", 404, "404"),
        (raising(httpx.ReadTimeout("timed out")), "retry", None, "no answer in time"),
        (raising(httpx.ConnectTimeout("")), "retry", None, "ConnectTimeout"),
        (raising(httpx.ConnectError("[Errno 111] Connection refused")), "retry", None, "refused"),
        (
            raising(httpx.ConnectError(f"proxy said: bad header {SECRET}")),
            "retry",
            None,
            "[secret]",
        ),
    ],
    ids=[
        "200",
        "204",
        "410",
        "500",
        "429",
        "301",
        "404",
        "read timeout",
        "connect timeout",
        "connection refused",
        "error text quoting the secret",
    ],
)
def test_one_delivery_outcome(
    handler: Callable[[httpx.Request], httpx.Response],
    outcome: str,
    status_code: int | None,
    error_says: str | None,
) -> None:
    """GIVEN a receiver that answers with some status, times out or cannot be reached
    WHEN the notice is delivered once
    THEN 2xx is delivered, 410 is gone for good, and anything else is to be retried, with
    the status or the error in words and never the secret.
    """
    at = now()
    attempt = deliver(client(handler), URL, SECRET, "msg_1", payload(), now=at)

    assert attempt.outcome == outcome
    assert attempt.status_code == status_code
    assert attempt.at == at
    if error_says is None:
        assert attempt.error is None
    else:
        assert attempt.error is not None
        assert error_says in attempt.error
        assert SECRET.removeprefix("whsec_") not in attempt.error


def test_every_attempt_carries_the_same_id_and_a_valid_fresh_signature() -> None:
    """GIVEN a receiver that fails twice, then accepts
    WHEN the same notice is delivered three times a minute apart
    THEN every POST carries the same webhook-id, its own timestamp, a signature that verifies,
    and the same JSON body.
    """
    answers = iter([500, 503, 200])
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        Webhook(SECRET).verify(request.content, dict(request.headers))
        return httpx.Response(next(answers))

    msg_id = new_message_id()
    start = now() - timedelta(minutes=2)
    outcomes = [
        deliver(client(handler), URL, SECRET, msg_id, payload(), now=start + timedelta(minutes=i))
        for i in range(3)
    ]

    assert [a.outcome for a in outcomes] == ["retry", "retry", "delivered"]
    assert {r.headers["webhook-id"] for r in seen} == {msg_id}
    assert len({r.headers["webhook-timestamp"] for r in seen}) == 3
    assert {r.content for r in seen} == {encode(payload())}
    assert all(r.method == "POST" and str(r.url) == URL for r in seen)
    assert json.loads(seen[0].content) == payload()


def test_message_ids_are_unique_and_fit_the_column() -> None:
    """GIVEN many new message ids
    WHEN they are compared
    THEN no two are equal and each fits the 40-character delivery id.
    """
    ids = {new_message_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(i.startswith("msg_") and len(i) <= 40 for i in ids)


def schedule(policy: RetryPolicy, seed: int) -> list[timedelta | None]:
    rng = random.Random(seed)
    return [policy.delay(attempt, rng) for attempt in range(1, policy.max_attempts + 1)]


def test_retry_delays_grow_then_stop() -> None:
    """GIVEN the default retry policy
    WHEN the delays after each failed attempt are drawn (for many random seeds)
    THEN they start at no more than 10 s, never shrink before the 8 h cap, never pass it,
    and after the last attempt there is no delay: the delivery is dead.
    """
    policy = RetryPolicy()
    for seed in range(200):
        delays = schedule(policy, seed)
        assert delays[-1] is None
        waits = [d for d in delays[:-1] if d is not None]
        assert len(waits) == policy.max_attempts - 1
        assert timedelta(seconds=5) <= waits[0] <= timedelta(seconds=10)
        steps = waits[: len(policy.steps)]
        assert steps == sorted(steps)
        assert all(timedelta(hours=4) <= w <= timedelta(hours=8) for w in waits[8:])
        assert timedelta(days=1) < sum(waits, timedelta()) < timedelta(days=3)


def test_retry_delays_have_jitter() -> None:
    """GIVEN the default retry policy
    WHEN the same attempt's delay is drawn with different random seeds
    THEN the delays differ and spread over at least half of their interval, so notices that
    failed together do not all come back at once.
    """
    policy = RetryPolicy()
    for attempt in (1, 4, 9, 12):
        draws = [policy.delay(attempt, random.Random(seed)) for seed in range(200)]
        seconds = sorted(d.total_seconds() for d in draws if d is not None)
        assert len(set(seconds)) == 200
        step = policy.steps[min(attempt - 1, len(policy.steps) - 1)].total_seconds()
        assert seconds[-1] - seconds[0] > 0.4 * step


def test_testing_mode_skips_the_waits_but_not_the_decisions() -> None:
    """GIVEN the testing retry policy
    WHEN its delays are drawn
    THEN every wait is zero and the delivery still dies after the same number of attempts.
    """
    delays = schedule(RetryPolicy.testing(), seed=1)
    assert delays[:-1] == [timedelta(0)] * (RetryPolicy().max_attempts - 1)
    assert delays[-1] is None
    assert RetryPolicy.testing(max_attempts=3).delay(3, random.Random(1)) is None


@pytest.mark.parametrize(
    "kwargs",
    [
        {"steps": ()},
        {"steps": (timedelta(seconds=30), timedelta(seconds=10))},
        {"steps": (timedelta(0),)},
        {"max_attempts": 0},
        {"scale": -1.0},
        {"scale": float("inf")},
    ],
)
def test_a_nonsensical_policy_is_refused(kwargs: dict[str, object]) -> None:
    """GIVEN retry settings that make no sense
    WHEN a policy is made from them
    THEN ValueError is raised.
    """
    with pytest.raises(ValueError):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


def test_attempts_are_counted_from_one() -> None:
    """GIVEN a policy
    WHEN asked for the delay after attempt 0
    THEN ValueError is raised: there is no failed attempt yet.
    """
    with pytest.raises(ValueError):
        RetryPolicy().delay(0, random.Random(1))
