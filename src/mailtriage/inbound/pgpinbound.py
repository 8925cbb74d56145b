"""Encrypted reports in: turn a PGP/MIME or inline-PGP mail into the plaintext mail to parse.

Runs in the parse worker (`parsepool`), before `message.parse_message`: decryption works on
what an attacker sent (packet parsing, decompression) and belongs under the worker's time
limit and in the process that may be killed, not in intake's. The raw mail stays as it was
stored; what this builds is a second message, the one that is parsed, triaged, masked and
shown: the outer header (sender, threading, Authentication-Results: what the MTA saw)
followed by the decrypted entity.

- PGP/MIME (RFC 3156 multipart/encrypted): the plaintext is a MIME entity. Clients that
  protect headers (Thunderbird; "protected-headers=v1") put the real Subject inside it, and
  the outer one says "..." or "Encrypted Message": the inner Subject wins; of the other inner
  fields only the Content-* ones are used: sender, recipients and Authentication-Results are
  the outer ones, which the MTA saw and checked.
- Inline (`gpg --armor` pasted into a text part): each armoured block in a text/plain part is
  replaced by its plaintext.
- A key for the sender: an `application/pgp-keys` part (outside or inside the encryption)
  or an `Autocrypt:` header (Level 1: addr=, keydata=) whose address is the sender's.

A mail that cannot be decrypted is parsed with the cipher text left out, so that nothing of
it is quoted or scanned; `PgpFacts.problem` says why, for the acknowledgement and staff.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import email.policy
import re
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import Message
from email.parser import BytesParser
from email.utils import getaddresses

from mailtriage.inbound.message import InboundMail, ParseError, parse_message
from mailtriage.inbound.openpgp import (
    DeskKeyMaterial,
    PgpError,
    PgpFacts,
    SignatureCheck,
    can_encrypt_to,
    cert_addresses,
    decrypt,
    load_cert,
    verify_detached,
)

__all__ = ["PgpInput", "parse_incoming", "unwrap"]

_ARMOR_MESSAGE = re.compile(
    rb"-----BEGIN PGP MESSAGE-----\r?\n.*?-----END PGP MESSAGE-----", re.DOTALL
)
_ARMOR_TEXT = re.compile(r"-----BEGIN PGP MESSAGE-----\r?\n.*?-----END PGP MESSAGE-----", re.DOTALL)
# Cheap tests on the raw bytes, so ordinary mail never pays for a second MIME parse.
_HINTS = (
    b"multipart/encrypted",
    b"-----BEGIN PGP MESSAGE-----",
    b"pgp-keys",
    b"autocrypt:",
    b"application/pgp-signature",
)
# Only the header fields of the outer mail that describe its body are replaced by the
# decrypted entity's.
_BODY_FIELDS = frozenset({"content-type", "content-transfer-encoding", "mime-version"})
_HEADER_END = re.compile(rb"\r?\n\r?\n")
# Both languages: nothing says which one the sender writes, so the acknowledgement (whose
# language is detected from this text) is bilingual.
UNDECRYPTABLE_NOTE = (
    "[Een versleuteld bericht dat niet ontsleuteld kon worden; het is ongelezen bewaard. / "
    "An encrypted message that could not be decrypted; it is kept unread.]"
)


def unwrap(
    raw: bytes, desk: DeskKeyMaterial | None, known_keys: Sequence[bytes] = ()
) -> tuple[bytes, PgpFacts] | None:
    """(the message to parse, what OpenPGP made of it), or None for a mail with nothing of
    OpenPGP in it (the common case: it is parsed as it is)."""
    lowered = raw.lower()
    if not any(hint.lower() in lowered for hint in _HINTS):
        return None
    head, _ = _split(raw)
    outer = BytesParser(policy=email.policy.compat32).parsebytes(raw)
    sender = _sender(outer)
    offered, offered_by = _autocrypt_key(outer, sender), "autocrypt"
    if offered is None:
        offered, offered_by = _attached_key(outer, sender), "attachment"
    known = [load_cert(k) for k in known_keys if _usable(k)]
    if offered is not None:
        known.append(load_cert(offered))

    if _is_pgp_mime(outer):
        to_parse, facts = _pgp_mime(raw, head, outer, desk, known)
    elif _ARMOR_MESSAGE.search(raw):
        to_parse, facts = _inline(outer, desk, known)
    elif _is_pgp_signed(outer):
        # RFC 3156 signed, not encrypted: parsed as it is, the signature checked.
        to_parse, facts = raw, PgpFacts(signature=_detached(raw, outer, known))
    else:
        to_parse, facts = raw, PgpFacts()
    if offered is None and facts.decrypted:
        # Thunderbird attaches the sender's key inside the encryption.
        inner = BytesParser(policy=email.policy.compat32).parsebytes(to_parse)
        offered, offered_by = _attached_key(inner, sender), "attachment"
    if offered is not None:
        facts = _with_key(facts, offered, offered_by)
    return to_parse, facts


def _with_key(facts: PgpFacts, key: str, by: str) -> PgpFacts:
    return PgpFacts(
        form=facts.form,
        decrypted=facts.decrypted,
        problem=facts.problem,
        signature=facts.signature,
        offered_key=key,
        offered_by=by,
    )


# --------------------------------------------------------------------------- PGP/MIME


def _is_pgp_mime(message: Message) -> bool:
    return (
        message.get_content_type() == "multipart/encrypted"
        and (message.get_param("protocol") or "").lower() == "application/pgp-encrypted"
    )


def _pgp_mime(
    raw: bytes, head: bytes, outer: Message, desk: DeskKeyMaterial | None, known: list
) -> tuple[bytes, PgpFacts]:
    cipher = _pgp_mime_payload(outer)
    if desk is None or cipher is None:
        problem = "no-desk-key" if desk is None else "corrupt"
        return _without_body(head), PgpFacts(form="pgp-mime", problem=problem)
    try:
        plaintext, signature = decrypt(cipher, desk, known)
    except PgpError as exc:
        return _without_body(head), PgpFacts(form="pgp-mime", problem=str(exc))
    entity = BytesParser(policy=email.policy.compat32).parsebytes(plaintext)
    if signature.status == "none" and _is_pgp_signed(entity):
        signature = _detached(plaintext, entity, known)
    inner_subject = entity.get("subject")
    drop = set(_BODY_FIELDS)
    if inner_subject is not None:
        drop.add("subject")  # protected headers: the inner Subject is the real one
    kept_outer = _fields(head, drop)
    if entity.keys():
        inner_head, inner_body = _split(plaintext)
    else:  # bare text where a MIME entity belongs: read it as text
        inner_head, inner_body = b"Content-Type: text/plain; charset=utf-8", plaintext
    # Of the inner entity's own fields only those describing the body, and the protected
    # Subject, are taken: sender, recipients and above all Authentication-Results stay
    # what the MTA saw and checked, whatever the sender put inside.
    kept_inner = [
        (n, f) for n, f in _fields(inner_head, set()) if n.startswith("content-") or n == "subject"
    ]
    return (
        _join([f for _, f in kept_outer] + [f for _, f in kept_inner], inner_body),
        PgpFacts(form="pgp-mime", decrypted=True, signature=signature),
    )


def _is_pgp_signed(message: Message) -> bool:
    return (
        message.get_content_type() == "multipart/signed"
        and (message.get_param("protocol") or "").lower() == "application/pgp-signature"
    )


def _pgp_mime_payload(outer: Message) -> bytes | None:
    parts = outer.get_payload()
    if not isinstance(parts, list) or len(parts) < 2:
        return None
    payload = parts[1].get_payload(decode=True)
    return payload if isinstance(payload, bytes) and payload.strip() else None


def _detached(plaintext: bytes, entity: Message, known: list) -> SignatureCheck:
    """RFC 3156 signed-then-encrypted: verify the first part's exact bytes (CRLF)."""
    boundary = entity.get_boundary()
    parts = entity.get_payload()
    if not boundary or not isinstance(parts, list) or len(parts) < 2:
        return SignatureCheck("unverified")
    signature = parts[1].get_payload(decode=True)
    delimiter = b"--" + boundary.encode("ascii", "replace")
    _, body = _split(plaintext)
    pieces = re.split(rb"(?:\r?\n)?" + re.escape(delimiter) + rb"[^\r\n]*\r?\n", body, maxsplit=2)
    if len(pieces) < 3 or not isinstance(signature, bytes):
        return SignatureCheck("unverified")
    signed = re.sub(rb"\r?\n", b"\r\n", pieces[1])
    return verify_detached(signed, signature, known)


