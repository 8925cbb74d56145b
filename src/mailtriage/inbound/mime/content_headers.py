"""What a MIME part says about itself in its Content-* headers, read without raising.

The stdlib accessors raise on malformed parameters, let parameters into the media type when
a ";" is missing, and turn raw 8-bit filename bytes into U+FFFD. Hostile mail has all of
these, and one unreadable header must not cost the rest of the message.
"""

from __future__ import annotations

import re
from email.message import Message

from mailtriage.inbound.mime.charsets import ESCAPED_BYTE, decode_bytes, header_text


def raw_header(part: Message, name: str) -> str | None:
    """The first value of a header as stored; `name` in lower case."""
    for key, value in part.raw_items():
        if key.lower() == name:
            return value if isinstance(value, str) else str(value)
    return None


_MEDIA_TYPE = re.compile(r"\s*([a-z0-9][a-z0-9!#$&^_.+-]{0,126}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126})")


def content_type_of(part: Message) -> str:
    try:
        ctype = part.get_content_type()
    except Exception:
        return "application/octet-stream"
    # A missing ";" lets parameters into the type ("multipart/mixed\r\n\tboundary=…").
    valid = _MEDIA_TYPE.match(ctype)
    ctype = valid.group(1) if valid else part.get_default_type()
    if ctype == part.get_default_type():
        raw = raw_header(part, "content-type")
        main = raw.split(";", 1)[0].strip().lower() if raw else ""
        if main and "/" not in main:
            # "text; charset=…" is text; "application-x-gzip" is not, whatever the default.
            return "text/plain" if main.startswith("text") else "application/octet-stream"
    return ctype


def disposition_of(part: Message) -> str | None:
    try:
        return part.get_content_disposition()
    except Exception:
        return None


def filename_of(part: Message, hint: str | None) -> str | None:
    source = part
    params = [
        (key, value)
        for key, value in part.raw_items()
        if key.lower() in ("content-type", "content-disposition") and isinstance(value, str)
    ]
    if any(ESCAPED_BYTE.search(value) for _, value in params):
        # Raw 8-bit bytes in a filename come back from the stdlib as U+FFFD; decode them
        # first and let it read the parameters from clean text.
        source = Message()
        for key, value in params:
            source[key] = decode_bytes(value.encode("utf-8", "surrogateescape"), hint)
    try:
        name = source.get_filename()
    except Exception:
        return None
    if not name:
        return None
    return header_text(name, 1_000, charset_of(part) or hint) or None


def charset_of(part: Message) -> str | None:
    try:
        return part.get_content_charset()
    except Exception:
        return None


def transfer_encoding_of(part: Message) -> str:
    value = raw_header(part, "content-transfer-encoding")
    if not value:
        return ""
    # "base64;" and " Base64 " are common; the first token is what the sender meant.
    match = re.match(r"\s*([A-Za-z0-9-]+)", value)
    return match.group(1).lower() if match else ""


def charset_hint(root: Message) -> str | None:
    """The charset the body declares, for decoding unlabelled 8-bit bytes in headers."""
    stack = [root]
    for _ in range(50):
        if not stack:
            break
        part = stack.pop()
        payload = part.get_payload() if part.is_multipart() else None
        if isinstance(payload, list):
            stack.extend(reversed([item for item in payload if isinstance(item, Message)]))
            continue
        charset = charset_of(part)
        if charset:
            return charset
    return None
