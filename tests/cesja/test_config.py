"""Settings: the contract's variables, and what production refuses."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from cesja.config import Settings
from cesja.errors import ConfigurationError

STRONG_SECRET = "s" * 40


def test_defaults_are_the_embedded_development_setup(data_dir: Path) -> None:
    settings = Settings()
    assert settings.sqlalchemy_url.startswith("sqlite:///")
    assert settings.scan_store_dir == data_dir / "scans"
    assert settings.using_dev_keys
    assert settings.role_of_key == {
        "dev-registrar": "registrar",
        "dev-staff": "staff",
        "dev-intake": "intake",
    }
    assert settings.document_deadline_days == 14 and settings.max_upload_mb == 50


def test_the_development_secret_is_generated_once_and_kept(data_dir: Path) -> None:
    first = Settings().keys.keys
    assert list(first) == ["1"] and len(first["1"]) >= 32
    assert Settings().keys.keys == first
    assert (data_dir / "secret_key").stat().st_mode & 0o077 == 0


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"CESJA_ENV": "production", "CESJA_SECRET_KEY": STRONG_SECRET}, "CESJA_API_KEYS"),
        (
            {
                "CESJA_ENV": "production",
                "CESJA_SECRET_KEY": STRONG_SECRET,
                "CESJA_API_KEYS": "registrar:dev-registrar,staff:k2",
            },
            "development API keys",
        ),
        ({"CESJA_ENV": "production", "CESJA_API_KEYS": "staff:a-long-key"}, "CESJA_SECRET_KEY"),
        (
            {"CESJA_ENV": "production", "CESJA_API_KEYS": "staff:k", "CESJA_SECRET_KEY": "short"},
            "at least 32",
        ),
        ({"CESJA_WEBHOOK_URL": "https://registrar.example/hook"}, "CESJA_WEBHOOK_SECRET"),
        ({"CESJA_API_KEYS": "admin:k1"}, "role:key"),
        ({"CESJA_SMTP_URL": "smtp://mail.registrar.pl:587"}, "CESJA_MAIL_FROM"),
        (
            {"CESJA_SMTP_URL": "http://mail.registrar.pl", "CESJA_MAIL_FROM": "c@registrar.pl"},
            "smtp://user:password@host:587",
        ),
        (
            {"CESJA_SMTP_URL": "smtp://h:587?starttls=yes", "CESJA_MAIL_FROM": "c@registrar.pl"},
            "starttls must be true or false",
        ),
        ({"CESJA_MAIL_DKIM_KEY": "/etc/cesja/dkim.pem"}, "CESJA_MAIL_DKIM_SELECTOR"),
        (
            {"CESJA_MAIL_DKIM_KEY": "/nonexistent/dkim.pem", "CESJA_MAIL_DKIM_SELECTOR": "s1"},
            "no file there",
        ),
        ({"CESJA_AUDIT_KEY": "short"}, "CESJA_AUDIT_KEY must be at least 32"),
        (
            {"CESJA_AUDIT_KEY": STRONG_SECRET, "CESJA_SECRET_KEY": STRONG_SECRET},
            "CESJA_AUDIT_KEY must be a key of its own",
        ),
    ],
)
def test_unsafe_settings_are_refused_with_what_to_set(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, env: dict[str, str], message: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises((ConfigurationError, ValueError), match=message):
        Settings().role_of_key


def test_serve_refuses_to_start_in_production_with_development_keys(data_dir: Path) -> None:
    """GIVEN production mode without keys WHEN `cesja serve` starts THEN it exits at once with
    a message naming the setting, before listening on any port."""
    done = subprocess.run(
        [sys.executable, "-m", "cesja.cli", "serve", "--port", "0"],
        env={"CESJA_ENV": "production", "CESJA_DATA_DIR": str(data_dir), "PATH": "/usr/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "CESJA_API_KEYS" in done.stderr


# The service's own command, in a Python where the PostgreSQL driver cannot be imported: what a
# machine that installed cesja without its postgresql extra has.
WITHOUT_PSYCOPG = "import sys; sys.modules['psycopg'] = None; from cesja.cli import main; main()"


@pytest.mark.parametrize(
    "command", [("serve", "--port", "0"), ("worker",), ("doctor",)], ids=lambda c: c[0]
)
def test_a_postgresql_url_without_the_driver_installed_says_what_to_install(
    data_dir: Path, command: tuple[str, ...]
) -> None:
    """GIVEN CESJA_DATABASE_URL naming PostgreSQL on an install without the psycopg driver
    WHEN the operator runs `cesja serve`, `cesja worker` or `cesja doctor`
    THEN each fails at once, without a traceback, saying to install `cesja[postgresql]`.
    """
    done = subprocess.run(
        [sys.executable, "-c", WITHOUT_PSYCOPG, *command],
        env={
            "CESJA_DATA_DIR": str(data_dir),
            "CESJA_DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:5432/cesja",
            "PATH": "/usr/bin:/bin",
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode != 0, output
    assert "pip install 'cesja[postgresql]'" in output, output
    assert "Traceback" not in output, output


def test_the_smtp_url_is_taken_apart_and_its_password_never_shown(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN an SMTP URL with a URL-encoded password THEN the login is decoded, the port and
    TLS are as written (or the scheme's), and neither the settings nor the server's parts
    show the password."""
    monkeypatch.setenv(
        "CESJA_SMTP_URL", "smtp://cesja%40registrar.pl:p%2Fss@mx.registrar.pl:587?starttls=true"
    )
    monkeypatch.setenv("CESJA_MAIL_FROM", "cesja@registrar.pl")
    settings = Settings()
    server = settings.smtp
    assert server is not None
    assert (server.host, server.port, server.tls, server.starttls) == (
        "mx.registrar.pl",
        587,
        False,
        True,
    )
    assert (server.username, server.password) == ("cesja@registrar.pl", "p/ss")
    assert "p%2Fss" not in repr(settings) and "p/ss" not in repr(server)

    monkeypatch.setenv("CESJA_SMTP_URL", "smtps://mx.registrar.pl")
    server = Settings().smtp
    assert server is not None and (server.port, server.tls, server.username) == (465, True, None)
