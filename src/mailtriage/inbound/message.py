"""The only module that imports mail-parser: raw bytes in, a frozen `InboundMail` out.

mail-parser resolves most attributes through `__getattr__` and raises on some malformed
mail; keeping it behind this one seam means the rest of the code works with plain typed
values, and a parser surprise is caught in one place.

What comes in is whatever reached a public security@ address: mbox "From " lines, BOMs,
bare-CR line endings, unknown charsets, broken boundaries, traversal filenames, megabyte
lines. `parse_message` therefore never raises anything but `ParseError` (the pipeline
quarantines on it), bounds every string it returns, and never logs message content.

Division of labour: mail-parser builds the MIME tree (the stdlib `email` package when
mail-parser itself fails) and supplies what it does carefully — mailbox parsing with
recovery, the Date header, defect categories. Headers, bodies and attachments are read from
the tree here, because this project needs things mail-parser does not give: the body of the
message itself rather than of forwarded mails inside it, byte-exact text (no escape
processing, so `C:\\new\\x41` stays what the reporter typed), a size and hash for every part
including forwarded messages, and filenames fit to show and store.

That reading lives in the `mailtriage.inbound.mime` package; this module keeps the public types,
the use of mail-parser and the order of the steps.
"""

from __future__ import annotations

import datetime as dt
import email.policy
import logging
import re
from dataclasses import dataclass
from email.message import Message
from email.parser import BytesParser

import mailparser

from mailtriage.inbound.mime.charsets import ESCAPED_BYTE, clean_header_name, header_text
from mailtriage.inbound.mime.content_headers import charset_hint, content_type_of
from mailtriage.inbound.mime.filenames import sanitise_filename
from mailtriage.inbound.mime.header_fields import (
    date_from_header,
    message_ids,
    return_path_address,
    split_address_list,
    usable_addresses,
)
from mailtriage.inbound.mime.large import set_aside_long_runs
from mailtriage.inbound.mime.limits import (
    INDICATOR_SCAN_CHARS,
    MAX_HEADER_CHARS,
    MAX_HEADERS,
    MAX_SUBJECT_CHARS,
    MAX_TEXT_CHARS,
)
from mailtriage.inbound.mime.parts import PartWalk, add_defect
from mailtriage.inbound.openpgp import PgpFacts
from mailtriage.inbound.textscan import Indicators, Language, detect_language, extract_indicators

__all__ = [
    "Address",
    "AttachmentInfo",
    "InboundMail",
    "Indicators",
    "Language",
    "ParseError",
    "parse_message",
    "sanitise_filename",
]


