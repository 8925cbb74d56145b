"""A part's bytes as they arrived, and with their transfer encoding undone.

Sizes and hashes of attachments, forwarded mails included, must be those of the bytes sent.
The stdlib gets close but not there: `get_payload()` replaces 8-bit bytes by U+FFFD, its
generator re-folds headers and can fail on a charset, and its decoders give up on base64
with bad padding or on uuencode at all. What it cannot do, this does without raising.
"""

from __future__ import annotations

import binascii
import re
from email.message import Message

from mailtriage.inbound.mime.limits import MAX_DEPTH


def wire_bytes(part: Message) -> bytes:
    """The part's body as received, transfer encoding and all; a multipart's parts flattened."""
    payload = _stored_payload(part)
    if isinstance(payload, list):
        return b"".join(flatten(item) for item in payload if isinstance(item, Message))
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


def flatten(message: Message, depth: int = 0) -> bytes:
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
            out.extend(flatten(child, depth + 1) for child in children)
        else:
            delimiter = b"--" + boundary
            if isinstance(message.preamble, str):
                out.append(message.preamble.encode("utf-8", "surrogateescape") + b"\r\n")
            for child in children:
                out += [delimiter, b"\r\n", flatten(child, depth + 1), b"\r\n"]
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


_BASE64_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_NOT_BASE64 = bytes(sorted(set(range(256)) - set(_BASE64_ALPHABET)))


def decode_transfer(data: bytes | memoryview, encoding: str) -> bytes:
    """The bytes the transfer encoding stands for; what will not decode stays as it came.

    `data` may be a view into the raw message, so that a big base64 part is decoded without
    first being copied out of it.
    """
    if encoding == "base64":
        try:
            return binascii.a2b_base64(data)
        except binascii.Error:
            data = bytes(data)
            # Bad padding or stray characters: decode the base64 characters that are there.
            cleaned = data.translate(None, _NOT_BASE64)
            cleaned = cleaned[: len(cleaned) - len(cleaned) % 4]
            try:
                return binascii.a2b_base64(cleaned)
            except binascii.Error:
                return data
    data = bytes(data)
    if encoding == "quoted-printable":
        return binascii.a2b_qp(data)
    if encoding in ("x-uuencode", "uuencode", "x-uue", "uue"):
        text = data.decode("latin-1").replace("\r\n", "\n").replace("\r", "\n")
        begin = UU_BEGIN.search(text)
        if begin:
            text = text[begin.end() :]
        end = text.find("\nend")
        return uudecode(text[: end + 1] if end >= 0 else text)
    return data


UU_BEGIN = re.compile(r"(?m)^begin [0-7]{3,4} ([^\n]{1,255})\n")


def uudecode(block: str) -> bytes:
    """The bytes of uuencoded lines (between the "begin" and "end" lines); bad lines are skipped."""
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
