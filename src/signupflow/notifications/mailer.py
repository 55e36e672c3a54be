"""Sending one message: over SMTP (STARTTLS, implicit TLS or plain), or, in development with
no SMTP server configured, as a redacted log line."""

from __future__ import annotations

import logging
import smtplib
import ssl
from email.message import EmailMessage
from typing import Protocol

from signupflow.settings import Settings

log = logging.getLogger("signupflow.mail")


class MailError(Exception):
    """Sending failed; `transient` failures are retried with backoff."""

    def __init__(self, message: str, *, transient: bool = True) -> None:
        self.transient = transient
        super().__init__(message)


class Mailer(Protocol):
    def send(self, message: EmailMessage) -> None: ...


class SmtpMailer:
    def __init__(self, settings: Settings) -> None:
        assert settings.smtp_host
        self.host = settings.smtp_host
        self.port = settings.smtp_port
        self.security = settings.smtp_security
        self.username = settings.smtp_username
        self.password = settings.smtp_password.get_secret_value() if settings.smtp_password else ""
        self.timeout = settings.smtp_timeout_s
        # Certificate and host name are always verified: against SMTP_CA_FILE (a private
        # relay's CA) when set, else the system trust store. Loaded once, at start-up.
        self.context = ssl.create_default_context(cafile=settings.smtp_ca_file)

    def _connect(self) -> smtplib.SMTP:
        if self.security == "ssl":
            return smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout, context=self.context
            )
        client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        try:
            if self.security == "starttls":
                # Fails when the server offers no STARTTLS: never a silent fall-back to clear.
                client.starttls(context=self.context)
        except BaseException:
            client.close()  # not yet inside `with`: nothing else would close the socket
            raise
        return client

    def send(self, message: EmailMessage) -> None:
        # One connection per message: the worker sends few, and a dead connection held open
        # between polls would fail the next send anyway.
        try:
            with self._connect() as client:
                if self.username:
                    # Behind the settings check (staging and production): whatever the
                    # profile, the password never crosses the network in clear.
                    if not isinstance(client.sock, ssl.SSLSocket):
                        raise MailError("SMTP login refused without TLS")
                    client.login(self.username, self.password)
                refused = client.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = sorted({code for code, _ in exc.recipients.values()})
            raise MailError(f"recipient refused ({codes})", transient=min(codes) < 500) from exc
        except (
            smtplib.SMTPAuthenticationError,
            smtplib.SMTPSenderRefused,
            smtplib.SMTPConnectError,
            smtplib.SMTPHeloError,
        ) as exc:
            # Our configuration or the server, not this message (a rotated password, a refused
            # sender): retried with backoff whatever the code, so the queue survives the fix.
            raise MailError(f"SMTP error {exc.smtp_code}") from exc
        except smtplib.SMTPResponseException as exc:
            # Only the status code: server replies can echo addresses or credentials.
            raise MailError(f"SMTP error {exc.smtp_code}", transient=exc.smtp_code < 500) from exc
        except ssl.SSLCertVerificationError as exc:
            # Why (untrusted issuer, wrong name, expired) is what the operator needs; OpenSSL's
            # reason and the host name carry no credentials.
            raise MailError(f"SMTP certificate refused: {exc.verify_message}") from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise MailError(f"SMTP unavailable: {type(exc).__name__}") from exc
        if refused:
            raise MailError("recipient refused", transient=False)


class LogMailer:
    """Development without SMTP: one line per message, the address reduced to its domain by
    the log redaction."""

    def send(self, message: EmailMessage) -> None:
        log.info(
            "mail not sent (no SMTP_HOST configured): %s to %s",
            message["Subject"],
            message["To"],
        )


def make_mailer(settings: Settings) -> Mailer:
    if settings.smtp_host:
        return SmtpMailer(settings)
    return LogMailer()
