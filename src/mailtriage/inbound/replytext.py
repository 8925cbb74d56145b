"""What a reporter newly wrote in a reply, for the copy staff get.

A reporter's reply quotes our acknowledgement, which in two languages is about a hundred
lines; forwarding all of it to staff buries the one line that matters (observed). Staff get
the reporter's own text; the whole mail stays in the case (`mailtriage case REF`).
"""

from __future__ import annotations

from mailtriage.inbound.quotes import new_text

__all__ = ["reporter_new_text"]


def reporter_new_text(text: str) -> tuple[str, bool]:
    """(the new text, whether anything was cut). The quote cut is `quotes.new_text`'s; a
    reply written below the quote (bottom-posting) leaves it nothing, and then the unquoted
    lines are what the reporter wrote."""
    new = new_text(text)
    if not new.strip():
        new = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith(">"))
        new = new.strip()
    if not new:
        return text, False
    return new, len(new) < len(text.strip())
