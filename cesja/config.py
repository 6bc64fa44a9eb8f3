"""Settings: read once from the environment (and `.env`), checked, handed down typed."""

from __future__ import annotations

import ipaddress
import logging
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qsl, unquote, urlsplit

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from cesja import keyring
from cesja.errors import ConfigurationError

log = logging.getLogger(__name__)

Role = Literal["registrar", "staff", "intake"]
ROLES: tuple[Role, ...] = ("registrar", "staff", "intake")
DEV_API_KEYS = "registrar:dev-registrar,staff:dev-staff,intake:dev-intake"


@dataclass(frozen=True)
class SmtpServer:
    """Where notices are sent: CESJA_SMTP_URL's parts. Its password is never shown."""

    host: str
    port: int
    tls: bool  # smtps: TLS from the first byte
    starttls: bool
    username: str | None = None
    password: str | None = field(default=None, repr=False)


class Settings(BaseSettings):
    """Everything the service can be told; the names are CONTRACT.md section 1 with `CESJA_`."""

    model_config = SettingsConfigDict(env_prefix="CESJA_", env_file=".env", extra="ignore")

    env: Literal["development", "production"] = "development"
    data_dir: Path = Path("./var")
    database_url: str | None = None
    api_keys: str | None = None
    secret_key: str | None = Field(default=None, repr=False)
    # The page-code keys with their ids, the current first (`cesja.keyring`).
    secret_keys: str | None = Field(default=None, repr=False)
    # The key the audit trail is chained and its checkpoints signed with: kept away from the
    # database (and from every other key), so that whoever can write to the database cannot
    # rewrite the trail unnoticed. Unset, one is generated into the data dir.
    audit_key: str | None = Field(default=None, repr=False)
    webhook_url: str | None = None
    webhook_secret: str | None = Field(default=None, repr=False)
    public_url: str = "http://127.0.0.1:8000"
    # Staff single sign-on (OpenID Connect, `cesja.web.sso`): the provider, this service's
    # client there, and the claim that names the staff account.
    oidc_issuer: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret: str | None = Field(default=None, repr=False)
    oidc_username_claim: str = Field(default="preferred_username", max_length=100)
    document_deadline_days: int = Field(default=14, ge=1, le=365)
    max_upload_mb: int = Field(default=50, ge=1, le=1024)
    max_pages: int = Field(default=200, ge=1, le=5000)
    # Where the signed originals go back to; printed in every form's instructions.
    return_postal_address: str = "Cesja – dział obsługi, ul. Przykładowa 1, 00-001 Warszawa"
    return_fax: str = "+48 22 000 00 00"
    # Whom a customer contacts about their case, shown on their page (above all once the case
    # has ended and the link serves no form any more).
    customer_contact: str = Field(
        default="dział obsługi cesji, tel. +48 22 000 00 00, e-mail cesja@example.pl",
        max_length=500,
    )
    # When true, a faxed or e-mailed page clears its checks only provisionally: the transfer
    # waits for the original by post (or an upload by staff of the original).
    require_original: bool = False
    # Four eyes: accepting a failed check that speaks to the page's authenticity (its code,
    # fields, signature, stamp, or changes by hand) takes two different people: the first
    # proposes, a second confirms.
    four_eyes: bool = False
    # The reasons a reviewer picks from beside a decision (then may add to), "|" between them.
    review_reasons: str = Field(
        default=(
            "Oryginał okazany w oddziale.|Potwierdzone telefonicznie z abonentem.|"
            "Podpis zgodny z wzorem w dokumentach klienta.|Podpis niezgodny z wzorem.|"
            "Dane poprawione odręcznie.|Strona z innej sprawy."
        ),
        max_length=10_000,
    )
    # Scale-out: a directory every machine mounts. Defaults to `<data_dir>/scans`.
    scan_dir: Path | None = None
    workers: int = Field(default=2, ge=0, le=64)
    # Processes `cesja serve` answers HTTP from, on one socket: one API process uses one core.
    api_processes: int = Field(default=2, ge=1, le=64)
    # Requests each API process runs at a time; the others wait in line, in the order they
    # came (`cesja.api.turns`).
    api_concurrency: int = Field(default=3, ge=1, le=1024)
    # Each worker process's budget: the memory it may hold and how long one job (reading one
    # page, one webhook attempt) may take. Over either, the supervisor ends the process and
    # the job is given up with why; a warm worker holds about 300 MB before any page.
    worker_memory_mb: int = Field(default=500, ge=300, le=65536)
    job_seconds: float = Field(default=60.0, gt=0, le=3600)
    tessdata: Path | None = None
    # Electronically signed forms: the roots a signer's certificate must chain to (a PEM
    # bundle, or a directory of PEM or DER files; unset: no signature is trusted), how their
    # revocation is checked (`require`: a CRL or OCSP answer must say not revoked; `soft`: it
    # must not say revoked; `off`), and whether a company's representative's qualified
    # signature stands for its stamp (`signature`) or a qualified e-seal is needed too.
    trust_roots: Path | None = None
    esign_revocation: Literal["require", "soft", "off"] = "require"
    esign_company: Literal["signature", "signature+seal"] = "signature"
    # The transfer-ready notice: how long one POST may take, how often it is tried, and a factor
    # on every wait between attempts (0 in tests: the same schedule without the waiting).
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    webhook_max_attempts: int = Field(default=16, ge=1, le=100)
    webhook_retry_scale: float = Field(default=1.0, ge=0, le=100)
    # How often the workers look for cases past their deadline or half-way to it.
    deadline_check_seconds: float = Field(default=60.0, gt=0, le=86400)
    # Days after a case ended (completed, rejected, cancelled, expired) that what was received
    # for it is destroyed: scan files, evidence images, the text read from its pages. Unset:
    # kept until `cesja erase`.
    retention_days: float | None = Field(default=None, gt=0, le=3650)
    # How long the queue keeps a job that ended (its work stays: readings, attempts).
    job_retention_days: float = Field(default=7.0, gt=0, le=3650)
    # The receiving mail host whose `Authentication-Results` headers (RFC 8601) are believed:
    # its authserv-id, as it writes it. Unset, no e-mail sender is ever taken as verified.
    mail_authserv_id: str | None = Field(default=None, max_length=255)
    # The service also checks a message's DKIM signatures itself, reading the keys from DNS:
    # the system's resolver, or the one at this address (`192.0.2.53`, `192.0.2.53:5353`,
    # `[2001:db8::53]:53`).
    mail_verify_dkim: bool = False
    mail_dns: str | None = Field(default=None, max_length=100)
    # A mailbox to take e-mail from (`cesja mail`, and `cesja serve` when set):
    # imaps://user:password@host/INBOX. How long a wait lasts when the server offers no IDLE
    # (and at most with it).
    imap_url: str | None = Field(default=None, repr=False)
    imap_poll_seconds: float = Field(default=60.0, gt=0, le=1500)
    # XOAUTH2 instead of a password (Microsoft 365 and Gmail take no password for IMAP): an
    # access token from this token endpoint, by the client-credentials grant, or by the
    # refresh-token grant when a refresh token is given.
    imap_oauth2_token_url: str | None = None
    imap_oauth2_client_id: str | None = None
    imap_oauth2_client_secret: str | None = Field(default=None, repr=False)
    imap_oauth2_refresh_token: str | None = Field(default=None, repr=False)
    # e.g. https://outlook.office365.com/.default for Microsoft 365's client credentials
    imap_oauth2_scope: str | None = None
    # Notices to the parties by e-mail: the server to send through
    # (smtp://user:password@host:587?starttls=true, or smtps://user:password@host:465) and the
    # From address; unset, no notice is sent at all. Optionally DKIM-signed with this key (a
    # PEM file) under this selector of the From domain. How often one notice is tried, and a
    # factor on every wait between attempts (0 in tests).
    smtp_url: str | None = Field(default=None, repr=False)
    mail_from: str | None = Field(default=None, max_length=320)
    mail_dkim_key: Path | None = None
    mail_dkim_selector: str | None = Field(default=None, max_length=63)
    smtp_timeout_seconds: float = Field(default=30.0, gt=0, le=300)
    mail_max_attempts: int = Field(default=12, ge=1, le=100)
    mail_retry_scale: float = Field(default=1.0, ge=0, le=100)
    # Log lines as text for a terminal, or as JSON lines for a log collector.
    log_format: Literal["text", "json"] = "text"
    # When set, `/metrics` answers only `Authorization: Bearer <this>` (Prometheus's
    # `authorization` setting); unset, it is open like `/healthz`.
    metrics_key: str | None = Field(default=None, repr=False)

    @model_validator(mode="after")
    def _check(self) -> Settings:
        if self.webhook_url and not self.webhook_secret:
            raise ConfigurationError(
                "CESJA_WEBHOOK_SECRET is required when CESJA_WEBHOOK_URL is set "
                "(a Standard Webhooks secret, whsec_<base64>)"
            )
        if self.webhook_secret and not self.webhook_secret.startswith("whsec_"):
            raise ConfigurationError("CESJA_WEBHOOK_SECRET must look like whsec_<base64>")
        if self.mail_dns:
            _ = self.mail_resolver  # refused now, not at the first e-mail
        if self.imap_oauth2_token_url and not self.imap_oauth2_client_id:
            raise ConfigurationError(
                "CESJA_IMAP_OAUTH2_CLIENT_ID is required when CESJA_IMAP_OAUTH2_TOKEN_URL is set"
            )
        if self.smtp_url:
            _ = self.smtp  # refused now, not at the first notice
            if not self.mail_from or "@" not in self.mail_from:
                raise ConfigurationError(
                    "CESJA_MAIL_FROM (an e-mail address) is required when CESJA_SMTP_URL is set"
                )
        if bool(self.mail_dkim_key) != bool(self.mail_dkim_selector):
            raise ConfigurationError(
                "CESJA_MAIL_DKIM_KEY and CESJA_MAIL_DKIM_SELECTOR are set together, or neither"
            )
        if self.mail_dkim_key and not self.mail_dkim_key.is_file():
            raise ConfigurationError(
                "CESJA_MAIL_DKIM_KEY must name the DKIM private key's PEM file; there is no "
                "file there"
            )
        if self.audit_key is not None and len(self.audit_key) < 32:
            raise ConfigurationError("CESJA_AUDIT_KEY must be at least 32 random characters")
        page_keys = self.secret_keys.replace("\n", ",").split(",") if self.secret_keys else []
        others = {self.secret_key, self.webhook_secret, *(k.partition(":")[2] for k in page_keys)}
        if self.audit_key and self.audit_key in others:
            raise ConfigurationError(
                "CESJA_AUDIT_KEY must be a key of its own, not the secret key or webhook secret"
            )
        oidc = (self.oidc_issuer, self.oidc_client_id, self.oidc_client_secret)
        if any(oidc) and not all(oidc):
            raise ConfigurationError(
                "CESJA_OIDC_ISSUER, CESJA_OIDC_CLIENT_ID and CESJA_OIDC_CLIENT_SECRET are set "
                "together, or none of them"
            )
        if self.oidc_issuer and not re.match(
            r"https://|http://(127\.0\.0\.1|localhost)[:/]", self.oidc_issuer
        ):
            raise ConfigurationError("CESJA_OIDC_ISSUER must be an https:// URL")
        if self.env == "production":
            if not self.api_keys:
                raise ConfigurationError("CESJA_API_KEYS must be set in production")
            if set(self.role_of_key) & {"dev-registrar", "dev-staff", "dev-intake"}:
                raise ConfigurationError("development API keys are refused in production")
            if not self.secret_keys and (not self.secret_key or len(self.secret_key) < 32):
                raise ConfigurationError(
                    "CESJA_SECRET_KEYS (or CESJA_SECRET_KEY) must be set to keys of at least "
                    "32 random characters in production"
                )
        return self

    @cached_property
    def role_of_key(self) -> dict[str, Role]:
        """API key → role, from `role:key` pairs."""
        pairs = self.api_keys or DEV_API_KEYS
        keys: dict[str, Role] = {}
        for item in pairs.split(","):
            role, sep, key = item.strip().partition(":")
            if not sep or role not in ROLES or not key:
                raise ConfigurationError(
                    f"CESJA_API_KEYS: {item.strip()!r} is not role:key with a role of "
                    f"{', '.join(ROLES)}"
                )
            keys[key] = role  # type: ignore[assignment]
        return keys

    @cached_property
    def reason_presets(self) -> list[str]:
        """The reasons a reviewer picks from, in the configured order."""
        return [r.strip() for r in self.review_reasons.split("|") if r.strip()][:50]

    @cached_property
    def mail_resolver(self) -> tuple[str, int] | None:
        """CESJA_MAIL_DNS as an IP address and a port."""
        if not self.mail_dns:
            return None
        text, port = self.mail_dns.strip(), 53
        if found := re.fullmatch(r"\[([^\]]+)\]:(\d+)|([^:]+):(\d+)", text):
            text = found.group(1) or found.group(3)
            port = int(found.group(2) or found.group(4))
        try:
            address = ipaddress.ip_address(text.strip("[]"))
        except ValueError:
            raise ConfigurationError(
                "CESJA_MAIL_DNS must be a resolver's IP address, with :port when not 53"
            ) from None
        if not 0 < port < 65536:
            raise ConfigurationError("CESJA_MAIL_DNS: the port must be 1 to 65535")
        return str(address), port

    @cached_property
    def smtp(self) -> SmtpServer | None:
        """CESJA_SMTP_URL taken apart; never shown whole, for it holds a password."""
        if not self.smtp_url:
            return None
        url = urlsplit(self.smtp_url.strip())
        if url.scheme not in ("smtp", "smtps") or not url.hostname:
            raise ConfigurationError(
                "CESJA_SMTP_URL must look like smtp://user:password@host:587?starttls=true "
                "or smtps://user:password@host:465"
            )
        query = dict(parse_qsl(url.query))
        starttls = query.get("starttls", "false").lower()
        if starttls not in ("true", "false"):
            raise ConfigurationError("CESJA_SMTP_URL: starttls must be true or false")
        try:
            port = url.port
        except ValueError:
            raise ConfigurationError("CESJA_SMTP_URL: the port must be 1 to 65535") from None
        return SmtpServer(
            host=url.hostname,
            port=port or (465 if url.scheme == "smtps" else 25),
            tls=url.scheme == "smtps",
            starttls=starttls == "true",
            username=unquote(url.username) if url.username else None,
            password=unquote(url.password) if url.password else None,
        )

    @property
    def using_dev_keys(self) -> bool:
        return not self.api_keys

    @property
    def sqlalchemy_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'cesja.sqlite3').resolve()}"

    @property
    def scan_store_dir(self) -> Path:
        return self.scan_dir or self.data_dir / "scans"

    @property
    def max_upload_bytes(self) -> int:
        return self.max_upload_mb * 1024 * 1024

    @cached_property
    def keys(self) -> keyring.KeyRing:
        """The page codes' keys, the current first; read once per process (a rotation takes
        effect when the service is restarted)."""
        return keyring.load(self.data_dir, self.secret_keys, self.secret_key)

    @cached_property
    def audit_secret(self) -> bytes:
        """The audit trail's key: CESJA_AUDIT_KEY, else one generated once into the data dir."""
        if self.audit_key:
            return self.audit_key.encode()
        return keyring.generated_key(self.audit_key_file)

    @property
    def audit_key_file(self) -> Path:
        """Where the audit key is generated when CESJA_AUDIT_KEY is unset."""
        return self.data_dir / "audit_key"
