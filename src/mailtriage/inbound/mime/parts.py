"""One pass over a parsed MIME tree: the body text, the attachments and the defects.

The body is the message's own text, not that of mails forwarded inside it; every part that
is not body becomes an attachment with the size and hash of its decoded bytes, forwarded
mails and uuencoded files included. The walk works on the `email.message.Message` tree
whichever parser built it, keeps to the bounds in `limits`, and turns a part it cannot read
into a defect rather than an exception.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from email.message import Message
from typing import NamedTuple

from mailtriage.inbound.mime.charsets import decode_body
from mailtriage.inbound.mime.content_headers import (
    charset_of,
    content_type_of,
    disposition_of,
    filename_of,
    transfer_encoding_of,
)
from mailtriage.inbound.mime.filenames import guess_type, sanitise_filename
from mailtriage.inbound.mime.large import ElidedRuns
from mailtriage.inbound.mime.limits import MAX_DEPTH, MAX_PARTS, MAX_TEXT_CHARS
from mailtriage.inbound.mime.payloads import (
    UU_BEGIN,
    decode_transfer,
    flatten,
    uudecode,
    wire_bytes,
)
from mailtriage.inbound.textscan import html_to_text

_FORWARD_TYPES = frozenset({"message/rfc822", "message/global"})
_BODY_TYPES = frozenset({"text/plain", "text/html"})


class Attachment(NamedTuple):
    """One attachment as the walk found it; message.py makes it an `AttachmentInfo`."""

    filename: str  # sanitised, or "forwarded-N.eml"
    content_type: str
    size: int
    sha256: str


def add_defect(defects: list[str], defect: str) -> None:
    """Each defect once, in the order first seen."""
    if defect not in defects:
        defects.append(defect)


@dataclass
class PartWalk:
    """One pass over the MIME tree: body texts, attachments and defects."""

    elided: ElidedRuns
    hint: str | None = None
    bodies_only: bool = False
    plain: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)
    named_plain: list[str] = field(default_factory=list)  # inline text/plain with a name
    attachments: list[Attachment] = field(default_factory=list)
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
                add_defect(self.defects, "too-many-parts")
                return
            for defect in getattr(part, "defects", ()):
                add_defect(self.defects, type(defect).__name__)
            ctype = content_type_of(part)
            if part.is_multipart():
                if ctype.startswith("message/"):
                    self._message_part(part, ctype)
                    continue
                if depth >= MAX_DEPTH:
                    add_defect(self.defects, "nesting-too-deep")
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
                add_defect(self.defects, f"part-unreadable: {type(exc).__name__}")

    def body_text(self) -> str:
        bodies = [text for text in self.plain if text.strip()]
        if not bodies:
            bodies = [converted for html in self.html if (converted := html_to_text(html))]
        if not bodies:
            # Some programs name the one text part of a message; it is still the message.
            bodies = [text for text in self.named_plain if text.strip()]
        return "\n\n".join(bodies).strip("\n")

    def _leaf(self, part: Message, ctype: str) -> None:
        filename = filename_of(part, self.hint)
        disposition = disposition_of(part)
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
            text = decode_body(data, charset_of(part))
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
            self.named_plain.append(decode_body(data, charset_of(part)))
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
                self.elided.restore(flatten(item)) for item in payload if isinstance(item, Message)
            )
        else:
            data = self._payload(part)
        if ctype in _FORWARD_TYPES:
            number = sum(1 for a in self.attachments if a.filename.startswith("forwarded-")) + 1
            self._attach(f"forwarded-{number}.eml", ctype, data, sanitise=False)
        else:
            self._attach(filename_of(part, self.hint), ctype, data)

    def _attach(self, name: str | None, ctype: str, data: bytes, *, sanitise: bool = True) -> None:
        if len(self.attachments) >= MAX_PARTS:
            return
        index = len(self.attachments) + 1
        filename = sanitise_filename(name, index, ctype) if sanitise else (name or "")
        self.attachments.append(
            Attachment(
                filename=filename,
                content_type=ctype,
                size=len(data),
                sha256=hashlib.sha256(data).hexdigest(),
            )
        )

    def _payload(self, part: Message) -> bytes:
        """The part's body with its transfer encoding undone, elided runs put back."""
        return decode_transfer(
            self.elided.restore_view(wire_bytes(part)), transfer_encoding_of(part)
        )

    def _lift_uuencoded(self, text: str) -> str:
        """Files uuencoded into a plain body become attachments; the text keeps a note."""
        if "begin " not in text:
            return text
        pieces: list[str] = []
        last = 0
        for match in UU_BEGIN.finditer(text):
            end = text.find("\nend", match.end() - 1)
            if end < 0 or len(self.attachments) >= MAX_PARTS:
                break
            name = match.group(1).strip()
            if not self.bodies_only:
                self._attach(name, guess_type(name), uudecode(text[match.end() : end + 1]))
            pieces.append(text[last : match.start()])
            pieces.append(f"[uuencoded file: {sanitise_filename(name, 0, '')}]")
            last = end + 4
        pieces.append(text[last:])
        return "".join(pieces)
