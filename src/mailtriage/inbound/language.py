"""Which language a case is answered in, and who settles it.

A report's language is read from its text (`textscan.detect_language`); a short or mixed
report comes back "unsure" and is answered in Dutch and English. That guess must not stick:
once the reporter writes a clear follow-up, that is their language (observed: a reporter
wrote plain English and kept getting bilingual mail). Staff can also set it with
`#lang nl|en`, and what staff set is not overridden by a later guess.

Only the reporter's own new text is read: a reply quotes our bilingual acknowledgement, which
would make every reply look "unsure".
"""

from __future__ import annotations

from collections.abc import Iterable

from mailtriage.inbound.quotes import new_text
from mailtriage.inbound.textscan import Language, detect_language

__all__ = ["LANGUAGES", "reply_language", "settled_language", "staff_set_language"]

LANGUAGES = ("nl", "en")


def reply_language(text: str) -> Language:
    """The language of what the reporter wrote in this mail, quotes left out."""
    return detect_language(new_text(text))


def staff_set_language(events: Iterable[object]) -> bool:
    """Whether staff chose the case language (`#lang`): their choice stands."""
    return any(
        getattr(e, "kind", None) == "language"
        and (getattr(e, "detail", None) or {}).get("by") == "staff"
        for e in events
    )


def settled_language(current: str, written: Language, staff_chose: bool) -> str | None:
    """The case's new language after a reporter mail written in `written`, or None when it
    stays: a clear language replaces another one unless staff chose it."""
    if written not in LANGUAGES or written == current or staff_chose:
        return None
    return written
