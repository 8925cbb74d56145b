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
"""

from __future__ import annotations

import binascii
import codecs
import contextlib
import datetime as dt
import email
import email.policy
import email.utils
import hashlib
import logging
import re
import secrets
import unicodedata
from dataclasses import dataclass, field
from email.message import Message
from email.parser import BytesParser

import mailparser

from mailtriage.textscan import (
    Indicators,
    Language,
    detect_language,
    extract_indicators,
    html_to_text,
)

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

    def header(self, name: str) -> tuple[str, ...]:
        """Every value of the named header, in order (case-insensitive name)."""
        wanted = name.lower()
        return tuple(value for key, value in self.headers if key == wanted)

    def first_header(self, name: str) -> str | None:
        values = self.header(name)
        return values[0] if values else None


class ParseError(Exception):
    """The message could not be turned into an InboundMail; it goes to quarantine."""


# Bounds on what one message can make us hold or return.
MAX_TEXT_CHARS = 1_000_000
MAX_SUBJECT_CHARS = 1_000
MAX_HEADER_CHARS = 8_000
MAX_HEADERS = 500
MAX_NAME_CHARS = 200
MAX_FILENAME_CHARS = 200
MAX_IDS = 100
MAX_PARTS = 2_000
MAX_DEPTH = 100
_RAW_HEADER_CHARS = 64_000  # read of a header value before decoding; the rest is noise
_INDICATOR_SCAN_CHARS = 300_000  # what a report points at is near its top

# Messages above this size have their long runs of body lines set aside before parsing: the
# stdlib parser holds every line as its own object and needs ~7x the message size in
# memory (a 25 MB mail peaked at 234 MB), while the runs are only needed for sizes and hashes.
ELIDE_ABOVE_BYTES = 2_000_000
_ELIDE_MIN_RUN = 8_192

_FORWARD_TYPES = frozenset({"message/rfc822", "message/global"})
_BODY_TYPES = frozenset({"text/plain", "text/html"})


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
    elided: dict[bytes, tuple[int, int]] = {}
    if len(raw) - start > ELIDE_ABOVE_BYTES:
        data, elided = _elide_long_runs(raw, start)
    else:
        data = raw[start:] if start else raw

    defects: list[str] = []
    parser, root = _build_tree(data, defects)
    del data

    hint = _charset_hint(root)
    first: dict[str, str] = {}
    every: dict[str, list[str]] = {"in-reply-to": [], "references": []}
    headers: list[tuple[str, str]] = []
    for count, (name, value) in enumerate(root.raw_items()):
        key = _clean_header_name(name)
        if isinstance(value, str):
            first.setdefault(key, value)
            if key in every:
                every[key].append(value)
        if count < MAX_HEADERS:
            headers.append((key, _header_text(value, MAX_HEADER_CHARS, hint)))
        elif count == MAX_HEADERS:
            defects.append("too-many-headers")

    walk = _Walk(raw=raw, elided=elided, hint=hint)
    walk.run(root)
    for defect in walk.defects:
        _add(defects, defect)
    if parser is not None:
        for category in sorted(parser.defects_categories):
            _add(defects, str(category))

    text = walk.body_text()
    if not text.strip() and walk.forwarded:
        # A forward with nothing of its own: the forwarded mail is what there is to read.
        inner = _Walk(raw=raw, elided=elided, hint=hint, bodies_only=True)
        inner.run(walk.forwarded[0])
        text = inner.body_text()
    if len(text) > MAX_TEXT_CHARS:
        text = text[:MAX_TEXT_CHARS]
        _add(defects, "text-truncated")

    subject = _header_text(first.get("subject"), MAX_SUBJECT_CHARS, hint)
    senders = _addresses(parser, first, "from", hint)
    message_ids = _message_ids([first["message-id"]]) if "message-id" in first else ()
    scanned = f"{subject}\n{text}"
    return InboundMail(
        sender=senders[0] if senders else None,
        reply_to=_addresses(parser, first, "reply-to", hint),
        return_path=_return_path(first.get("return-path")),
        to=_addresses(parser, first, "to", hint),
        cc=_addresses(parser, first, "cc", hint),
        subject=subject,
        date=_date(parser, first.get("date")),
        message_id=message_ids[0] if message_ids else None,
        in_reply_to=_message_ids(every["in-reply-to"]),
        references=_message_ids(every["references"]),
        content_type=_content_type(root),
        text=text,
        attachments=tuple(walk.attachments),
        forwards_message=walk.saw_forward,
        headers=tuple(headers),
        defects=tuple(defects),
        language=detect_language(scanned),
        indicators=extract_indicators(scanned[:_INDICATOR_SCAN_CHARS]),
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


# A body line that cannot be MIME structure: not blank, not a boundary delimiter ("--…"),
# not a header or a header continuation. Base64 and most text lines qualify.
_BODY_LINE_RUN = re.compile(rb"(?m)^(?:(?![-\s])(?![!-9;-~]++:)[^\r\n]++(?:\r?\n|\Z))++")


def _elide_long_runs(raw: bytes, start: int) -> tuple[bytes, dict[bytes, tuple[int, int]]]:
    """A copy of the message with every long run of body lines replaced by a marker line.

    The runs hold no boundary delimiter, header or blank line, so taking them out leaves the
    MIME structure intact; `_Walk` puts the original bytes back part by part. The marker
    carries a random token so text in the mail cannot pose as one.
    """
    token = secrets.token_hex(8).encode()
    pieces: list[bytes] = []
    runs: dict[bytes, tuple[int, int]] = {}
    last = start
    for match in _BODY_LINE_RUN.finditer(raw, start):
        begin, end = match.span()
        if end - begin < _ELIDE_MIN_RUN:
            continue
        # The last line break stays: before a delimiter it belongs to the delimiter.
        end -= 2 if raw.endswith(b"\r\n", begin, end) else raw.endswith(b"\n", begin, end)
        marker = b"MTELIDED" + token + b"%06dXX" % len(runs)
        pieces.append(raw[last:begin])
        pieces.append(marker)
        runs[marker] = (begin, end)
        last = end
    pieces.append(raw[last:])
    return b"".join(pieces), runs


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


# --------------------------------------------------------------------------- walking parts


@dataclass
class _Walk:
    """One pass over the MIME tree: body texts, attachments and defects."""

    raw: bytes
    elided: dict[bytes, tuple[int, int]]
    hint: str | None = None
    bodies_only: bool = False
    plain: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)
    named_plain: list[str] = field(default_factory=list)  # inline text/plain with a name
    attachments: list[AttachmentInfo] = field(default_factory=list)
    forwarded: list[Message] = field(default_factory=list)
    defects: list[str] = field(default_factory=list)
    saw_forward: bool = False
    _text_chars: int = 0

    def run(self, root: Message) -> None:
        stack: list[tuple[Message, int]] = [(root, 0)]
        seen = 0
        while stack:
            part, depth = stack.pop()
            seen += 1
            if seen > MAX_PARTS:
                _add(self.defects, "too-many-parts")
                return
            for defect in getattr(part, "defects", ()):
                _add(self.defects, type(defect).__name__)
            ctype = _content_type(part)
            if part.is_multipart():
                if ctype.startswith("message/"):
                    self._message_part(part, ctype)
                    continue
                if depth >= MAX_DEPTH:
                    _add(self.defects, "nesting-too-deep")
                    continue
                children = part.get_payload()
                if isinstance(children, list):
                    stack.extend(
                        (child, depth + 1)
                        for child in reversed(children)
                        if isinstance(child, Message)
                    )
                continue
            try:
                self._leaf(part, ctype)
            except Exception as exc:
                _add(self.defects, f"part-unreadable: {type(exc).__name__}")

    def body_text(self) -> str:
        bodies = [text for text in self.plain if text.strip()]
        if not bodies:
            bodies = [converted for html in self.html if (converted := html_to_text(html))]
        if not bodies:
            # Some programs name the one text part of a message; it is still the message.
            bodies = [text for text in self.named_plain if text.strip()]
        return "\n\n".join(bodies).strip("\n")

    def _leaf(self, part: Message, ctype: str) -> None:
        filename = _filename(part, self.hint)
        disposition = _disposition(part)
        if ctype.startswith("message/"):
            self._message_part(part, ctype)
            return
        # A multipart without a usable boundary arrives here as one opaque string: the text
        # in it is still the best reading of what was sent.
        is_body = (ctype in _BODY_TYPES or ctype.startswith("multipart/")) and (
            not filename and disposition != "attachment"
        )
        if is_body:
            if self._text_chars > MAX_TEXT_CHARS:
                return
            data = self._payload(part)
            text = _body_text(data, _charset(part))
            self._text_chars += len(text)
            if ctype == "text/html":
                self.html.append(text)
            else:
                text = self._lift_uuencoded(text)
                self.plain.append(text)
            return
        named_text = ctype == "text/plain" and disposition != "attachment"
        if self.bodies_only and not named_text:
            return
        data = self._payload(part)
        if named_text and not self.named_plain:
            self.named_plain.append(_body_text(data, _charset(part)))
        if not self.bodies_only:
            self._attach(filename, ctype, data)

    def _message_part(self, part: Message, ctype: str) -> None:
        payload = part.get_payload()
        if ctype in _FORWARD_TYPES:
            self.saw_forward = True
            if isinstance(payload, list) and payload and isinstance(payload[0], Message):
                self.forwarded.append(payload[0])
        if self.bodies_only:
            return
        if isinstance(payload, list):
            data = b"".join(
                self._resolve(_flatten(item)) for item in payload if isinstance(item, Message)
            )
        else:
            data = self._payload(part)
        if ctype in _FORWARD_TYPES:
            number = sum(1 for a in self.attachments if a.filename.startswith("forwarded-")) + 1
            self._attach(f"forwarded-{number}.eml", ctype, data, sanitise=False)
        else:
            self._attach(_filename(part, self.hint), ctype, data)

    def _attach(self, name: str | None, ctype: str, data: bytes, *, sanitise: bool = True) -> None:
        if len(self.attachments) >= MAX_PARTS:
            return
        index = len(self.attachments) + 1
        filename = sanitise_filename(name, index, ctype) if sanitise else (name or "")
        self.attachments.append(
            AttachmentInfo(
                filename=filename,
                content_type=ctype,
                size=len(data),
                sha256=hashlib.sha256(data).hexdigest(),
            )
        )

    def _payload(self, part: Message) -> bytes:
        """The part's body with its transfer encoding undone, elided runs put back."""
        return _decode_transfer(self._resolve(_wire_bytes(part)), _transfer_encoding(part))

    def _resolve(self, data: bytes) -> bytes:
        if not self.elided or b"MTELIDED" not in data:
            return data
        return _ELIDED_MARKER.sub(self._original_run, data)

    def _original_run(self, match: re.Match[bytes]) -> bytes:
        span = self.elided.get(match.group())
        return self.raw[span[0] : span[1]] if span else match.group()

    def _lift_uuencoded(self, text: str) -> str:
        """Files uuencoded into a plain body become attachments; the text keeps a note."""
        if "begin " not in text:
            return text
        pieces: list[str] = []
        last = 0
        for match in _UU_BEGIN.finditer(text):
            end = text.find("\nend", match.end() - 1)
            if end < 0 or len(self.attachments) >= MAX_PARTS:
                break
            name = match.group(1).strip()
            if not self.bodies_only:
                self._attach(name, _guess_type(name), _uudecode(text[match.end() : end + 1]))
            pieces.append(text[last : match.start()])
            pieces.append(f"[uuencoded file: {sanitise_filename(name, 0, '')}]")
            last = end + 4
        pieces.append(text[last:])
        return "".join(pieces)