class _DropAll(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return False


def _silence_mailparser() -> None:
    """mail-parser logs at WARNING for ordinary mail ("Email content 'mixed' not handled") and
    at ERROR with raw header values in the text; no message content may reach our logs.

    A level alone is not enough: whoever configures logging later may lower it again. A
    filter on each of its module loggers (where the records are made) stays in place.
    """
    logging.getLogger("mailparser").setLevel(logging.CRITICAL)
    for name in list(logging.root.manager.loggerDict):
        if name == "mailparser" or name.startswith("mailparser."):
            logger = logging.getLogger(name)
            if not any(isinstance(f, _DropAll) for f in logger.filters):
                logger.addFilter(_DropAll())


_silence_mailparser()


@dataclass(frozen=True)
class Address:
    name: str
    address: str  # as written, lower-cased; "" when the header held no usable address


@dataclass(frozen=True)
class AttachmentInfo:
    filename: str  # sanitised: no path, no control characters, bounded length
    content_type: str
    size: int
    sha256: str


@dataclass(frozen=True)
class InboundMail:
    sender: Address | None  # From; None when missing or unparseable
    reply_to: tuple[Address, ...]
    return_path: str | None  # envelope sender as delivered; "" for the null sender <>
    to: tuple[Address, ...]
    cc: tuple[Address, ...]
    subject: str  # decoded, single line
    date: dt.datetime | None  # the Date header, time-zone aware (UTC)
    message_id: str | None  # without angle brackets
    in_reply_to: tuple[str, ...]  # message ids without angle brackets
    references: tuple[str, ...]
    content_type: str  # of the top-level part, e.g. "multipart/report"
    text: str  # the text body; HTML turned into text when there is no text part
    attachments: tuple[AttachmentInfo, ...]
    forwards_message: bool  # carries a message/rfc822 part (a forwarded mail)
    headers: tuple[tuple[str, str], ...]  # (lower-cased name, decoded value), in order
    defects: tuple[str, ...]
    language: Language
    indicators: Indicators
    pgp: PgpFacts | None = None  # set by pgpinbound when OpenPGP was involved

    def header(self, name: str) -> tuple[str, ...]:
        """Every value of the named header, in order (case-insensitive name)."""
        wanted = name.lower()
        return tuple(value for key, value in self.headers if key == wanted)

    def first_header(self, name: str) -> str | None:
        values = self.header(name)
        return values[0] if values else None


class ParseError(Exception):
    """The message could not be turned into an InboundMail; it goes to quarantine."""


def parse_message(raw: bytes) -> InboundMail:
    """Parse one RFC 5322 message. Raises ParseError, never anything else."""
    if not isinstance(raw, bytes | bytearray | memoryview):
        raise ParseError("not bytes")
    try:
        return _parse(bytes(raw))
    except ParseError:
        raise
    except Exception as exc:  # the contract: one exception type, so the caller can quarantine
        raise ParseError(f"unparseable message: {type(exc).__name__}") from exc


# --------------------------------------------------------------------------- the parse


def _parse(raw: bytes) -> InboundMail:
    start = _content_start(raw)
    if start is None:
        raise ParseError("empty message")
    data, elided = set_aside_long_runs(raw, start)

    defects: list[str] = []
    parser, root = _build_tree(data, defects)
    del data

    hint = charset_hint(root)
    first: dict[str, str] = {}
    every: dict[str, list[str]] = {"in-reply-to": [], "references": []}
    headers: list[tuple[str, str]] = []
    for count, (name, value) in enumerate(root.raw_items()):
        key = clean_header_name(name)
        if isinstance(value, str):
            first.setdefault(key, value)
            if key in every:
                every[key].append(value)
        if count < MAX_HEADERS:
            headers.append((key, header_text(value, MAX_HEADER_CHARS, hint)))
        elif count == MAX_HEADERS:
            defects.append("too-many-headers")

    walk = PartWalk(elided=elided, hint=hint)
    walk.run(root)
    for defect in walk.defects:
        add_defect(defects, defect)
    if parser is not None:
        for category in sorted(parser.defects_categories):
            add_defect(defects, str(category))

    text = walk.body_text()
    if not text.strip() and walk.forwarded:
        # A forward with nothing of its own: the forwarded mail is what there is to read.
        inner = PartWalk(elided=elided, hint=hint, bodies_only=True)
        inner.run(walk.forwarded[0])
        text = inner.body_text()
    if len(text) > MAX_TEXT_CHARS:
        text = text[:MAX_TEXT_CHARS]
        add_defect(defects, "text-truncated")

    subject = header_text(first.get("subject"), MAX_SUBJECT_CHARS, hint)
    senders = _addresses(parser, first, "from", hint)
    own_ids = message_ids([first["message-id"]]) if "message-id" in first else ()
    scanned = f"{subject}\n{text}"
    return InboundMail(
        sender=senders[0] if senders else None,
        reply_to=_addresses(parser, first, "reply-to", hint),
        return_path=return_path_address(first.get("return-path")),
        to=_addresses(parser, first, "to", hint),
        cc=_addresses(parser, first, "cc", hint),
        subject=subject,
        date=_date(parser, first.get("date")),
        message_id=own_ids[0] if own_ids else None,
        in_reply_to=message_ids(every["in-reply-to"]),
        references=message_ids(every["references"]),
        content_type=content_type_of(root),
        text=text,
        attachments=tuple(
            AttachmentInfo(a.filename, a.content_type, a.size, a.sha256) for a in walk.attachments
        ),
        forwards_message=walk.saw_forward,
        headers=tuple(headers),
        defects=tuple(defects),
        language=detect_language(scanned),
        indicators=extract_indicators(scanned[:INDICATOR_SCAN_CHARS]),
    )


_LEADING_SPACE = re.compile(rb"[ \t\r\n\x0b\x0c]*+")
_HEADER_START = re.compile(rb"[!-9;-~]{1,200}+:|From ")


def _content_start(raw: bytes) -> int | None:
    """Offset of the message proper, or None when there is nothing but white space."""
    pos = 3 if raw.startswith(b"\xef\xbb\xbf") else 0
    blank = _LEADING_SPACE.match(raw, pos)
    end = blank.end() if blank else pos
    if end == len(raw):
        return None
    if end > pos and _HEADER_START.match(raw, end):
        # Blank lines before the first header would end the header block before it began.
        line_start = max(raw.rfind(b"\n", pos, end), raw.rfind(b"\r", pos, end)) + 1
        return max(line_start, pos)
    return pos


def _build_tree(data: bytes, defects: list[str]) -> tuple[mailparser.MailParser | None, Message]:
    try:
        parser = mailparser.parse_from_bytes(data)
    except Exception as exc:
        defects.append(f"mailparser-failed: {type(exc).__name__}")
    else:
        if isinstance(parser.message, Message):
            return parser, parser.message
        defects.append("mailparser-failed: no message")
    for policy in (email.policy.compat32, email.policy.default):
        try:
            return None, BytesParser(policy=policy).parsebytes(data)
        except Exception as exc:
            defects.append(f"email-parser-failed: {type(exc).__name__}")
    try:
        # Structure beyond repair (nesting past the recursion limit, say): keep the headers
        # and hand the body on as one opaque text.
        root = BytesParser(policy=email.policy.compat32).parsebytes(data, headersonly=True)
    except Exception as exc:
        raise ParseError(f"unparseable message: {type(exc).__name__}") from exc
    defects.append("body-not-parsed")
    return None, root


# --------------------------------------------------------------------------- mail-parser's fields

_ADDRESS_ATTRIBUTE = {"from": "from_", "to": "to", "cc": "cc", "reply-to": "reply_to"}


def _addresses(
    parser: mailparser.MailParser | None, first: dict[str, str], header: str, hint: str | None
) -> tuple[Address, ...]:
    raw = first.get(header)
    pairs: list[tuple[str, str]] = []
    if raw is not None and (parser is None or ESCAPED_BYTE.search(raw)):
        # Without mail-parser, or with raw 8-bit bytes (which it renders as "\\udcfc" in
        # names): decode the bytes first, then let the stdlib split the list.
        pairs = split_address_list(raw, hint)
    elif parser is not None:
        try:
            found = getattr(parser, _ADDRESS_ATTRIBUTE[header])
        except Exception:
            found = None
        if isinstance(found, list):
            pairs = [pair for pair in found if isinstance(pair, tuple) and len(pair) == 2]
    return tuple(Address(name, address) for name, address in usable_addresses(pairs))


def _date(parser: mailparser.MailParser | None, raw: str | None) -> dt.datetime | None:
    if parser is not None:
        try:
            value = parser.date
        except Exception:
            value = None
        if isinstance(value, dt.datetime) and value.tzinfo is not None:
            return value.astimezone(dt.UTC)
    return date_from_header(raw)