# --------------------------------------------------------------------------- inline


def _inline(outer: Message, desk: DeskKeyMaterial | None, known: list) -> tuple[bytes, PgpFacts]:
    problem: str | None = None
    signature = SignatureCheck("none")
    decrypted_any = False
    for part in outer.walk():
        if part.get_content_type() != "text/plain" or part.is_multipart():
            continue
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes) or b"-----BEGIN PGP MESSAGE-----" not in payload:
            continue
        charset = part.get_content_charset() or "utf-8"
        text = payload.decode(_codec(charset), errors="replace")

        def replace(match: re.Match[str]) -> str:
            nonlocal problem, signature, decrypted_any
            if desk is None:
                problem = "no-desk-key"
                return UNDECRYPTABLE_NOTE
            try:
                plain, check = decrypt(match.group(0).encode("ascii", "replace"), desk, known)
            except PgpError as exc:
                problem = problem or str(exc)
                return UNDECRYPTABLE_NOTE
            decrypted_any = True
            if check.status != "none":
                signature = check
            return _decode_text(plain)

        text = _ARMOR_TEXT.sub(replace, text)
        del part["content-transfer-encoding"]
        part.set_payload(text.encode("utf-8"), "utf-8")
    facts = PgpFacts(
        form="inline",
        decrypted=decrypted_any and problem is None,
        problem=problem,
        signature=signature,
    )
    return outer.as_bytes(), facts


