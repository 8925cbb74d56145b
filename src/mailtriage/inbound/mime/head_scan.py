"""Whose is an unparsed message: a bounded look at its raw header block only.

Mail over `max_message_bytes`, or mail that broke the parser, sits in quarantine without any
parsed facts. The purge still has to know whether such a mail belongs to a reporter whose
case is being erased, so it reads the sender, subject and threading ids from the first
`HEAD_SCAN_BYTES` of the raw bytes: never the body, never more than that prefix (a mail may
be a hundred megabytes, or built to make a full parser work hard). What is not found within
the prefix simply links nothing; such mail still goes with the quarantine retention.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mailtriage.inbound.mime.charsets import FOLD, header_text
from mailtriage.inbound.mime.header_fields import message_ids, split_address_list, usable_addresses
from mailtriage.inbound.mime.limits import MAX_HEADERS, MAX_SUBJECT_CHARS, RAW_HEADER_CHARS

HEAD_SCAN_BYTES = 64 * 1024
_WANTED = ("from", "subject", "in-reply-to", "references")
_BLANK_LINE = re.compile(rb"\r?\n\r?\n|\r\r")
_FIELD = re.compile(r"([!-9;-~]{1,200})[ \t]*:(.*)", re.DOTALL)


@dataclass(frozen=True)
class HeadFacts:
    """What a raw header block says about who wrote a mail and what it answers."""

    sender: str | None  # lower case, as `InboundMail.sender.address`
    subject: str
    thread_ids: tuple[str, ...]  # In-Reply-To then References, without angle brackets


def head_facts(prefix: bytes) -> HeadFacts:
    """The facts of the header block at the start of `prefix` (at most HEAD_SCAN_BYTES)."""
    fields = _fields(_header_block(prefix[:HEAD_SCAN_BYTES]))
    senders = (
        usable_addresses(split_address_list(fields["from"][0], None)) if fields["from"] else []
    )
    subject = header_text(fields["subject"][0], MAX_SUBJECT_CHARS) if fields["subject"] else ""
    return HeadFacts(
        sender=senders[0][1] if senders else None,
        subject=subject,
        thread_ids=message_ids([*fields["in-reply-to"], *fields["references"]]),
    )


def _header_block(prefix: bytes) -> str:
    """The header block: up to the first empty line, else up to the last whole line."""
    found = _BLANK_LINE.search(prefix)
    if found is not None:
        block = prefix[: found.start()]
    else:
        cut = max(prefix.rfind(b"\n"), prefix.rfind(b"\r"))
        block = prefix[:cut] if cut > 0 else prefix
    # Raw 8-bit bytes survive as surrogate escapes, which the address splitter decodes.
    return block.decode("utf-8", "surrogateescape")


def _fields(block: str) -> dict[str, list[str]]:
    """The wanted fields' values (unfolded), in order, from at most MAX_HEADERS fields."""
    found: dict[str, list[str]] = {name: [] for name in _WANTED}
    unfolded = FOLD.sub("", block)
    for line in unfolded.splitlines()[:MAX_HEADERS]:
        match = _FIELD.match(line)
        if match is None:
            continue  # an mbox "From " line, or junk: not a field
        name = match.group(1).lower()
        if name in found:
            found[name].append(match.group(2)[:RAW_HEADER_CHARS])
    return found
