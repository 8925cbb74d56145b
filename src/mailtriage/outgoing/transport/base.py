"""What the outbox needs from a way of delivering mail, and how a delivery can fail.

The outbox decides retries from one distinction: a permanent failure (the recipient was
refused with a 5xx) is recorded on the case at once; anything else is temporary and retried
with backoff until the configured time runs out. A second one decides the rest of the round:
a failure of this message only (one recipient answered 450 at RCPT, a 4xx after DATA) leaves
the connection good for the next row, while a failure of the connection (connect, TLS, login,
421, a dropped line) ends the round, since every further row would fail the same way. Without
it, anyone who can make their own mail server say 450 could hold up every reply queued after
theirs.
"""

from __future__ import annotations

from typing import Protocol


class DeliveryError(Exception):
    def __init__(self, reason: str, *, permanent: bool, this_message_only: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent
        # True: the refusal concerns this message or recipient, the way out is still open.
        self.this_message_only = this_message_only

    @property
    def ends_round(self) -> bool:
        """Whether the rest of the due mail should wait: the server is down or refusing all."""
        return not (self.permanent or self.this_message_only)


class Transport(Protocol):
    def send(self, *, sender: str, recipient: str, raw: bytes, key: str) -> None:
        """Deliver one message; `key` is stable per outbox row (for idempotent transports).

        Raises DeliveryError.
        """
        ...

    def close(self) -> None: ...
