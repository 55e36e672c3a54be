"""A real SMTP server (aiosmtpd) listening on 127.0.0.1, recording what it receives. It can
refuse messages with a temporary or permanent error, or take its time over each one, and
speak STARTTLS or implicit TLS and take logins."""

from __future__ import annotations

import asyncio
import email
import email.policy
import ssl
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any, Literal

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from harness.ports import free_port


@dataclass
class Received:
    mail_from: str
    recipients: list[str]
    message: EmailMessage
    tls: str | None = None  # the protocol version the message arrived over, None in clear

    @property
    def body(self) -> str:
        part = self.message.get_body(preferencelist=("plain",))
        assert part is not None
        content: str = part.get_content()
        return content


@dataclass
class Handler:
    received: list[Received] = field(default_factory=list)
    reply: str | None = None  # e.g. "451 4.3.0 try later": refuse every message with it
    delay_s: float = 0.0
    data_started: threading.Event = field(default_factory=threading.Event)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.data_started.set()
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if self.reply:
            return self.reply
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.received.append(
            Received(envelope.mail_from, list(envelope.rcpt_tos), message, tls_version(server))
        )
        return "250 2.0.0 OK"

    def to(self, address: str) -> list[Received]:
        return [r for r in self.received if address in r.recipients]


def tls_version(server: Any) -> str | None:
    """TLS version of the session (after STARTTLS too); None in clear."""
    ssl_object = server.transport.get_extra_info("ssl_object")
    return ssl_object.version() if ssl_object is not None else None


@dataclass
class Logins:
    """aiosmtpd authenticator accepting one user; records every attempt (user, TLS version)."""

    username: str
    password: str
    attempts: list[tuple[str, str | None]] = field(default_factory=list)

    def __call__(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        assert isinstance(auth_data, LoginPassword)
        login, password = auth_data.login.decode(), auth_data.password.decode()
        self.attempts.append((login, tls_version(server)))
        # handled=False: aiosmtpd itself answers a refusal (535).
        return AuthResult(
            success=(login, password) == (self.username, self.password), handled=False
        )


Security = Literal["none", "starttls", "ssl"]


class SmtpServer:
    """`security` as SMTP_SECURITY names it; with starttls the server refuses mail until the
    client has switched to TLS."""

    def __init__(
        self,
        *,
        security: Security = "none",
        tls: ssl.SSLContext | None = None,
        logins: Logins | None = None,
    ) -> None:
        assert (security == "none") == (tls is None)
        self.handler = Handler()
        self.port = free_port()
        self.security = security
        self.tls = tls
        self.logins = logins
        self.controller: Controller | None = None

    def start(self) -> None:
        options: dict[str, Any] = {}
        if self.security == "starttls":
            options.update(tls_context=self.tls, require_starttls=True)
        elif self.security == "ssl":
            options.update(ssl_context=self.tls)
        if self.logins is not None:
            # aiosmtpd counts only STARTTLS as TLS (aio-libs/aiosmtpd#281): over implicit TLS
            # it would refuse AUTH. A plain server then takes logins in clear, as a careless
            # relay would: the mailer itself must refuse to send one.
            options.update(authenticator=self.logins, auth_require_tls=self.security == "starttls")
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port, **options)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    @property
    def settings(self) -> dict[str, Any]:
        return {"smtp_host": "127.0.0.1", "smtp_port": self.port, "smtp_security": self.security}
