"""Where a stored message stands: the one module that writes `StoredMessage.status`.

A message's status is its life story: `received` when its bytes are stored, then exactly one
of `case`, `auto`, `duplicate`, `staff` (triage decided, casework applied) or `quarantined`
(processing failed), and at the end `purged`. Intake, casework and the purge each move a
message along; they do it through these functions, so a reader finds every way a status can
change in one place.
"""

from __future__ import annotations

import datetime as dt

from mailtriage.store.models import Case, MessageStatus, StoredMessage


def stored(
    sha256: str, size: int, stored_at: dt.datetime, arrived_at: dt.datetime
) -> StoredMessage:
    """A message whose raw bytes are about to be committed, not yet looked at."""
    return StoredMessage(
        sha256=sha256,
        size=size,
        stored_at=stored_at,
        arrived_at=arrived_at,
        status=MessageStatus.RECEIVED,
        attempts=0,
    )


def file_as(
    message: StoredMessage, status: str, category: str | None, case: Case | None = None
) -> None:
    """Triage's verdict applied: the message's status, its category and (when it has one)
    its case."""
    message.status = status
    message.category = category
    if case is not None:
        message.case = case


def quarantine(message: StoredMessage, reason: str, at: dt.datetime) -> None:
    """Processing failed: the message is kept with the reason, for a retry."""
    message.status = MessageStatus.QUARANTINED
    message.quarantine_reason = reason
    message.processed_at = at


def purged(message: StoredMessage) -> None:
    """The message's content is erased; the row stays, so the mailbox never re-imports it."""
    message.status = MessageStatus.PURGED
