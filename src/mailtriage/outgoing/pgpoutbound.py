"""Encrypted answers out: wrap a composed mail as PGP/MIME (RFC 3156), subject protected.

Letters compose every mail in clear first (`compose.py` does the header safety); a mail to a
reporter whose key the case keeps is then wrapped here. The whole composed entity (its body
and attachments) goes inside the encryption, signed by the desk, with the real Subject, From,
To and Date repeated as protected headers ("protected-headers=v1", as Thunderbird writes and
reads them). The outer Subject keeps only the case tag, which threading needs and which says
nothing about the report.

The mail is encrypted to the desk's own key as well, so what the outbox keeps can still be
read by the operator.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from email.header import decode_header, make_header

from mailtriage.inbound.openpgp import Cert, DeskKeyMaterial, encrypt_and_sign

__all__ = ["protect"]

_HEADER_END = re.compile(rb"\r?\n\r?\n")
_TAG = re.compile(r"\[[A-Za-z0-9-]+\]")
# Header fields that move inside (the real ones) and are repeated there for the reader.
_PROTECTED = ("subject", "from", "to", "cc", "date", "message-id", "reply-to")
_BODY_FIELDS = frozenset({"content-type", "content-transfer-encoding", "mime-version"})


def protect(composed: bytes, recipients: Sequence[Cert], desk: DeskKeyMaterial | None) -> bytes:
    """`composed` as a PGP/MIME mail encrypted to `recipients` (and the desk), signed."""
    head, body = _split(composed)
    fields = _fields(head)
    subject = _decoded(next((v for n, v in fields if n == "subject"), b""))
    inner_fields = [v for n, v in fields if n in _BODY_FIELDS - {"mime-version"}]
    inner_fields = [_with_protected_param(v) for v in inner_fields]
    inner_fields += [v for n, v in fields if n in _PROTECTED]
    inner = b"\r\n".join(inner_fields) + b"\r\n\r\n" + _crlf(body)
    keys = list(recipients)
    if desk is not None:
        keys.append(desk.cert())
    armoured = encrypt_and_sign(inner, keys, desk)

    tag = _TAG.search(subject)
    outer_subject = f"{tag.group(0)} ..." if tag else "..."
    boundary = f"=-pgp-{secrets.token_hex(12)}"
    outer = [v for n, v in fields if n not in _BODY_FIELDS and n != "subject"]
    outer += [
        b"Subject: " + outer_subject.encode("ascii"),
        b"MIME-Version: 1.0",
        b'Content-Type: multipart/encrypted; protocol="application/pgp-encrypted";\r\n'
        b' boundary="' + boundary.encode("ascii") + b'"',
    ]
    b = boundary.encode("ascii")
    parts = (
        b"This is an OpenPGP/MIME encrypted message (RFC 4880 and 3156)\r\n"
        b"--" + b + b"\r\n"
        b"Content-Type: application/pgp-encrypted\r\n"
        b"Content-Description: PGP/MIME version identification\r\n\r\n"
        b"Version: 1\r\n\r\n"
        b"--" + b + b"\r\n"
        b'Content-Type: application/octet-stream; name="encrypted.asc"\r\n'
        b"Content-Description: OpenPGP encrypted message\r\n"
        b'Content-Disposition: inline; filename="encrypted.asc"\r\n\r\n'
        + _crlf(armoured)
        + b"\r\n--"
        + b
        + b"--\r\n"
    )
    return b"\r\n".join(outer) + b"\r\n\r\n" + parts


def _with_protected_param(field: bytes) -> bytes:
    if field.lower().startswith(b"content-type:"):
        return field + b'; protected-headers="v1"'
    return field


def _split(raw: bytes) -> tuple[bytes, bytes]:
    match = _HEADER_END.search(raw)
    if match is None:
        return raw, b""
    return raw[: match.start()], raw[match.end() :]


def _fields(head: bytes) -> list[tuple[str, bytes]]:
    fields: list[tuple[str, bytes]] = []
    for line in re.split(rb"\r?\n", head):
        if line[:1] in (b" ", b"\t") and fields:
            name, value = fields[-1]
            fields[-1] = (name, value + b"\r\n" + line)
            continue
        fields.append((line.split(b":", 1)[0].strip().lower().decode("ascii", "replace"), line))
    return fields


def _decoded(field: bytes) -> str:
    value = field.split(b":", 1)[1] if b":" in field else b""
    text = re.sub(r"\r?\n[ \t]", " ", value.decode("ascii", "replace")).strip()
    try:
        return str(make_header(decode_header(text)))
    except Exception:
        return text


def _crlf(data: bytes) -> bytes:
    return re.sub(rb"\r?\n", b"\r\n", data)
