"""Message bytes for everything mailtriage sends: safe headers, a quoted-printable body.

Much of what goes into a reply came from a stranger's mail: the subject, a display name,
message ids. `compose` strips control characters, caps lengths, validates ids and addresses,
and folds the free-text headers itself. It has to: the stdlib decodes RFC 2047 encoded words
when a header is set from a string, so a subject such as `=?utf-8?q?x=0D=0ABcc:_a@example.test?=`
becomes a real CR LF and a `Bcc:` header on output (CPython 3.11). The message is therefore
written out here: our folded headers, fixed MIME headers, and a quoted-printable body encoded
by `binascii`; its header block is parsed back with the stdlib and checked before the message
is returned.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import email.policy
import email.utils
import re
import secrets
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.parser import BytesParser
from types import MappingProxyType

__all__ = [
    "ComposeError",
    "OutgoingFile",
    "clean_header_text",
    "compose",
    "make_message_id",
    "normalize_message_id",
    "subject_with_tag",
]

MAX_ORIGINAL_SUBJECT = 250  # a reporter's subject, before our tag goes in front
MAX_SUBJECT = 400  # the final subject; long enough for tag + "Re: " + a bilingual pair
MAX_DISPLAY_NAME = 100
MAX_EXTRA_VALUE = 400
MAX_REFERENCES = 20  # the root and the most recent parents are what threading needs
MAX_MESSAGE_ID = 250


@dataclass(frozen=True)
class OutgoingFile:
    """A file sent along with a mail (a staff member's attachment, relayed)."""

    filename: str
    content_type: str
    data: bytes


class ComposeError(ValueError):
    """An outgoing message cannot be built safely (bad address or id, or a failed self-check)."""


# --------------------------------------------------------------------------- header text

# Characters that break a header line (or are read as breaks by some software) become a space.
_HEADER_BREAKS = re.compile(r"[\t\n\v\f\r\x1c-\x1f\x85\u2028\u2029]")
# Other C0/C1 controls, DEL, lone surrogates (cannot be encoded), and invisible or bidi-override
# characters that let a subject display differently from what it says.
_HEADER_DROP = re.compile(
    r"[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f\ud800-\udfff"
    r"\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]"
)
_BODY_DROP = re.compile(
    r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\u202a-\u202e\u2066-\u2069]"
)


def clean_header_text(text: str, limit: int) -> str:
    """One line of header-safe text: no control characters, whitespace collapsed, at most
    `limit` characters (an ellipsis marks a cut)."""
    text = text[: limit * 4]  # bound the work on hostile input before the passes below
    text = _HEADER_DROP.sub("", _HEADER_BREAKS.sub(" ", text))
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


def _clean_body(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _BODY_DROP.sub("", text)


# --------------------------------------------------------------------------- message ids

_ID_CHARS = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.:;\[\]-]"
_MESSAGE_ID = re.compile(
    rf"<({_ID_CHARS}{{1,200}}@{_ID_CHARS}{{1,200}})>|({_ID_CHARS}+@{_ID_CHARS}+)"
)
_HOST_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")


def normalize_message_id(value: str) -> str | None:
    """`<local@domain>` for a valid id given with or without brackets, else None.

    The store keeps ids without brackets (see `message.InboundMail`); either form is accepted.
    Ids with spaces, control characters, quotes or an encoded-word opener are refused: they
    only ever come from a stranger's mail, and dropping one merely loses a threading hint.
    """
    text = value.strip()
    if len(text) > MAX_MESSAGE_ID or "=?" in text:
        return None
    match = _MESSAGE_ID.fullmatch(text)
    if match is None:
        return None
    return f"<{match.group(1) or match.group(2)}>"


def _hostname(domain: str) -> str:
    text = domain.strip().rstrip(".")
    if not text.isascii():
        try:
            text = text.encode("idna").decode("ascii")
        except UnicodeError as exc:
            raise ComposeError("not a valid domain name") from exc
    labels = text.split(".")
    if not 0 < len(text) <= 253 or not all(_HOST_LABEL.fullmatch(label) for label in labels):
        raise ComposeError("not a valid domain name")
    return text.lower()


