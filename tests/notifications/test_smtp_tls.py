"""SMTP over STARTTLS and implicit TLS against a real server (aiosmtpd) presenting a certificate
from a CA made in the test: verified delivery, refused certificates, logins, no password in
clear or in the logs."""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr

from signupflow.notifications.models import NotificationStatus
from signupflow.notifications.outbox import backoff
from signupflow.ops.logging import JsonFormatter
from tests.notifications.mail import Mail, invite, rows
from tests.support.settings import make_settings
from tests.support.smtp_server import Logins, Security, SmtpServer
from tests.support.tls import CertificateAuthority

PASSWORD = "relay-pa55word-Qz8"
TLS_VERSIONS = {"TLSv1.2", "TLSv1.3"}
UNTRUSTED = "SMTP certificate refused: unable to get local issuer certificate"

Relay = Callable[..., Mail]


@pytest.fixture
def ca(tmp_path: Path) -> CertificateAuthority:
    return CertificateAuthority.create(tmp_path / "ca")


@pytest.fixture
def relay(app: FastAPI, client: TestClient, database_url: str) -> Iterator[Relay]:
    """Starts a server; the worker's settings point at it (plus any overrides)."""
    servers: list[SmtpServer] = []

    def start(
        security: Security, tls: Any = None, *, logins: Logins | None = None, **settings: Any
    ) -> Mail:
        server = SmtpServer(security=security, tls=tls, logins=logins)
        server.start()
        servers.append(server)
        values = {**server.settings, "public_url": "https://app.example.org", **settings}
        return Mail(server, make_settings(database_url, **values), app.state.session_factory)

    yield start
    for server in servers:
        server.stop()


@pytest.mark.parametrize("security", ["starttls", "ssl"])
@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_mail_arrives_over_tls_verified_against_smtp_ca_file(
    client: TestClient, ca: CertificateAuthority, relay: Relay, security: Security, host: str
) -> None:
    mail = relay(
        security,
        ca.server_context("127.0.0.1", "localhost"),
        smtp_host=host,
        smtp_ca_file=ca.pem_file,
    )
    organisation_id, email, token = invite(client, locale="fr")
    mail.run()

    [received] = mail.server.handler.to(email)
    assert received.tls in TLS_VERSIONS
    assert received.mail_from == "no-reply@localhost"
    assert received.recipients == [email]
    message = received.message
    assert message["To"].addresses[0].addr_spec == email
    assert message["Subject"].startswith("Vous êtes invité(e) à rejoindre Org ")
    assert message["Content-Language"] == "fr"
    assert received.body.startswith("Bonjour Ana,")
    assert f"https://app.example.org/#/accept?token={token}" in received.body
    [sent] = rows(mail, organisation_id)
    assert (sent.status, sent.attempts, sent.last_error) == (NotificationStatus.SENT, 1, None)


@pytest.mark.parametrize("security", ["starttls", "ssl"])
@pytest.mark.parametrize(
    ("host", "names", "trusted", "error"),
    [
        # No SMTP_CA_FILE: the system trust store does not know the test CA.
        pytest.param("127.0.0.1", ("127.0.0.1",), None, UNTRUSTED, id="system-store"),
        pytest.param("127.0.0.1", ("127.0.0.1",), "other", UNTRUSTED, id="another-ca"),
        pytest.param(
            "127.0.0.1",
            ("relay.example.org",),
            "ca",
            "SMTP certificate refused: IP address mismatch, certificate is not valid for "
            "'127.0.0.1'.",
            id="wrong-ip",
        ),
        pytest.param(
            "localhost",
            ("relay.example.org", "127.0.0.1"),
            "ca",
            "SMTP certificate refused: Hostname mismatch, certificate is not valid for "
            "'localhost'.",
            id="wrong-name",
        ),
    ],
)
def test_a_refused_certificate_sends_nothing_and_is_retried_until_fixed(
    client: TestClient,
    ca: CertificateAuthority,
    tmp_path: Path,
    relay: Relay,
    security: Security,
    host: str,
    names: tuple[str, ...],
    trusted: str | None,
    error: str,
) -> None:
    cas = {"ca": ca, "other": CertificateAuthority.create(tmp_path / "other", "Other CA")}
    overrides = {"smtp_ca_file": cas[trusted].pem_file} if trusted else {}
    logins = Logins("mailer", PASSWORD)
    mail = relay(
        security,
        ca.server_context(*names),
        logins=logins,
        smtp_host=host,
        smtp_username="mailer",
        smtp_password=PASSWORD,
        **overrides,
    )
    organisation_id, email, _ = invite(client)
    before = datetime.now(UTC)
    mail.run()

    assert mail.server.handler.received == []
    assert logins.attempts == []  # the password was not sent to a server we cannot trust
    [row] = rows(mail, organisation_id)
    # Retried like any other configuration or server problem: pending, with backoff, the
    # token kept so the invitation can still go out.
    assert (row.status, row.attempts, row.last_error) == (NotificationStatus.PENDING, 1, error)
    assert row.sent_at is None
    assert "token" in row.payload
    wait = backoff(mail.settings, 1)
    assert before + wait <= row.next_attempt_at <= datetime.now(UTC) + wait

    # The operator fixes it (the right CA, a certificate for the right name): the queue drains.
    mail.server.stop()
    mail.server.tls = ca.server_context("127.0.0.1", "localhost")
    mail.server.start()
    mail.settings = mail.settings.model_copy(update={"smtp_ca_file": ca.pem_file})
    mail.make_due(row.id)
    mail.run()
    [received] = mail.server.handler.to(email)
    assert received.tls in TLS_VERSIONS
    [sent] = rows(mail, organisation_id)
    assert (sent.status, sent.attempts, sent.last_error) == (NotificationStatus.SENT, 2, None)


