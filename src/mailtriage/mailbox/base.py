"""The one interface intake reads mail through, whatever the mail's source.

IMAP, a Maildir and the MTA pipe differ in how a message is named and how it leaves the inbox,
but the pipeline only needs three things from each: the waiting messages with a stable key,
and a way to file a message away once it is safely stored. Keeping the interface this small
lets the integration tests run the same pipeline over a real Dovecot and a real Maildir.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class MessageKey:
    """Where a message was found: stable across runs, never a sequence number.

    `validity` is the IMAP UIDVALIDITY (0 for sources without one); `uid` is the IMAP UID or the
    Maildir unique name, as text.
    """

    source: str
    validity: int
    uid: str


@dataclass(frozen=True)
class FetchedMessage:
    key: MessageKey
    raw: bytes
    # When the mailbox received it (IMAP INTERNALDATE, a Maildir file's mtime); deadlines run
    # from here, so mail that waited while the daemon was down keeps its true arrival time.
    arrived_at: dt.datetime | None = None


# A stored message as the mailbox holds it: (size in bytes, SHA-256 hex of the bytes).
Fingerprint = tuple[int, str]


class MailboxError(Exception):
    """The mailbox cannot be reached or refused an operation; the message says which."""


class Mailbox(Protocol):
    """A source of incoming mail."""

    source: str

    def fetch_new(self) -> Iterator[FetchedMessage]:
        """Yield every message waiting in the inbox, without changing any flag."""
        ...

    def file_processed(self, keys: list[MessageKey]) -> None:
        """Move stored-and-handled messages out of the inbox into the processed folder."""
        ...

    def file_quarantined(self, keys: list[MessageKey]) -> None:
        """Move messages whose processing failed out of the inbox into the quarantine folder."""
        ...

    def check(self) -> None:
        """Raise MailboxError unless the mailbox can be reached and read."""
        ...

    def expunge(self, fingerprints: Iterable[Fingerprint], keys: Iterable[MessageKey]) -> int:
        """Remove these messages from every folder the desk uses; returns how many went."""
        ...

    def close(self) -> None: ...
