"""Address lists, message ids, the return path and the date of a message, as the plain,
bounded values `InboundMail` holds.

These headers are free text written by the sender: names in raw 8-bit bytes, "addresses"
without a domain or with brackets inside, thousands of References, dates without a zone.
What is taken from them is checked and bounded here. Asking mail-parser first, where it
reads a field better, stays in message.py, the one module that imports it.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import re

from mailtriage.inbound.mime.charsets import ESCAPED_BYTE, FOLD, decode_bytes, header_text
from mailtriage.inbound.mime.limits import MAX_IDS, MAX_NAME_CHARS, MAX_PARTS, RAW_HEADER_CHARS

_BAD_ADDRESS_CHAR = re.compile(r"[\s<>()\[\],;\\\"\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def split_address_list(raw: str, hint: str | None) -> list[tuple[str, str]]:
    """(name, address) pairs of a raw address header, its 8-bit bytes decoded first (with
    `hint` the body's charset) so the stdlib splits clean text."""
    text = FOLD.sub("", raw[:RAW_HEADER_CHARS])
    if ESCAPED_BYTE.search(text):
        text = decode_bytes(text.encode("utf-8", "surrogateescape"), hint)
    try:
        return email.utils.getaddresses([text])
    except Exception:
        return []


def usable_addresses(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The (display name, address) pairs worth keeping, each once, in order: the address
    lower-cased and plausible, the name one clean line ("" when it only repeats the address).
    """
    result: list[tuple[str, str]] = []
    for name, address in pairs[:MAX_PARTS]:
        made = _address(str(name), str(address))
        if made is not None and made not in result:
            result.append(made)
    return result


def _address(name: str, address: str) -> tuple[str, str] | None:
    address = address.strip().lower()
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain or len(address) > 320:
        return None
    if _BAD_ADDRESS_CHAR.search(domain) or _BAD_ADDRESS_CHAR.search(local.strip('"')):
        return None
    display = header_text(name, MAX_NAME_CHARS)
    if display.lower() == address:
        display = ""
    return display, address


def return_path_address(value: str | None) -> str | None:
    """The envelope sender of a Return-Path header, without brackets; "" for the null sender."""
    if value is None:
        return None
    text = header_text(value, 1_000)
    match = re.search(r"<([^<>]*)>", text)
    inner = match.group(1) if match else text
    return inner.strip().lower()[:320]


# Real message ids are well under 250 characters (RFC 5322 allows a 998-character line); a
# longer "id" is noise, and a bound on each keeps every match cheap.
MAX_ID_CHARS = 250
# In-Reply-To and References headers read per message, and characters read of each: a real
# mail has one of each, a long thread's References some kilobytes. A mail of sixty 64 kB
# References headers (or 40 MB of them) is an attack on the scan, not a thread.
MAX_ID_HEADERS = 10
ID_HEADER_CHARS = 32_000
_MESSAGE_ID = re.compile(rf"<([^<>\s]{{1,{MAX_ID_CHARS}}}+)>")
_BARE_ID = re.compile(
    rf"(?<![^<>\s])[^<>\s@]{{1,{MAX_ID_CHARS}}}+@[^<>\s]{{1,{MAX_ID_CHARS}}}+(?![^<>\s])"
)


def message_ids(values: list[str]) -> tuple[str, ...]:
    """The message ids in header values, without angle brackets, each once, in order.

    Linear in what is read, which is bounded: at most MAX_ID_HEADERS values of ID_HEADER_CHARS
    each. Duplicates are dropped through a dict (a list lookup per id made 60 headers of
    64 kB take 13 s).
    """
    ids: dict[str, None] = {}
    for value in values[:MAX_ID_HEADERS]:
        text = header_text(value, ID_HEADER_CHARS, limit_raw=ID_HEADER_CHARS)
        found = _MESSAGE_ID.findall(text) or _BARE_ID.findall(text)
        ids.update(dict.fromkeys(found))
    unique = list(ids)
    if len(unique) > MAX_IDS:
        # Threading needs the root and the most recent parents; the middle can go.
        unique = [unique[0], *unique[-(MAX_IDS - 1) :]]
    return tuple(unique)


def date_from_header(raw: str | None) -> dt.datetime | None:
    """The Date header as the stdlib reads it, in UTC; None when it is no date."""
    if not raw:
        return None
    try:
        value = email.utils.parsedate_to_datetime(header_text(raw, 200))
    except Exception:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)  # RFC 5322 "-0000": UTC, origin unknown
    try:
        return value.astimezone(dt.UTC)
    except (OverflowError, ValueError):
        return None