def _decode_text(plain: bytes) -> str:
    try:
        return plain.decode("utf-8")
    except UnicodeDecodeError:
        return plain.decode("latin-1")


def _codec(charset: str) -> str:
    try:
        "".encode(charset)
    except (LookupError, ValueError):
        return "utf-8"
    return charset


# --------------------------------------------------------------------------- keys offered


def _sender(message: Message) -> str | None:
    found = getaddresses([str(v) for v in message.get_all("from") or []])
    addresses = [a.lower() for _, a in found if "@" in a]
    return addresses[0] if len(addresses) == 1 else None


def _autocrypt_key(message: Message, sender: str | None) -> str | None:
    """Autocrypt Level 1: `addr=` must be the From address; `keydata=` is the base64 of the
    binary key. Attributes starting with "_" are optional; any other unknown one voids it."""
    if sender is None:
        return None
    for value in message.get_all("autocrypt") or []:
        attributes: dict[str, str] = {}
        for item in re.sub(r"\s+", " ", str(value)).split(";"):
            name, sep, content = item.strip().partition("=")
            if sep:
                attributes[name.strip().lower()] = content.strip()
        unknown = set(attributes) - {"addr", "keydata", "prefer-encrypt"}
        if any(not name.startswith("_") for name in unknown):
            continue
        if attributes.get("addr", "").lower() != sender or "keydata" not in attributes:
            continue
        try:
            keydata = base64.b64decode(attributes["keydata"].replace(" ", ""), validate=True)
        except (binascii.Error, ValueError):
            continue
        key = _checked_key(keydata, sender, require_user_id=False)
        if key is not None:
            return key
    return None


