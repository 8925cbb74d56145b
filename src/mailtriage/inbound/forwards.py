"""Finding the original sender of a report that staff forward to the desk.

Reports also reach staff by other routes (a colleague's inbox, a web form). Staff forward
them to security@ without a case tag, and the desk opens a case with the forwarded mail's
sender as reporter. Both shapes of forwarding are read: the original attached as a
message/rfc822 part, and the original pasted inline under a "Forwarded message" line.
"""

from __future__ import annotations

import email
import email.policy
import re
from email.message import Message
from email.utils import getaddresses

from mailtriage.inbound.message import Address

MAX_PARTS = 200
# A forward's marker sits near the top of what staff wrote; reading further only gives an
# attacker more text to make us scan.
MAX_SCANNED_CHARS = 100_000

# Horizontal white space only, possessive: `\s` would also match line ends, so on a body of
# blank lines every line start would scan all the lines after it (quadratic: 35 s for
# 120 kB). With `[ \t\xa0]*+` each position is looked at a bounded number of times.
_INLINE_MARKER = re.compile(
    r"^[ \t\xa0]*+(?:-{2,}+[ \t\xa0]*+(?:forwarded message|doorgestuurd bericht|original message|"
    r"oorspronkelijk bericht|oorspronkelijke bericht)[ \t\xa0]*+-{2,}+|begin forwarded message:|"
    r"begin doorgestuurd bericht:)[ \t\xa0]*+$",
    re.IGNORECASE | re.MULTILINE,
)
_FROM_LINE = re.compile(
    r"^[ \t\xa0]*+\*?(?:from|van)\*?[ \t\xa0]*+:[ \t\xa0]*+([^\n]{1,300})$",
    re.IGNORECASE | re.MULTILINE,
)


def forwarded_sender(raw: bytes, text: str) -> Address | None:
    """The sender of the first forwarded mail in `raw` (attached) or `text` (inline)."""
    return _attached_sender(raw) or _inline_sender(text)


def _attached_sender(raw: bytes) -> Address | None:
    try:
        message = email.message_from_bytes(raw, policy=email.policy.compat32)
    except Exception:  # a mail this broken was parsed elsewhere; here we only look
        return None
    for count, part in enumerate(message.walk()):
        if count > MAX_PARTS:
            return None
        if part.get_content_type() not in ("message/rfc822", "message/global"):
            continue
        payload = part.get_payload()
        inner = payload[0] if isinstance(payload, list) and payload else None
        if isinstance(inner, Message):
            return _address(str(inner.get("From", "")))
    return None


def _inline_sender(text: str) -> Address | None:
    text = text[:MAX_SCANNED_CHARS]
    marker = _INLINE_MARKER.search(text)
    if marker is None:
        return None
    found = _FROM_LINE.search(text, marker.end())
    return _address(found.group(1)) if found else None


def _address(value: str) -> Address | None:
    for name, address in getaddresses([value]):
        address = address.strip().lower()
        if address.count("@") == 1 and " " not in address and len(address) <= 320:
            return Address(name=name.strip()[:200], address=address)
    return None
