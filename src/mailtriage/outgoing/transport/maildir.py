"""Outgoing mail written to a local Maildir: the demo's outbox, and a way to inspect output.

A delivery is named after the outbox row, so delivering the same row again after a crash
finds the file already there instead of writing a second copy.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from mailtriage.clock import Clock
from mailtriage.mailbox.maildir import ensure_maildir
from mailtriage.outgoing.transport.base import DeliveryError


class MaildirTransport:
    def __init__(self, path: Path, clock: Clock) -> None:
        self.path = path
        self.clock = clock

    def send(self, *, sender: str, recipient: str, raw: bytes, key: str) -> None:
        name = hashlib.sha256(key.encode()).hexdigest()[:32]
        try:
            ensure_maildir(self.path)
            for sub in ("new", "cur"):
                if any(p.name.startswith(name) for p in (self.path / sub).iterdir()):
                    return
            tmp = self.path / "tmp" / f"{name}.{os.getpid()}"
            with open(tmp, "wb") as fh:
                fh.write(b"Delivered-To: " + recipient.encode("ascii", "replace") + b"\r\n")
                fh.write(raw)
                fh.flush()
                os.fsync(fh.fileno())
            os.rename(tmp, self.path / "new" / f"{name}.{int(self.clock().timestamp())}.mailtriage")
        except OSError as exc:
            raise DeliveryError(
                f"cannot write to outbox Maildir: {exc.strerror}", permanent=False
            ) from exc

    def close(self) -> None:
        pass