def _attached_key(message: Message, sender: str | None) -> str | None:
    if sender is None:
        return None
    for part in message.walk():
        if part.get_content_type() != "application/pgp-keys":
            continue
        data = part.get_payload(decode=True)
        if isinstance(data, bytes):
            key = _checked_key(data, sender, require_user_id=True)
            if key is not None:
                return key
    return None


def _checked_key(data: bytes, sender: str, require_user_id: bool) -> str | None:
    """The armoured certificate when it can be encrypted to and (for an attached key, which
    may be anyone's) names the sender in a user ID; Autocrypt binds the key to `addr=`."""
    try:
        cert = load_cert(data)
    except PgpError:
        return None
    if require_user_id and sender not in cert_addresses(cert):
        return None
    if not can_encrypt_to(cert):
        return None
    return str(cert)


def _usable(key: bytes) -> bool:
    try:
        load_cert(key)
    except PgpError:
        return False
    return True


# --------------------------------------------------------------------------- header bytes


def _split(raw: bytes) -> tuple[bytes, bytes]:
    match = _HEADER_END.search(raw)
    if match is None:
        return raw, b""
    return raw[: match.start()], raw[match.end() :]


def _fields(head: bytes, drop: set[str]) -> list[tuple[str, bytes]]:
    """The header's fields as (lower-cased name, bytes with folding kept), minus `drop`."""
    fields: list[tuple[str, bytes]] = []
    for line in re.split(rb"\r?\n", head):
        if line[:1] in (b" ", b"\t") and fields:
            name, value = fields[-1]
            fields[-1] = (name, value + b"\r\n" + line)
            continue
        name = line.split(b":", 1)[0].strip().lower().decode("ascii", "replace")
        fields.append((name, line))
    return [(n, f) for n, f in fields if n not in drop]


def _join(fields: list[bytes], body: bytes) -> bytes:
    return b"\r\n".join(fields) + b"\r\n\r\n" + body


def _without_body(head: bytes) -> bytes:
    """The outer header over a body that says only that it could not be read."""
    kept = [f for _, f in _fields(head, set(_BODY_FIELDS))]
    kept += [b"MIME-Version: 1.0", b"Content-Type: text/plain; charset=utf-8"]
    return _join(kept, UNDECRYPTABLE_NOTE.encode("utf-8") + b"\r\n")


# --------------------------------------------------------------------------- the parse


@dataclass(frozen=True)
class PgpInput:
    """What the parse worker needs for OpenPGP: the desk's key (None without `[pgp]`) and
    the reporters' keys the desk knows, to check signatures with. Plain bytes: it pickles."""

    desk: DeskKeyMaterial | None = None
    known_keys: tuple[bytes, ...] = ()


def parse_incoming(raw: bytes, pgp: PgpInput | None = None) -> InboundMail:
    """`parse_message` of the mail, decrypted first when it is encrypted; raises ParseError
    only, like `parse_message`."""
    pgp = pgp or PgpInput()
    try:
        unwrapped = unwrap(raw, pgp.desk, pgp.known_keys)
    except Exception as exc:  # hostile MIME: one exception type, as parse_message promises
        raise ParseError(f"openpgp: {type(exc).__name__}") from exc
    if unwrapped is None:
        return parse_message(raw)
    to_parse, facts = unwrapped
    return dataclasses.replace(parse_message(to_parse), pgp=facts)


def readable(raw: bytes, desk: DeskKeyMaterial | None) -> bytes:
    """The message as its reader sees it, for taking its attachments: the decrypted message
    of an encrypted mail (empty when it cannot be decrypted: cipher text is no attachment),
    else `raw` itself."""
    try:
        unwrapped = unwrap(raw, desk)
    except Exception:  # the parse worker read this mail already; here it is only a bonus
        return raw
    if unwrapped is None or not unwrapped[1].encrypted:
        return raw
    return unwrapped[0] if unwrapped[1].decrypted else b""
