"""Case states, checks, the audit chain and the transfer-ready webhook: the rules of a cesja.

Pure logic between `cesja` (database, HTTP, jobs) and `ocr`: no I/O of its own except the
webhook POST through the `httpx.Client` it is given, and no settings; options are arguments.

Errors:

    WorkflowError                 code, message
    ├── UnhashableContent         (also ValueError) audit content with no canonical form
    └── InvalidWebhookSecret      (also ValueError) not a `whsec_<base64>` secret
    TransitionNotAllowed          python-statemachine's own: an event the case's state (or a
                                  guard, such as the deadline) does not allow; `needs()` says why

A broken audit chain and a failed webhook delivery are results, not errors: `BrokenLink`
and `Attempt`.
"""

from statemachine.exceptions import TransitionNotAllowed

from workflow.audit import (
    GENESIS,
    KEYED,
    PLAIN,
    BrokenLink,
    canonical,
    content_of,
    event_hash,
    event_mac,
    verify_chain,
)
from workflow.checks import (
    CHECKS,
    PARTIES,
    UNSETTLED,
    Check,
    Decision,
    EmailSender,
    Evidence,
    Sentence,
    best_page,
    check_names,
    compute_checks,
    failed_checks,
    overall,
)
from workflow.errors import InvalidWebhookSecret, UnhashableContent, WorkflowError
from workflow.machine import (
    CaseLike,
    CaseMachine,
    can_reissue,
    events,
    is_final,
    needs,
    settle,
    sources,
    transfer_allowed,
)
from workflow.webhook import (
    EVENT_TYPE,
    Attempt,
    RetryPolicy,
    deliver,
    encode,
    new_message_id,
    sign,
    transfer_ready_payload,
)

__all__ = [
    "CHECKS",
    "EVENT_TYPE",
    "GENESIS",
    "KEYED",
    "PARTIES",
    "PLAIN",
    "UNSETTLED",
    "Attempt",
    "BrokenLink",
    "CaseLike",
    "CaseMachine",
    "Check",
    "Decision",
    "EmailSender",
    "Evidence",
    "InvalidWebhookSecret",
    "RetryPolicy",
    "Sentence",
    "TransitionNotAllowed",
    "UnhashableContent",
    "WorkflowError",
    "best_page",
    "can_reissue",
    "canonical",
    "check_names",
    "compute_checks",
    "content_of",
    "deliver",
    "encode",
    "event_hash",
    "event_mac",
    "events",
    "failed_checks",
    "is_final",
    "needs",
    "new_message_id",
    "overall",
    "settle",
    "sign",
    "sources",
    "transfer_allowed",
    "transfer_ready_payload",
    "verify_chain",
]
