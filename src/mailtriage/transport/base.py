"""What the outbox needs from a way of delivering mail, and how a delivery can fail.

The outbox decides retries from one distinction only: a permanent failure (the recipient was
refused with a 5xx) is recorded on the case at once; anything else is temporary and retried
with backoff until the configured time runs out.
"""

from __future__ import annotations

from typing import Protocol


class DeliveryError(Exception):
    def __init__(self, reason: str, *, permanent: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent


class Transport(Protocol):
    def send(self, *, sender: str, recipient: str, raw: bytes, key: str) -> None:
        """Deliver one message; `key` is stable per outbox row (for idempotent transports).

        Raises DeliveryError.
        """
        ...

    def close(self) -> None: ...