_ELIDED_MARKER = re.compile(rb"MTELIDED[0-9a-f]{16}\d{6}XX")
_UU_BEGIN = re.compile(r"(?m)^begin [0-7]{3,4} ([^\n]{1,255})\n")


def _uudecode(block: str) -> bytes:
    out = bytearray()
    for line in block.split("\n"):
        if not line or line == "`":
            continue
        try:
            out += binascii.a2b_uu(line)
        except (binascii.Error, ValueError):
            # Some encoders pad lines past their length byte; read just what it announces.
            try:
                out += binascii.a2b_uu(line[: (((ord(line[0]) - 32) & 63) * 4 + 5) // 3])
            except (binascii.Error, ValueError):
                continue
    return bytes(out)


def _wire_bytes(part: Message) -> bytes:
    payload = _stored_payload(part)
    if isinstance(payload, list):
        return b"".join(_flatten(item) for item in payload if isinstance(item, Message))
    if isinstance(payload, bytes):
        return payload
    if not isinstance(payload, str):
        return b""
    # The stdlib parser carries 8-bit bytes as surrogate escapes: this gives them back exactly.
    return payload.encode("utf-8", "surrogateescape")


def _stored_payload(part: Message) -> object:
    """The payload as parsed. `get_payload()` would replace 8-bit bytes by U+FFFD, losing them
    from a raw-UTF-8 "binary" or "8bit" body; mail-parser reads `_payload` for the same reason."""
    payload = getattr(part, "_payload", None)
    return payload if payload is not None else part.get_payload()


_BASE64_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_NOT_BASE64 = bytes(sorted(set(range(256)) - set(_BASE64_ALPHABET)))


def _decode_transfer(data: bytes, encoding: str) -> bytes:
    if encoding == "base64":
        try:
            return binascii.a2b_base64(data)
        except binascii.Error:
            # Bad padding or stray characters: decode the base64 characters that are there.
            cleaned = data.translate(None, _NOT_BASE64)
            cleaned = cleaned[: len(cleaned) - len(cleaned) % 4]
            try:
                return binascii.a2b_base64(cleaned)
            except binascii.Error:
                return data
    if encoding == "quoted-printable":
        return binascii.a2b_qp(data)
    if encoding in ("x-uuencode", "uuencode", "x-uue", "uue"):
        text = data.decode("latin-1").replace("\r\n", "\n").replace("\r", "\n")
        begin = _UU_BEGIN.search(text)
        if begin:
            text = text[begin.end() :]
        end = text.find("\nend")
        return _uudecode(text[: end + 1] if end >= 0 else text)
    return data


def _transfer_encoding(part: Message) -> str:
    value = _raw_header(part, "content-transfer-encoding")
    if not value:
        return ""
    # "base64;" and " Base64 " are common; the first token is what the sender meant.
    match = re.match(r"\s*([A-Za-z0-9-]+)", value)
    return match.group(1).lower() if match else ""


def _flatten(message: Message, depth: int = 0) -> bytes:
    """A parsed (sub)message written back from its stored headers and payloads.

    Close to the bytes received — header values keep their folding, bodies their encoding —
    and, unlike the stdlib generator, it cannot fail on a charset or re-fold anything.
    """
    lines = [
        f"{name}: {value}\r\n" for name, value in message.raw_items() if isinstance(value, str)
    ]
    out = ["".join(lines).encode("utf-8", "surrogateescape"), b"\r\n"]
    payload = _stored_payload(message)
    if isinstance(payload, str):
        out.append(payload.encode("utf-8", "surrogateescape"))
    elif isinstance(payload, bytes):
        out.append(payload)
    elif isinstance(payload, list) and depth < MAX_DEPTH:
        children = [item for item in payload if isinstance(item, Message)]
        boundary = _boundary(message)
        if boundary is None:
            out.extend(_flatten(child, depth + 1) for child in children)
        else:
            delimiter = b"--" + boundary
            if isinstance(message.preamble, str):
                out.append(message.preamble.encode("utf-8", "surrogateescape") + b"\r\n")
            for child in children:
                out += [delimiter, b"\r\n", _flatten(child, depth + 1), b"\r\n"]
            out += [delimiter, b"--\r\n"]
            if isinstance(message.epilogue, str):
                out.append(message.epilogue.encode("utf-8", "surrogateescape"))
    return b"".join(out)


def _boundary(message: Message) -> bytes | None:
    try:
        boundary = message.get_boundary()
    except Exception:
        return None
    return boundary.encode("utf-8", "surrogateescape") if boundary else None


def _raw_header(part: Message, name: str) -> str | None:
    for key, value in part.raw_items():
        if key.lower() == name:
            return value if isinstance(value, str) else str(value)
    return None


_MEDIA_TYPE = re.compile(r"\s*([a-z0-9][a-z0-9!#$&^_.+-]{0,126}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126})")


def _content_type(part: Message) -> str:
    try:
        ctype = part.get_content_type()
    except Exception:
        return "application/octet-stream"
    # A missing ";" lets parameters into the type ("multipart/mixed\r\n\tboundary=…").
    valid = _MEDIA_TYPE.match(ctype)
    ctype = valid.group(1) if valid else part.get_default_type()
    if ctype == part.get_default_type():
        raw = _raw_header(part, "content-type")
        main = raw.split(";", 1)[0].strip().lower() if raw else ""
        if main and "/" not in main:
            # "text; charset=…" is text; "application-x-gzip" is not, whatever the default.
            return "text/plain" if main.startswith("text") else "application/octet-stream"
    return ctype


def _disposition(part: Message) -> str | None:
    try:
        return part.get_content_disposition()
    except Exception:
        return None


def _filename(part: Message, hint: str | None) -> str | None:
    source = part
    params = [
        (key, value)
        for key, value in part.raw_items()
        if key.lower() in ("content-type", "content-disposition") and isinstance(value, str)
    ]
    if any(_ESCAPED_BYTE.search(value) for _, value in params):
        # Raw 8-bit bytes in a filename come back from the stdlib as U+FFFD; decode them
        # first and let it read the parameters from clean text.
        source = Message()
        for key, value in params:
            source[key] = _decode_bytes(value.encode("utf-8", "surrogateescape"), hint)
    try:
        name = source.get_filename()
    except Exception:
        return None
    if not name:
        return None
    return _header_text(name, 1_000, _charset(part) or hint) or None


def _charset(part: Message) -> str | None:
    try:
        return part.get_content_charset()
    except Exception:
        return None


# --------------------------------------------------------------------------- text decoding

# Labels that say "some Western single-byte charset": in practice often UTF-8 mislabelled.
_LATIN_LIKE = frozenset({"ascii", "iso8859_1", "cp1252", "iso8859_15"})
_CHARSET_ALIASES = {
    "x-mac-cyrillic": "mac_cyrillic",
    "unicode-1-1-utf-7": "utf-7",
    "iso-8859-8-i": "iso-8859-8",
    "iso-8859-6-i": "iso-8859-6",
    "x-sjis": "shift_jis",
    "ks_c_5601-1987": "cp949",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "iso-8859-1": "cp1252",
    "latin1": "cp1252",
    "us-ascii": "ascii",
}
# Codecs that would interpret the text rather than decode it: "unicode_escape" turns a
# reporter's C:\new into a newline.
_REFUSED_CODECS = frozenset(
    {"unicode_escape", "raw_unicode_escape", "punycode", "idna", "undefined"}
)


def _codec(charset: str | None) -> str | None:
    if not charset:
        return None
    name = charset.strip().strip("\"'").lower()
    name = _CHARSET_ALIASES.get(name, name)
    for candidate in (name, name[2:] if name.startswith("x-") else ""):
        if not candidate:
            continue
        try:
            info = codecs.lookup(candidate)
        except (LookupError, ValueError):
            continue
        codec = info.name.replace("-", "_")
        if codec in _REFUSED_CODECS or not getattr(info, "_is_text_encoding", True):
            return None
        return codec
    return None


def _decode_bytes(data: bytes, charset: str | None, *, final: bool = True) -> str:
    """Text from bytes in a declared (possibly wrong or unknown) charset; never raises.

    `final=False` says the bytes were cut short: a character split by the cut is dropped
    instead of turning the whole text into a fallback decoding.
    """
    codec = _codec(charset)
    if codec is not None and codec.startswith(("utf_16", "utf_32")):
        return _decode_wide(data, codec)
    latin = codec is None or codec in _LATIN_LIKE
    if data.isascii() and (latin or codec == "utf_8"):
        return data.decode("ascii")
    attempts: list[str] = []
    if not data.isascii():
        # Valid multi-byte UTF-8 is almost never an accident, and "iso-8859-1" or "gb2312"
        # on UTF-8 text is a common mislabel.
        attempts.append("utf-8")
    if codec is not None and not latin and codec != "utf_8":
        attempts.append(codec)
    if latin:
        attempts.append("cp1252")
    for attempt in attempts:
        try:
            return codecs.getincrementaldecoder(attempt)("strict").decode(data, final)
        except (UnicodeError, LookupError, ValueError):
            if attempt == "utf-8" and (mostly := _mostly_utf8(data, final)) is not None:
                return mostly
    fallback = "cp1252" if latin or codec is None else codec
    try:
        return codecs.getincrementaldecoder(fallback)("replace").decode(data, final)
    except (UnicodeError, LookupError, ValueError):
        return data.decode("utf-8", "replace")


def _mostly_utf8(data: bytes, final: bool) -> str | None:
    """UTF-8 with a stray bad byte or two (a truncated name, a pasted Latin-1 character)."""
    text = codecs.getincrementaldecoder("utf-8")("replace").decode(data, final)
    bad = text.count("\ufffd")
    good = sum(1 for ch in text if ch > "\x7f") - bad
    return text if good >= 4 * bad else None


def _decode_wide(data: bytes, codec: str) -> str:
    if codec == "utf_16" and not data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        # No byte-order mark: ASCII-range text has its zero bytes on the odd side in LE.
        odd_zeros = data[1::2].count(0)
        codec = "utf-16-le" if odd_zeros >= data[0::2].count(0) else "utf-16-be"
    try:
        return data.decode(codec, "replace")
    except (UnicodeError, LookupError, ValueError):
        return data.decode("utf-8", "replace")


# C0 and C1 controls except tab and newline, and lone surrogates: they break terminals,
# JSON and databases, and were never meant as text.
_BODY_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


def _body_text(data: bytes, charset: str | None) -> str:
    limit = MAX_TEXT_CHARS * 4
    truncated = len(data) > limit
    text = _decode_bytes(data[:limit] if truncated else data, charset, final=not truncated)
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _BODY_CONTROLS.sub(" ", text)


_HEADER_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]+")
_FOLD = re.compile(r"(?:\r\n|\r|\n)(?=[ \t])")
_ESCAPED_BYTE = re.compile(r"[\udc80-\udcff]")
_ENCODED_WORD = re.compile(r"=\?([^?\s]{1,75}+)\?([bBqQ])\?([^?\s]*+)\?=")


def _header_text(value: object, limit: int, hint: str | None = None) -> str:
    """A header value as one clean line: 8-bit bytes and RFC 2047 words decoded.

    Raw 8-bit bytes in a header carry no charset label; `hint` (the body's charset) is the
    best guess after UTF-8, since the writing program used one charset for both.
    """
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    text = text[:_RAW_HEADER_CHARS]
    if _ESCAPED_BYTE.search(text):
        text = _decode_bytes(text.encode("utf-8", "surrogateescape"), hint)
    elif "\x1b" in text:
        # Raw ISO-2022-JP: 7-bit, but its escape sequences would be blanked as controls.
        with contextlib.suppress(UnicodeError, LookupError):
            text = text.encode("ascii").decode("iso2022_jp_2")
    text = _FOLD.sub("", text)
    if "=?" in text:
        text = _decode_encoded_words(text)
    return _HEADER_CONTROLS.sub(" ", text).strip()[:limit]


def _charset_hint(root: Message) -> str | None:
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
        charset = _charset(part)
        if charset:
            return charset
    return None


def _decode_encoded_words(text: str) -> str:
    out: list[str] = []
    pending = bytearray()
    pending_charset: str | None = None
    last_end = 0
    after_word = False

    def flush() -> None:
        nonlocal pending_charset
        if pending_charset is not None:
            out.append(_decode_bytes(bytes(pending), pending_charset))
            pending.clear()
            pending_charset = None

    for match in _ENCODED_WORD.finditer(text):
        gap = text[last_end : match.start()]
        charset = match.group(1).split("*", 1)[0]
        decoded = _decode_word(match.group(2), match.group(3))
        if decoded is None:
            flush()
            out.append(gap + match.group())
            after_word = False
        else:
            # White space between two encoded words is folding, not content (RFC 2047 §6.2);
            # consecutive words in one charset may split a multi-byte character.
            if not (after_word and gap.strip(" \t\r\n") == ""):
                flush()
                out.append(gap)
            elif charset.lower() != (pending_charset or "").lower():
                flush()
            if pending_charset is None:
                pending_charset = charset
            pending.extend(decoded)
            after_word = True
        last_end = match.end()
    flush()
    out.append(text[last_end:])
    return "".join(out)


def _decode_word(encoding: str, payload: str) -> bytes | None:
    data = payload.encode("utf-8", "surrogateescape")
    try:
        if encoding in ("b", "B"):
            data = data[: len(data) - len(data) % 4] if len(data) % 4 == 1 else data
            return binascii.a2b_base64(data + b"=" * (-len(data) % 4))
        return binascii.a2b_qp(data, header=True)
    except (binascii.Error, ValueError):
        return None


def _clean_header_name(name: str) -> str:
    return _HEADER_CONTROLS.sub(" ", name).strip().lower()[:200]


# --------------------------------------------------------------------------- header fields

_ADDRESS_ATTRIBUTE = {"from": "from_", "to": "to", "cc": "cc", "reply-to": "reply_to"}
_BAD_ADDRESS_CHAR = re.compile(r"[\s<>()\[\],;\\\"\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def _addresses(
    parser: mailparser.MailParser | None, first: dict[str, str], header: str, hint: str | None
) -> tuple[Address, ...]:
    raw = first.get(header)
    pairs: list[tuple[str, str]] = []
    if raw is not None and (parser is None or _ESCAPED_BYTE.search(raw)):
        # Without mail-parser, or with raw 8-bit bytes (which it renders as "\\udcfc" in
        # names): decode the bytes first, then let the stdlib split the list.
        text = _FOLD.sub("", raw[:_RAW_HEADER_CHARS])
        if _ESCAPED_BYTE.search(text):
            text = _decode_bytes(text.encode("utf-8", "surrogateescape"), hint)
        try:
            pairs = email.utils.getaddresses([text])
        except Exception:
            pairs = []
    elif parser is not None:
        try:
            found = getattr(parser, _ADDRESS_ATTRIBUTE[header])
        except Exception:
            found = None
        if isinstance(found, list):
            pairs = [pair for pair in found if isinstance(pair, tuple) and len(pair) == 2]
    result: list[Address] = []
    for name, address in pairs[:MAX_PARTS]:
        made = _address(str(name), str(address))
        if made is not None and made not in result:
            result.append(made)
    return tuple(result)


def _address(name: str, address: str) -> Address | None:
    address = address.strip().lower()
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain or len(address) > 320:
        return None
    if _BAD_ADDRESS_CHAR.search(domain) or _BAD_ADDRESS_CHAR.search(local.strip('"')):
        return None
    display = _header_text(name, MAX_NAME_CHARS)
    if display.lower() == address:
        display = ""
    return Address(name=display, address=address)


def _return_path(value: str | None) -> str | None:
    if value is None:
        return None
    text = _header_text(value, 1_000)
    match = re.search(r"<([^<>]*)>", text)
    inner = match.group(1) if match else text
    return inner.strip().lower()[:320]


_MESSAGE_ID = re.compile(r"<([^<>\s]{1,998})>")
_BARE_ID = re.compile(r"[^<>\s]{1,998}@[^<>\s]{1,998}")


def _message_ids(values: list[str]) -> tuple[str, ...]:
    ids: list[str] = []
    for value in values:
        text = _header_text(value, _RAW_HEADER_CHARS)
        found = _MESSAGE_ID.findall(text) or _BARE_ID.findall(text)
        for item in found:
            if item not in ids:
                ids.append(item)
    if len(ids) > MAX_IDS:
        # Threading needs the root and the most recent parents; the middle can go.
        ids = [ids[0], *ids[-(MAX_IDS - 1) :]]
    return tuple(ids)


def _date(parser: mailparser.MailParser | None, raw: str | None) -> dt.datetime | None:
    if parser is not None:
        try:
            value = parser.date
        except Exception:
            value = None
        if isinstance(value, dt.datetime) and value.tzinfo is not None:
            return value.astimezone(dt.UTC)
    if not raw:
        return None
    try:
        value = email.utils.parsedate_to_datetime(_header_text(raw, 200))
    except Exception:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)  # RFC 5322 "-0000": UTC, origin unknown
    try:
        return value.astimezone(dt.UTC)
    except (OverflowError, ValueError):
        return None