def make_message_id(domain: str) -> str:
    """A fresh, unguessable `<...@domain>` for a message we send."""
    return email.utils.make_msgid(idstring=secrets.token_hex(8), domain=_hostname(domain))


def subject_with_tag(ref: str, subject: str) -> str:
    """`[REF] subject`, unless the tag is already in it; control characters removed."""
    tag = f"[{clean_header_text(ref, 64)}]"
    text = clean_header_text(subject, MAX_ORIGINAL_SUBJECT)
    if tag.casefold() in text.casefold():
        return text
    return f"{tag} {text}".rstrip()


# --------------------------------------------------------------------------- compose

_LOCAL_PART = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_PHRASE_ATOMS = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~ -]+")
_HEADER_NAME = re.compile(r"[A-Za-z][A-Za-z0-9-]{0,39}")
_AUTO_SUBMITTED = frozenset({"no", "auto-generated", "auto-replied", "auto-notified"})
_FORBIDDEN_EXTRA = frozenset(
    {"bcc", "cc", "sender", "return-path", "received", "mime-version", "date", "from", "to"}
)
_NO_HEADERS: Mapping[str, str] = MappingProxyType({})
_SOFT_LINE = 76  # RFC 2047: a line holding encoded words is at most 76 characters
_HARD_LINE = 998


