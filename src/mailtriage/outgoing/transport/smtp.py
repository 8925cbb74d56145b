"""SMTP submission with verified TLS and login, one connection reused for a batch.

`ssl` and `starttls` always verify the server's certificate and host name; `starttls` refuses
to go on in plain text when the server does not offer it (a password is never sent in clear).
"""

from __future__ import annotations

import contextlib
import smtplib
import socket
import ssl

from mailtriage.config import SmtpConfig
from mailtriage.mailbox.oauth2 import TokenError, TokenSource, xoauth2_string
from mailtriage.outgoing.transport.base import DeliveryError

SERVICE_CLOSING = 421  # RFC 5321 4.2.2: the server is shutting the connection, whatever the reply


class SmtpTransport:
    def __init__(self, config: SmtpConfig, tokens: TokenSource | None = None) -> None:
        self.config = config
        # With `auth = "oauth2"`: where the XOAUTH2 access tokens come from.
        self._tokens = tokens
        if config.auth == "oauth2" and tokens is None:
            raise ValueError("smtp.auth is oauth2 but no token source was given")
        self._client: smtplib.SMTP | None = None

    def _tls_context(self) -> ssl.SSLContext:
        cafile = str(self.config.ca_file) if self.config.ca_file else None
        return ssl.create_default_context(cafile=cafile)

    def _connect(self) -> smtplib.SMTP:
        if self._client is not None:
            return self._client
        cfg = self.config
        try:
            client: smtplib.SMTP
            if cfg.tls == "ssl":
                client = smtplib.SMTP_SSL(
                    cfg.host,
                    cfg.effective_port,
                    timeout=cfg.timeout_seconds,
                    context=self._tls_context(),
                )
            else:
                client = smtplib.SMTP(cfg.host, cfg.effective_port, timeout=cfg.timeout_seconds)
                client.ehlo()
                if cfg.tls == "starttls":
                    if not client.has_extn("starttls"):
                        client.close()
                        raise DeliveryError(
                            "SMTP server does not offer STARTTLS; refusing plain text",
                            permanent=False,
                        )
                    client.starttls(context=self._tls_context())
                    client.ehlo()
            if self._tokens is not None:
                self._oauth2_login(client)
            elif cfg.username:
                client.login(cfg.username, cfg.secret())
        except DeliveryError:
            raise
        except smtplib.SMTPAuthenticationError as exc:
            raise DeliveryError(f"SMTP login refused ({exc.smtp_code})", permanent=False) from exc
        except (OSError, smtplib.SMTPException, ssl.SSLError) as exc:
            raise DeliveryError(
                f"SMTP connection failed: {_describe(exc)}", permanent=False
            ) from exc
        self._client = client
        return client

    def _oauth2_login(self, client: smtplib.SMTP) -> None:
        """AUTH XOAUTH2; a refused token is replaced once by a new one before giving up."""
        try:
            _xoauth2(client, self.config.username, self._token(client, force_refresh=False))
            return
        except smtplib.SMTPAuthenticationError:
            pass  # revoked or expired early: one fresh token on the same connection
        try:
            _xoauth2(client, self.config.username, self._token(client, force_refresh=True))
        except smtplib.SMTPAuthenticationError as exc:
            client.close()
            # `from None`: smtplib's exception chain would carry the command with the token.
            raise DeliveryError(
                f"SMTP AUTH XOAUTH2 refused for {self.config.username} with a newly issued "
                f"token ({exc.smtp_code}; is the application allowed to send as this "
                "mailbox?)",
                permanent=False,
            ) from None

    def _token(self, client: smtplib.SMTP, *, force_refresh: bool) -> str:
        assert self._tokens is not None
        try:
            return self._tokens.token(force_refresh=force_refresh)
        except TokenError as exc:
            client.close()
            raise DeliveryError(f"SMTP login: {exc.reason}", permanent=False) from None

    def check(self) -> None:
        """Connect and log in, for `mailtriage check`."""
        self._connect()
        self.close()

    def send(self, *, sender: str, recipient: str, raw: bytes, key: str) -> None:
        client = self._connect()
        try:
            refused = client.sendmail(sender, [recipient], raw)
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = next(iter(exc.recipients.values()))
            if code == SERVICE_CLOSING:  # smtplib has closed the connection
                self._drop()
            raise DeliveryError(
                _reply(code, text),
                permanent=500 <= code < 600,
                this_message_only=code != SERVICE_CLOSING,
            ) from exc
        except smtplib.SMTPResponseException as exc:
            self._drop()
            sender_refused = isinstance(exc, smtplib.SMTPSenderRefused)
            permanent = 500 <= exc.smtp_code < 600 and not sender_refused
            # Our own sender refused is refused for every row; 421 closes the line. A 4xx
            # or 5xx after DATA is about this message.
            only_this = not sender_refused and exc.smtp_code != SERVICE_CLOSING
            raise DeliveryError(
                _reply(exc.smtp_code, exc.smtp_error),
                permanent=permanent,
                this_message_only=only_this,
            ) from exc
        except (OSError, smtplib.SMTPException) as exc:
            self._drop()
            raise DeliveryError(f"SMTP connection lost: {_describe(exc)}", permanent=False) from exc
        if refused:  # pragma: no cover - one recipient: refusal raises above
            code, text = next(iter(refused.values()))
            raise DeliveryError(
                _reply(code, text), permanent=500 <= code < 600, this_message_only=True
            )

    def _drop(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(OSError):
                client.close()

    def close(self) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        try:
            client.quit()
        except (OSError, smtplib.SMTPException):
            client.close()


def _xoauth2(client: smtplib.SMTP, user: str, token: str) -> None:
    # smtplib sends the first answer base64-encoded as the initial response. A server that
    # refuses the token answers 334 with an error document (Google's and Microsoft's way) and
    # wants an empty line back, then says 535.
    def respond(challenge: bytes | None = None) -> str:
        return xoauth2_string(user, token) if challenge is None else ""

    client.auth("XOAUTH2", respond, initial_response_ok=True)


def _reply(code: int, text: bytes | str) -> str:
    message = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    return f"{code} {' '.join(message.split())}"[:300]


def _describe(exc: BaseException) -> str:
    if isinstance(exc, socket.timeout):
        return "timed out"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
