"""Everything mailtriage sends: templates in the reporter's language, built into safe messages.

Three jobs meet at this seam, because each outgoing mail needs all three:

* Wording. The text of every mail lives in `templates/{kind}.{lang}.txt` (Jinja2), so the
  policy's promises can be reworded without touching code and an installation can bring its
  own copy. `Renderer` picks the reporter's language, falls back to English when a kind has
  no file in that language, and writes one bilingual mail (Dutch first) when the language is
  unsure. Undefined variables are errors, never silently empty promises.
* Message bytes. Much of what goes into a reply came from a stranger's mail: the subject, a
  display name, message ids. `compose` strips control characters, caps lengths, validates ids
  and addresses, and folds the free-text headers itself. It has to: the stdlib decodes RFC 2047
  encoded words when a header is set from a string, so a subject such as
  `=?utf-8?q?x=0D=0ABcc:_a@example.test?=` becomes a real CR LF and a `Bcc:` header on output
  (CPython 3.11). The message is therefore written out here: our folded headers, fixed MIME
  headers, and a quoted-printable body encoded by `binascii`; its header block is parsed back
  with the stdlib and checked before the message is returned.
* Masking. Staff notifications end up in staff mailboxes, which no purge reaches, so report text
  shown there has the reporter's address, name and phone numbers masked (`mask_personal`).
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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from email.parser import BytesParser
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Literal

from jinja2 import (
    BaseLoader,
    Environment,
    FileSystemLoader,
    StrictUndefined,
    TemplateError,
    TemplateNotFound,
    TemplateSyntaxError,
)

from mailtriage.dates import format_date

__all__ = [
    "BILINGUAL_SEPARATOR",
    "ComposeError",
    "RenderError",
    "RenderedMail",
    "Renderer",
    "clean_header_text",
    "compose",
    "format_date",
    "make_message_id",
    "mask_personal",
    "normalize_message_id",
    "packaged_templates_dir",
    "subject_with_tag",
]

Language = Literal["nl", "en", "unsure"]
TemplateLanguage = Literal["nl", "en"]

FALLBACK_LANGUAGE: TemplateLanguage = "en"
BILINGUAL_SEPARATOR = "-" * 30 + " English " + "-" * 30
BILINGUAL_HEADNOTE = "(English version below)"

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


class RenderError(Exception):
    """A template is missing or malformed, or needs a variable the caller did not give."""


class ComposeError(ValueError):
    """An outgoing message cannot be built safely (bad address or id, or a failed self-check)."""


@dataclass(frozen=True)
class RenderedMail:
    subject: str  # one line, control characters removed
    body: str  # ends with one newline


# --------------------------------------------------------------------------- templates

_KIND = re.compile(r"[a-z][a-z0-9_]{0,63}")
_TEMPLATE_FILE = re.compile(r"([a-z][a-z0-9_]{0,63})\.(nl|en)\.txt")
_LEADING_TAG = re.compile(r"\s*(\[[^\[\]]{1,100}\])\s*")


def packaged_templates_dir() -> Path:
    """Where the shipped templates are: inside the installed package, else in the source tree."""
    packaged = resources.files("mailtriage") / "templates"
    if packaged.is_dir():
        return Path(str(packaged))
    source_tree = Path(__file__).resolve().parents[2] / "templates"
    if source_tree.is_dir():
        return source_tree
    raise RenderError("the templates folder is missing from this installation")


class _SplitLoader(BaseLoader):
    """Serves `NAME#subject` and `NAME#body` out of the one template file `NAME`.

    Splitting the source, not the rendered text, keeps the split exact whatever a variable
    holds: a subject variable with blank lines in it cannot move the start of the body.
    """

    def __init__(self, inner: BaseLoader) -> None:
        self._inner = inner

    def get_source(
        self, environment: Environment, template: str
    ) -> tuple[str, str | None, Callable[[], bool] | None]:
        name, sep, part = template.rpartition("#")
        if not sep or part not in ("subject", "body"):
            raise TemplateNotFound(template)
        source, filename, uptodate = self._inner.get_source(environment, name)
        lines = source.split("\n", 2)
        first = lines[0].removeprefix("\ufeff").rstrip("\r")
        if first[:8].lower() != "subject:" or len(lines) < 2 or lines[1].strip():
            raise TemplateSyntaxError(
                "a template starts with a 'Subject: ...' line followed by one blank line",
                1,
                name,
                filename,
            )
        if part == "subject":
            return first[8:].strip(), filename, uptodate
        # Two comments stand in for the subject line and the blank line (trim_blocks eats
        # their newlines), so line numbers in Jinja's errors are the file's line numbers.
        body = lines[2] if len(lines) > 2 else ""
        return "{# subject #}\n{# blank #}\n" + body, filename, uptodate

    def list_templates(self) -> list[str]:
        return self._inner.list_templates()


class Renderer:
    """Renders `templates/{kind}.{lang}.txt` into a subject and a plain-text body.

    `template_dir` None means the packaged templates. A custom folder overrides file by file:
    a kind/language it lacks comes from the packaged templates, so an installation can reword
    the acknowledgement without copying the staff notifications. For each kind the reporter's
    language wins over the folder: a custom English file never replaces a packaged Dutch one.
    """

    def __init__(self, template_dir: Path | None = None) -> None:
        search: list[Path] = []
        if template_dir is not None:
            if not Path(template_dir).is_dir():
                raise RenderError(f"template folder not found: {template_dir}")
            search.append(Path(template_dir))
        try:
            search.append(packaged_templates_dir())
        except RenderError:
            if not search:
                raise
        self.search_path: tuple[Path, ...] = tuple(search)
        self._loader = _SplitLoader(FileSystemLoader([str(path) for path in search]))
        # One environment per language, so `|date` writes dates in the language of the file
        # being rendered, also when a Dutch request fell back to an English file.
        self._environments: dict[str, Environment] = {
            language: self._environment(language) for language in ("nl", "en")
        }

    def _environment(self, language: TemplateLanguage) -> Environment:
        env = Environment(
            loader=self._loader,
            undefined=StrictUndefined,
            autoescape=False,  # plain-text mail: HTML escaping would mangle "&" and "<id>"
            keep_trailing_newline=True,
            trim_blocks=True,
            lstrip_blocks=True,
        )

        def date_filter(value: dt.date, override: TemplateLanguage | None = None) -> str:
            return format_date(value, override or language)

        env.filters["date"] = date_filter
        env.filters["mask"] = _mask_filter
        return env

    def render(self, kind: str, language: Language, context: Mapping[str, object]) -> RenderedMail:
        """Render one mail. For "unsure": one bilingual mail, Dutch first, then English."""
        if not _KIND.fullmatch(kind):
            raise RenderError(f"not a template kind: {kind!r}")
        if language == "unsure":
            nl_file, dutch = self._render_file(kind, "nl", context)
            en_file, english = self._render_file(kind, "en", context)
            if nl_file == en_file:
                return english  # only English exists: sending it twice helps nobody
            return RenderedMail(
                subject=_combine_subjects(dutch.subject, english.subject),
                body=(
                    f"{BILINGUAL_HEADNOTE}\n\n{dutch.body.rstrip()}\n\n"
                    f"{BILINGUAL_SEPARATOR}\n\n{english.body}"
                ),
            )
        if language not in ("nl", "en"):
            raise RenderError(f"not a language: {language!r}")
        return self._render_file(kind, language, context)[1]

    def _render_file(
        self, kind: str, language: TemplateLanguage, context: Mapping[str, object]
    ) -> tuple[str, RenderedMail]:
        for candidate in dict.fromkeys((language, FALLBACK_LANGUAGE)):
            name = f"{kind}.{candidate}.txt"
            env = self._environments[candidate]
            try:
                body_template = env.get_template(name + "#body")
            except TemplateNotFound:
                continue
            except TemplateError as exc:
                raise RenderError(f"{name}: {exc}") from exc
            values = dict(context)
            try:
                subject = env.get_template(name + "#subject").render(values)
                body = body_template.render(values)
            except (TemplateError, TypeError, ValueError) as exc:
                # Messages name variables and types, never their values (no report text in logs).
                raise RenderError(f"{name}: {type(exc).__name__}: {exc}") from exc
            return name, RenderedMail(
                subject=clean_header_text(subject, MAX_SUBJECT), body=_tidy_body(body)
            )
        raise RenderError(f"no template {kind!r} in {language!r} or {FALLBACK_LANGUAGE!r}")

    def check(self) -> list[str]:
        """Compile every template file on the search path; return their names.

        For start-up and `mailtriage check`: a broken custom template should stop the daemon
        before the first report arrives, not quarantine that report.
        """
        names = sorted(
            name for name in set(self._loader.list_templates()) if _TEMPLATE_FILE.fullmatch(name)
        )
        for name in names:
            env = self._environments[name.rsplit(".", 2)[1]]
            try:
                env.get_template(name + "#subject")
                env.get_template(name + "#body")
            except TemplateError as exc:
                raise RenderError(f"{name}: {exc}") from exc
        return names


def _combine_subjects(dutch: str, english: str) -> str:
    if dutch == english:
        return dutch
    nl_tag, en_tag = _LEADING_TAG.match(dutch), _LEADING_TAG.match(english)
    if nl_tag and en_tag and nl_tag.group(1).casefold() == en_tag.group(1).casefold():
        english = english[en_tag.end() :]  # the tag once: "[REF] Ontvangen / Received"
    return clean_header_text(f"{dutch} / {english}", MAX_SUBJECT)


def _tidy_body(text: str) -> str:
    # Trailing blanks go, except in the RFC 3676 signature delimiter "-- ", which mail
    # clients need verbatim to recognise (and fold away) our footer.
    lines = [
        "-- " if line == "-- " else line.rstrip() for line in text.replace("\r\n", "\n").split("\n")
    ]
    return "\n".join(lines).strip("\n") + "\n"


def _mask_filter(value: object) -> str:
    return mask_personal(str(value), address=None, name=None)


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
    date: dt.datetime | None = None,
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
    when = date if date is not None else dt.datetime.now(dt.UTC)
    if when.tzinfo is None:
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
        ("Date", email.utils.format_datetime(when).split(" ")),
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


# --------------------------------------------------------------------------- masking

# A run of address characters, started at the start of a run so a megabyte of letters is
# scanned once; the domain needs a dot and is checked in Python (alphabetic TLD), so that
# `root@192.0.2.1` keeps its IP address.
_EMAIL = re.compile(r"(?<![\w.%+\-])[\w.%+\-]{1,64}+@[\w\-]{1,63}(?:\.[\w\-]{1,63}){1,8}(?![\w\-])")
_SEP = r"[ \u00a0-]"
_PHONE = re.compile(
    r"(?:"
    # Dutch, international form: +31 or 0031, an optional (0), then the 9 national digits.
    rf"(?<![\w+])(?:\+|00)31{_SEP}?(?:\(0\){_SEP}?)?(?:\d{_SEP}?){{8}}\d"
    # Elsewhere: +CC with 8 to 15 digits, or 00CC followed by a separator (not a bare number).
    rf"|(?<![\w+])\+[1-9](?:{_SEP}?(?:\(0\){_SEP}?)?\d){{7,14}}"
    rf"|(?<![\w+])00[1-9]\d{{0,2}}{_SEP}(?:\(0\){_SEP}?)?(?:\d{_SEP}?){{6,12}}\d"
    # Dutch, national form: ten digits starting with 0, the area code maybe in parentheses.
    rf"|(?<![\w.+/\-])(?:"
    rf"0[1-9](?:{_SEP}?\d){{8}}"
    rf"|\(0[1-9]\){_SEP}?(?:\d{_SEP}?){{7}}\d"
    rf"|\(0[1-9]\d\){_SEP}?(?:\d{_SEP}?){{6}}\d"
    rf"|\(0[1-9]\d\d\){_SEP}?(?:\d{_SEP}?){{5}}\d"
    r")"
    r")(?![\w:]|[.,\-]\d)"
)
_DATE_LIKE = re.compile(r"\d{1,2}[-/ ]\d{1,2}[-/ ](?:19|20)\d\d")
_NAME_TOKEN = re.compile(r"[^\W\d_]{2,}")
# Name particles, titles and words that turn up in display names but are no part of a
# person's name; masking them would black out ordinary words across a report.
# fmt: off
_NOT_NAME_TOKENS = frozenset({
    "aan", "admin", "al", "an", "and", "at", "behalf", "bin", "blue", "bounty", "bug", "bv", "by",
    "contact", "da", "das", "de", "del", "della", "den", "der", "dhr", "di", "dos", "dr", "drs",
    "du", "el", "email", "en", "et", "ethical", "for", "from", "gmbh", "hacker", "heer", "het",
    "hunter", "ibn", "in", "inc", "info", "ing", "ir", "is", "it", "jr", "la", "lab", "labs",
    "le", "les", "llc", "ltd", "mail", "meneer", "mevr", "mevrouw", "miss", "mr", "mrs", "ms",
    "mx", "my", "no", "noreply", "nv", "of", "on", "op", "or", "our", "prof", "red", "reply",
    "research", "researcher", "researchers", "sec", "security", "sir", "sr", "support", "te",
    "team", "ten", "ter", "the", "to", "und", "van", "via", "von", "whitehat", "with", "your",
})
# fmt: on
_MAX_NAME_TOKENS = 8

REPORTER = "[reporter]"
ADDRESS = "[address]"
PHONE = "[phone]"


def mask_personal(text: str, *, address: str | None, name: str | None) -> str:
    """The text with the reporter's address and name, every e-mail address and every phone
    number replaced by "[reporter]", "[address]" and "[phone]".

    Errs towards masking a word too many in a staff copy, but leaves IP addresses, dates,
    times, CVE ids, version strings and ports alone: staff need those to act on a report.
    """
    if address and "@" in address:
        literal = re.escape(address.strip())
        encoded = re.escape(address.strip().replace("@", "%40"))
        text = re.sub(
            rf"(?<![\w.%+\-])(?:mailto:)?(?:{literal}|{encoded})(?![\w\-]|\.\w)",
            REPORTER,
            text,
            flags=re.IGNORECASE,
        )
    text = _EMAIL.sub(_mask_email, text)
    text = _PHONE.sub(_mask_phone, text)
    pattern = _name_pattern(name) if name else None
    if pattern is not None:
        text = pattern.sub(REPORTER, text)
    return text


def _mask_email(match: re.Match[str]) -> str:
    found = match.group(0)
    top_level = found.rsplit(".", 1)[1]
    return ADDRESS if top_level.isalpha() and len(top_level) >= 2 else found


def _mask_phone(match: re.Match[str]) -> str:
    found = match.group(0)
    return found if _DATE_LIKE.match(found) else PHONE


def _name_pattern(name: str) -> re.Pattern[str] | None:
    """Whole words of the display name, the full name first so "Sanne de Vries" becomes one
    placeholder rather than "[reporter] de [reporter]"."""
    display = clean_header_text(name, MAX_DISPLAY_NAME).strip("\"' ")
    if not display:
        return None
    alternatives: list[str] = []
    if "@" in display:
        alternatives.append(re.escape(display))
        display = display.split("@", 1)[0]
    words = display.split()
    tokens = [
        token for token in _NAME_TOKEN.findall(display) if token.casefold() not in _NOT_NAME_TOKENS
    ]
    if len(words) > 1 and tokens:
        alternatives.append(r"\s+".join(re.escape(word) for word in words))
    unique = sorted(dict.fromkeys(token.casefold() for token in tokens), key=len, reverse=True)
    alternatives.extend(re.escape(token) for token in unique[:_MAX_NAME_TOKENS])
    if not alternatives:
        return None
    return re.compile(r"(?<!\w)(?:" + "|".join(alternatives) + r")(?!\w)", re.IGNORECASE)
