"""The workflow layer's errors, each with a stable code; `cesja` maps them to answers."""

from __future__ import annotations


class WorkflowError(Exception):
    code = "workflow_error"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class UnhashableContent(WorkflowError, ValueError):
    """Audit content that has no single canonical form (a naive datetime, an unknown type)."""

    code = "unhashable_content"


class InvalidWebhookSecret(WorkflowError, ValueError):
    """A webhook secret that is not `whsec_<base64>`; the message never repeats the secret."""

    code = "invalid_webhook_secret"
