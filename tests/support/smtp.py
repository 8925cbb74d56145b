"""A real SMTP server for tests: aiosmtpd in-process on a loopback port.

It records every accepted message (envelope and bytes), refuses recipients a test names with
a permanent 550 (`refuse`), a temporary 450 (`defer`) or a 421 that closes the connection
(`shut_on`), and can be stopped and started again on the same port to play an outage.
"""

from __future__ import annotations

import asyncio
import base64
import email
import email.policy
import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, Session

from tests.support.dovecot import free_port

# aiosmtpd logs every connection from its own thread, sometimes after a test has ended and
# its captured stderr is closed: noise at best, a "Logging error" in the next test at worst.
logging.getLogger("mail.log").setLevel(logging.WARNING)


@dataclass(frozen=True)
class Received:
    sender: str
    recipients: tuple[str, ...]
    raw: bytes

    @property
    def message(self) -> EmailMessage:
        return email.message_from_bytes(self.raw, policy=email.policy.default)  # type: ignore[return-value]


class _Handler:
    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_RCPT(
        self, smtp: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if address.lower() in self.server.refuse:
            return "550 5.1.1 No such user here"
        if address.lower() in self.server.defer:
            return "450 4.2.1 Mailbox busy, try again later"
        if address.lower() in self.server.shut_on:
            return "421 4.3.2 Service shutting down, closing transmission channel"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, smtp: SMTP, session: Session, envelope: Envelope) -> str:
        if any(r.lower() in self.server.answer_late for r in envelope.rcpt_tos):
            # As a server that scans a message before it takes it: should the client vanish
            # meanwhile, the message is dropped (aiosmtpd cancels this handler).
            self.server.answer_held.set()
            await asyncio.sleep(self.server.answer_delay_seconds)
        self.server.received.append(
            Received(
                sender=str(envelope.mail_from),
                recipients=tuple(envelope.rcpt_tos),
                raw=bytes(envelope.original_content or b""),
            )
        )
        return "250 Message accepted"


class _OAuth2Handler(_Handler):
    """Requires AUTH XOAUTH2 before MAIL; the token is checked by `server.introspect`
    (the OAuth2 stand-in's RFC 7662 endpoint). A refused token is answered the way Google
    and Microsoft do: a 334 with a base64 JSON error, then 535 after the client's empty line."""

    async def auth_XOAUTH2(self, smtp: SMTP, args: list[str]) -> AuthResult:
        if len(args) < 2:
            return AuthResult(success=False, handled=False)
        try:
            fields = base64.b64decode(args[1]).decode().split("\x01")
        except ValueError:
            return AuthResult(success=False, handled=False)
        values = dict(f.split("=", 1) for f in fields if "=" in f)
        user = values.get("user", "")
        token = values.get("auth", "").removeprefix("Bearer ")
        introspect = self.server.introspect
        assert introspect is not None
        answer = await asyncio.to_thread(introspect, token)
        if answer.get("active") is True and answer.get("email") == user:
            self.server.logins.append(user)
            return AuthResult(success=True, auth_data=user)
        self.server.refused_logins += 1
        error = json.dumps({"status": "401", "schemes": "bearer", "scope": "mail"})
        await smtp.challenge_auth(error)
        return AuthResult(success=False, handled=False, message="535 5.7.8 Token invalid")


class SmtpServer:
    host = "127.0.0.1"

    def __init__(self, introspect: Callable[[str], dict[str, Any]] | None = None) -> None:
        """`introspect`: require AUTH XOAUTH2, checking tokens with this RFC 7662 call."""
        self.introspect = introspect
        self.logins: list[str] = []
        self.refused_logins = 0
        self.port = free_port()
        self.received: list[Received] = []
        self.refuse: set[str] = set()
        self.defer: set[str] = set()
        self.shut_on: set[str] = set()
        # Mail to these recipients is taken and answered `answer_delay_seconds` after it
        # came in whole; `answer_held` is set when such a mail has come in whole.
        self.answer_late: set[str] = set()
        self.answer_delay_seconds = 5.0
        self.answer_held = threading.Event()
        self._controller: Controller | None = None

    def start(self) -> None:
        if self.introspect is None:
            self._controller = Controller(
                _Handler(self), hostname=self.host, port=self.port, decode_data=False
            )
        else:
            self._controller = Controller(
                _OAuth2Handler(self),
                hostname=self.host,
                port=self.port,
                decode_data=False,
                auth_required=True,
                auth_require_tls=False,
                auth_exclude_mechanism=["LOGIN", "PLAIN"],
            )
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> SmtpServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def to(self, address: str) -> list[Received]:
        return [r for r in self.received if address in r.recipients]

    def smtp_config(self) -> dict[str, Any]:
        return {
            "transport": "smtp",
            "host": self.host,
            "port": self.port,
            "tls": "none",
            "from_address": "security@example.nl",
            "from_name": "PZEM Security Team",
            "retry_initial_seconds": 1,
        }