def test_a_refused_certificate_on_the_last_attempt_fails_for_good(
    client: TestClient, ca: CertificateAuthority, relay: Relay
) -> None:
    mail = relay("starttls", ca.server_context("127.0.0.1"), notification_max_attempts=1)
    organisation_id, _, _ = invite(client)
    mail.run()
    assert mail.server.handler.received == []
    [row] = rows(mail, organisation_id)
    assert (row.status, row.attempts, row.last_error) == (NotificationStatus.FAILED, 1, UNTRUSTED)
    assert row.sent_at is None
    assert "token" not in row.payload  # failed for good: the secret is gone


def test_a_relay_without_starttls_gets_neither_mail_nor_password(
    client: TestClient, relay: Relay
) -> None:
    # The relay speaks plain SMTP and would even take a login in clear; SMTP_SECURITY=starttls
    # must not fall back to it.
    logins = Logins("mailer", PASSWORD)
    mail = relay(
        "none",
        logins=logins,
        smtp_security="starttls",
        smtp_username="mailer",
        smtp_password=PASSWORD,
    )
    organisation_id, _, _ = invite(client)
    mail.run()
    assert mail.server.handler.received == []
    assert logins.attempts == []
    [row] = rows(mail, organisation_id)
    assert (row.status, row.attempts, row.last_error) == (
        NotificationStatus.PENDING,
        1,
        "SMTP unavailable: SMTPNotSupportedError",
    )


def test_the_mailer_never_logs_in_without_tls(client: TestClient, relay: Relay) -> None:
    # The settings refuse SMTP_USERNAME with SMTP_SECURITY=none only in staging and production
    # (tests/test_settings.py); the mailer refuses in every profile, before AUTH.
    logins = Logins("mailer", PASSWORD)
    mail = relay("none", logins=logins, smtp_username="mailer", smtp_password=PASSWORD)
    assert mail.settings.problems() == []  # the test profile lets this configuration through
    organisation_id, _, _ = invite(client)
    mail.run()
    assert mail.server.handler.received == []
    assert logins.attempts == []
    [row] = rows(mail, organisation_id)
    assert (row.status, row.attempts, row.last_error) == (
        NotificationStatus.PENDING,
        1,
        "SMTP login refused without TLS",
    )


def secret_forms(password: str) -> list[str]:
    """The password as it could leak: itself, or base64-encoded as AUTH PLAIN/LOGIN send it."""
    return [
        password,
        base64.b64encode(password.encode()).decode(),
        base64.b64encode(f"\0mailer\0{password}".encode()).decode(),
    ]


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_login_over_tls_works_and_no_password_reaches_the_logs(
    client: TestClient,
    ca: CertificateAuthority,
    relay: Relay,
    security: Security,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    wrong = "wrong-pa55word-Jm3"
    logins = Logins("mailer", PASSWORD)
    mail = relay(
        security,
        ca.server_context("127.0.0.1"),
        logins=logins,
        smtp_ca_file=ca.pem_file,
        smtp_username="mailer",
        smtp_password=wrong,
    )
    organisation_id, email, _ = invite(client)
    with caplog.at_level(logging.DEBUG):  # every logger, every level
        mail.run()  # a stale password: refused by the relay, retried
        [row] = rows(mail, organisation_id)
        assert (row.status, row.last_error) == (NotificationStatus.PENDING, "SMTP error 535")
        assert mail.server.handler.received == []

        mail.settings = mail.settings.model_copy(update={"smtp_password": SecretStr(PASSWORD)})
        mail.make_due(row.id)
        mail.run()

    [received] = mail.server.handler.to(email)
    assert received.tls in TLS_VERSIONS
    # Every login reached the relay over TLS: the stale password by PLAIN and then LOGIN
    # (smtplib tries each mechanism offered), the right one by PLAIN.
    assert [user for user, _ in logins.attempts] == ["mailer"] * 3
    assert all(version in TLS_VERSIONS for _, version in logins.attempts)
    [sent] = rows(mail, organisation_id)
    assert (sent.status, sent.attempts) == (NotificationStatus.SENT, 2)

    formatter = JsonFormatter()
    lines = [formatter.format(r) for r in caplog.records] + [r.getMessage() for r in caplog.records]
    # The capture saw the sends (so the check below is not vacuous).
    assert any("notification not sent: SMTP error 535" in line for line in lines)
    assert any("notification sent" in line for line in lines)
    output = capfd.readouterr()
    for secret in secret_forms(PASSWORD) + secret_forms(wrong):
        assert all(secret not in line for line in lines), secret
        assert secret not in output.out + output.err
        assert secret not in repr(mail.settings.masked())