def _add(items: list[str], item: str) -> None:
    if item not in items:
        items.append(item)


# --------------------------------------------------------------------------- filenames

_WINDOWS_RESERVED = re.compile(r'[<>:"|?*]')
_WINDOWS_DEVICES = frozenset(
    ["CON", "PRN", "AUX", "NUL"] + [f"COM{i}" for i in range(10)] + [f"LPT{i}" for i in range(10)]
)
_EXTENSIONS = {
    "text/plain": ".txt",
    "text/html": ".html",
    "text/csv": ".csv",
    "text/calendar": ".ics",
    "text/xml": ".xml",
    "text/rfc822-headers": ".txt",
    "text/enriched": ".txt",
    "text/x-vcard": ".vcf",
    "text/vcard": ".vcf",
    "message/rfc822": ".eml",
    "message/global": ".eml",
    "message/partial": ".eml",
    "message/delivery-status": ".txt",
    "message/global-delivery-status": ".txt",
    "message/disposition-notification": ".txt",
    "message/feedback-report": ".txt",
    "message/external-body": ".txt",
    "application/pdf": ".pdf",
    "application/zip": ".zip",
    "application/gzip": ".gz",
    "application/x-gzip": ".gz",
    "application/x-tar": ".tar",
    "application/x-7z-compressed": ".7z",
    "application/x-rar-compressed": ".rar",
    "application/json": ".json",
    "application/xml": ".xml",
    "application/pgp-encrypted": ".pgp",
    "application/pgp-signature": ".sig",
    "application/pgp-keys": ".asc",
    "application/pkcs7-signature": ".p7s",
    "application/x-pkcs7-signature": ".p7s",
    "application/pkcs7-mime": ".p7m",
    "application/x-pkcs7-mime": ".p7m",
    "application/ms-tnef": ".dat",
    "application/vnd.ms-tnef": ".dat",
    "application/msword": ".doc",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
    "application/vnd.oasis.opendocument.text": ".odt",
    "application/x-msdownload": ".exe",
    "application/x-sh": ".sh",
    "application/javascript": ".js",
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/gif": ".gif",
    "image/webp": ".webp",
    "image/svg+xml": ".svg",
    "image/bmp": ".bmp",
    "audio/basic": ".au",
    "video/mp4": ".mp4",
}
_TYPES_BY_EXTENSION = {ext: ctype for ctype, ext in reversed(_EXTENSIONS.items())}