def _encoded_words(text: str, first_room: int) -> list[str]:
    """RFC 2047 'B' encoded words for `text`, never splitting a character across two.

    B over Q: every byte is safe inside it, so nothing in the text can end the word early.
    """
    words: list[str] = []
    room = first_room
    chunk: list[str] = []
    size = 0
    for char in text:
        width = len(char.encode("utf-8"))
        budget = max(12, (room - 12) // 4 * 3)  # 12 = len("=?utf-8?b?") + len("?=")
        if chunk and size + width > budget:
            words.append(_encoded_word("".join(chunk)))
            chunk, size, room = [], 0, _SOFT_LINE - 1
        chunk.append(char)
        size += width
    if chunk:
        words.append(_encoded_word("".join(chunk)))
    return words


def _encoded_word(text: str) -> str:
    return "=?utf-8?b?" + base64.b64encode(text.encode("utf-8")).decode("ascii") + "?="


def _needs_encoding(text: str) -> bool:
    return not text.isascii() or "=?" in text


def _fold(name: str, pieces: Sequence[str]) -> list[str]:
    """Join pieces with a space, moving a piece to a continuation line when it would pass 76
    characters. The pieces carry no whitespace of their own, so unfolding restores the value."""
    lines = [f"{name}:"]
    for piece in pieces:
        if lines[-1] == f"{name}:" or len(lines[-1]) + 1 + len(piece) <= _SOFT_LINE:
            lines[-1] += " " + piece
        else:
            lines.append(" " + piece)
    return lines


def _text_pieces(name: str, text: str) -> list[str]:
    if not text:
        return []
    if _needs_encoding(text):
        return _encoded_words(text, _SOFT_LINE - len(name) - 2)
    return text.split(" ")


def _phrase_pieces(name: str, display: str) -> list[str]:
    if not display:
        return []
    if _needs_encoding(display):
        return _encoded_words(display, _SOFT_LINE - len(name) - 2)
    if _PHRASE_ATOMS.fullmatch(display):
        return display.split(" ")
    quoted = display.replace("\\", "\\\\").replace('"', '\\"')
    return [f'"{quoted}"']  # one piece: no folding inside a quoted string


def _addr_spec(value: str) -> str:
    text = clean_header_text(value, 320).strip("<> ")
    local, sep, domain = text.rpartition("@")
    if not sep or len(local) > 64 or "=?" in local or not _LOCAL_PART.fullmatch(local):
        raise ComposeError("not a usable e-mail address")
    return f"{local}@{_hostname(domain)}"


def _mailbox(header: str, display: str, address: str) -> list[str]:
    name = clean_header_text(display, MAX_DISPLAY_NAME)
    return [
        *_phrase_pieces(header, name),
        f"<{_addr_spec(address)}>" if name else _addr_spec(address),
    ]


def _recipient(to: str) -> tuple[str, str]:
    text = clean_header_text(to, 500)
    pairs = email.utils.getaddresses([text])
    if len(pairs) != 1 or not pairs[0][1]:
        raise ComposeError("the recipient must be exactly one address")
    return pairs[0]


def compose(
    *,
    from_address: str,
    from_name: str,
    to: str,
    subject: str,
    body: str,
    message_id: str,
    in_reply_to: str | None = None,
    references: Sequence[str] = (),
    auto_submitted: str | None = None,
    reply_to: str | None = None,
    date: dt.datetime,
    extra_headers: Mapping[str, str] = _NO_HEADERS,
    attachments: Sequence[OutgoingFile] = (),
) -> bytes:
    """A complete RFC 5322 message (CRLF line ends), text/plain UTF-8, quoted-printable.

    `to` is one address, optionally with a display name ("Name <a@b>"). Ids may come with or
    without angle brackets; an invalid `in_reply_to` or reference is dropped, an invalid
    `message_id` is an error. `in_reply_to` is appended to `references` when missing, as
    RFC 5322 asks. `extra_headers` may add headers of our own (e.g. `X-Mailtriage-Case`,
    `Precedence`), never one of the above, an address header or a `Content-*` header; their
    values are cleaned like the subject. Raises `ComposeError` (a ValueError) for anything that
    cannot be sent safely.
    """
    own_id = normalize_message_id(message_id)
    if own_id is None:
        raise ComposeError("invalid Message-ID")
    parent = normalize_message_id(in_reply_to) if in_reply_to else None
    thread: list[str] = []
    for candidate in (*references, *((parent,) if parent else ())):
        ref_id = normalize_message_id(candidate)
        if ref_id and ref_id not in thread:
            thread.append(ref_id)
    if len(thread) > MAX_REFERENCES:
        thread = [thread[0], *thread[-(MAX_REFERENCES - 1) :]]
    if date.tzinfo is None:
        raise ComposeError("the Date must be timezone-aware")
    if auto_submitted is not None and auto_submitted not in _AUTO_SUBMITTED:
        raise ComposeError("unknown Auto-Submitted value")
    to_name, to_address = _recipient(to)
    clean_subject = clean_header_text(subject, MAX_SUBJECT)

    headers: list[tuple[str, list[str]]] = [
        ("From", _mailbox("From", from_name, from_address)),
        ("To", _mailbox("To", to_name, to_address)),
        ("Reply-To", [_addr_spec(reply_to or from_address)]),
        ("Subject", _text_pieces("Subject", clean_subject)),
        ("Date", email.utils.format_datetime(date).split(" ")),
        ("Message-ID", [own_id]),
    ]
    if parent:
        headers.append(("In-Reply-To", [parent]))
    if thread:
        headers.append(("References", thread))
    if auto_submitted:
        headers.append(("Auto-Submitted", [auto_submitted]))
    taken = {name.lower() for name, _ in headers} | {"in-reply-to", "references", "auto-submitted"}
    for name, value in extra_headers.items():
        lowered = name.lower()
        if (
            not _HEADER_NAME.fullmatch(name)
            or lowered in taken
            or lowered in _FORBIDDEN_EXTRA
            or lowered.startswith(("content-", "resent-"))
        ):
            raise ComposeError(f"extra header not allowed: {name[:40]!r}")
        taken.add(lowered)
        headers.append((name, _text_pieces(name, clean_header_text(value, MAX_EXTRA_VALUE))))

    lines: list[str] = []
    for name, pieces in headers:
        lines.extend(_fold(name, pieces))
    text_part = _quoted_printable(_clean_body(body))
    lines.append("MIME-Version: 1.0")
    if attachments:
        boundary = f"=_mailtriage_{secrets.token_hex(12)}"
        lines.append(f'Content-Type: multipart/mixed; boundary="{boundary}"')
        content = _multipart(boundary, text_part, attachments)
    else:
        lines += [_TEXT_TYPE, _TEXT_ENCODING]
        content = text_part
    try:
        head = "\r\n".join(lines).encode("ascii")
    except UnicodeEncodeError as exc:  # every header piece above is ASCII by construction
        raise ComposeError("a header holds a character that was not encoded") from exc
    raw = head + b"\r\n\r\n" + content
    _self_check(raw, [name for name, _ in headers], clean_subject, bool(attachments))
    return raw


MAX_ENCODED_FILENAME = 800
_TEXT_TYPE = 'Content-Type: text/plain; charset="utf-8"'
_TEXT_ENCODING = "Content-Transfer-Encoding: quoted-printable"
_MEDIA_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]{0,62}/[a-z0-9][a-z0-9!#$&^_.+-]{0,62}")


def _multipart(boundary: str, text_part: bytes, attachments: Sequence[OutgoingFile]) -> bytes:
    """The text part, then each file base64-encoded with an RFC 2231 filename."""
    delimiter = f"--{boundary}\r\n".encode()
    pieces = [delimiter, f"{_TEXT_TYPE}\r\n{_TEXT_ENCODING}\r\n\r\n".encode(), text_part]
    for file in attachments:
        ctype = file.content_type.lower()
        if not _MEDIA_TYPE.fullmatch(ctype) or ctype.startswith(("multipart/", "message/")):
            ctype = "application/octet-stream"
        name = clean_header_text(file.filename, 200) or "attachment"
        fallback = "".join(c if (c.isascii() and c.isalnum()) or c in "._-" else "_" for c in name)
        encoded = urllib.parse.quote(name, safe="")
        while len(encoded) > MAX_ENCODED_FILENAME:  # one header line, no RFC 2231 continuations
            name = name[:-1]
            encoded = urllib.parse.quote(name, safe="")
        pieces += [
            delimiter,
            f"Content-Type: {ctype}\r\n".encode(),
            # RFC 2231's filename* first (parsers that meet both keep the first), then a
            # plain ASCII name for clients that know only that.
            f"Content-Disposition: attachment; filename*=utf-8''{encoded};\r\n"
            f' filename="{fallback}"\r\n'.encode(),
            b"Content-Transfer-Encoding: base64\r\n\r\n",
            base64.encodebytes(file.data).replace(b"\n", b"\r\n"),
        ]
    pieces.append(f"--{boundary}--\r\n".encode())
    return b"".join(pieces)


def _quoted_printable(text: str) -> bytes:
    """UTF-8 text as quoted-printable with CRLF line ends.

    Quoted-printable keeps long lines and any character intact through every relay; 8bit is
    not safe on all of them. binascii does the encoding in C (soft breaks at 76 characters,
    trailing white space and '=' escaped); only the line ends are ours to set.
    """
    encoded = binascii.b2a_qp(text.encode("utf-8"), quotetabs=False, istext=True, header=False)
    if not encoded.endswith(b"\n"):
        encoded += b"\n"
    return encoded.replace(b"\n", b"\r\n")


def _self_check(raw: bytes, names: list[str], subject: str, multipart: bool = False) -> None:
    """Parse the header block back: exactly our headers, short lines, the subject we meant.

    Cheap insurance against the next way of smuggling a line break through a header.
    """
    if b"\r" in raw.replace(b"\r\n", b"") or b"\n" in raw.replace(b"\r\n", b""):
        raise ComposeError("bare CR or LF in the message")
    if any(len(line) > _HARD_LINE for line in raw.split(b"\r\n")):
        raise ComposeError("a line longer than 998 bytes")
    head = raw.split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n"
    parsed = BytesParser(policy=email.policy.default).parsebytes(head, headersonly=True)
    mime = ["content-type", "mime-version"] + ([] if multipart else ["content-transfer-encoding"])
    expected = sorted([name.lower() for name in names] + mime)
    if sorted(key.lower() for key in parsed) != expected:
        raise ComposeError("the message does not hold exactly the headers set")
    if str(parsed["subject"]) != subject:
        raise ComposeError("the subject did not survive encoding")
