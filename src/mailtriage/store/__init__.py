"""The case store: models, sessions and migrations."""

from mailtriage.store.db import Store, StoreUnavailable
from mailtriage.store.models import (
    Attachment,
    Base,
    Case,
    CaseEvent,
    MailboxSighting,
    MessageStatus,
    StoredMessage,
)

__all__ = [
    "Attachment",
    "Base",
    "Case",
    "CaseEvent",
    "MailboxSighting",
    "MessageStatus",
    "Store",
    "StoreUnavailable",
    "StoredMessage",
]