def _guess_type(filename: str) -> str:
    _, dot, ext = filename.lower().rpartition(".")
    known = _TYPES_BY_EXTENSION.get(f".{ext}") if dot else None
    return known or "application/octet-stream"


def sanitise_filename(name: str | None, index: int, content_type: str) -> str:
    """A name safe to show and to store: a basename, printable, NFC, at most 200 characters.

    Sender-chosen names arrive with paths ("../../etc/passwd", "C:\\evil\\x.exe"), control
    and bidi-override characters, or nothing usable at all; the last fall back to
    "attachment-N" with an extension that fits the content type.
    """
    cleaned = ""
    if name:
        text = unicodedata.normalize("NFC", name.replace("\\", "/"))
        segments = [segment for segment in text.split("/") if segment.strip(" .")]
        text = segments[-1] if segments else ""
        # Categories C*: controls, format characters such as U+202E RIGHT-TO-LEFT OVERRIDE
        # (which makes "exe.pdf" of "fdp.exe"), surrogates and unassigned code points.
        text = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C")
        text = " ".join(_WINDOWS_RESERVED.sub("_", text).split()).strip(" .")
        if text.split(".", 1)[0].upper() in _WINDOWS_DEVICES:
            text = f"_{text}"
        cleaned = _shorten_filename(text, MAX_FILENAME_CHARS)
    if cleaned:
        return cleaned
    return f"attachment-{index}{_EXTENSIONS.get(content_type, '.bin')}"


def _shorten_filename(name: str, limit: int) -> str:
    if len(name) <= limit:
        return name
    stem, dot, ext = name.rpartition(".")
    if dot and stem and 0 < len(ext) <= 16:
        return f"{stem[: limit - len(ext) - 1].rstrip(' .')}.{ext}"
    return name[:limit].rstrip(" .")
