"""The kinds of mail the desk sends, one module each (or one per family of close kinds).

`KINDS` is the registry: `letters.py` looks a queued row's kind up in it to build the
payload and render the mail, and `replies.py` refuses to queue a kind it does not know.
"""

from __future__ import annotations

from mailtriage.outgoing.mailkinds._base import (
    Audience,
    Guard,
    LetterError,
    MailKind,
    Payload,
    Source,
    TemplateForm,
)
from mailtriage.outgoing.mailkinds._registry import KindRegistry, UnknownKind, discover

__all__ = [
    "KINDS",
    "Audience",
    "Guard",
    "KindRegistry",
    "LetterError",
    "MailKind",
    "Payload",
    "Source",
    "TemplateForm",
    "UnknownKind",
]

KINDS = KindRegistry(discover(__name__))
