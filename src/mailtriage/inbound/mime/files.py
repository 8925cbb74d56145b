"""The files attached to a stored mail, as bytes, for relaying a staff member's attachments.

Parsing already recorded each attachment's name, size and hash (`parts.py`); the bytes are
needed only when staff send a file on to a reporter, so they are read here, from the raw
message, at that moment. Inline parts (signature logos and other images with a Content-ID)
are not files anyone meant to send and stay behind.
"""

from __future__ import annotations

import email
import email.policy
from email.message import Message

from mailtriage.inbound.mime.filenames import sanitise_filename

MAX_FILES = 20
MAX_TOTAL_BYTES = 20_000_000


def attached_files(
    raw: bytes, max_files: int = MAX_FILES, max_total: int = MAX_TOTAL_BYTES
) -> list[tuple[str, str, bytes]]:
    """(sanitised filename, content type, bytes) of each real attachment, in order. The
    limits are for relaying to a reporter; a case's evidence for staff passes its own."""
    try:
        message = email.message_from_bytes(raw, policy=email.policy.compat32)
    except Exception:  # a mail this broken was parsed and stored already; send no files
        return []
    files: list[tuple[str, str, bytes]] = []
    total = 0
    for part in message.walk():
        if part.is_multipart() or not _is_attachment(part):
            continue
        data = part.get_payload(decode=True)
        if not isinstance(data, bytes):
            continue
        total += len(data)
        if total > max_total or len(files) >= max_files:
            break
        ctype = part.get_content_type()
        files.append((sanitise_filename(part.get_filename(), len(files) + 1, ctype), ctype, data))
    return files


def _is_attachment(part: Message) -> bool:
    disposition = (part.get_content_disposition() or "").lower()
    if disposition == "attachment":
        return True
    if disposition == "inline" or part.get("Content-ID"):
        return False
    return part.get_filename() is not None and part.get_content_maintype() != "text"
