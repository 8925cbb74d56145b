"""A case's evidence as files: the attachments of the reporter's mails, byte for byte, and
the report text; in an AES-encrypted ZIP for mail (`#attachments`) or in a folder on the
server (`mailtriage case REF --export DIR`).

Why: an analyst needs the proof of concept, and the only other way to it was the raw mail in
the IMAP `Processed` folder. The bytes come from the stored raw messages (read at the moment
of sending, like a relay's files) and are never altered: the ZIP is checked against them by a
standard tool in the tests. The report text in `report.txt` is masked like every staff copy
(the reporter's address, name and phone numbers), since the ZIP stays in a mailbox beyond
the purge; attachments are not: they are what the reporter sent as evidence.

Only the reporter's mails are read: a staff member's files on the case are their own.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePath

import pyzipper
from sqlalchemy.orm import Session

from mailtriage.inbound.mime.files import attached_files
from mailtriage.inbound.openpgp import DeskKeyMaterial
from mailtriage.inbound.pgpinbound import readable
from mailtriage.outgoing.masking import mask_personal
from mailtriage.store.models import Case, StoredMessage
from mailtriage.store.rawstore import read_raw

__all__ = [
    "REPORT_NAME",
    "CaseFile",
    "case_files",
    "encrypted_zip",
    "export_case",
    "masked_report",
    "split",
]

REPORT_NAME = "report.txt"
# Per mail beyond the base64 of its files: headers, the text part, ZIP directory entries.
MAIL_OVERHEAD = 64 * 1024
NO_LIMIT = 10**12


@dataclass(frozen=True)
class CaseFile:
    name: str  # unique within the case; sanitised when the mail was parsed
    content_type: str
    data: bytes
    message_id: int  # the stored message it came with


def reporter_messages(case: Case, staff: frozenset[str]) -> list[StoredMessage]:
    return [m for m in case.messages if (m.from_address or "").lower() not in staff]


def case_files(
    session: Session, case: Case, staff: frozenset[str], desk: DeskKeyMaterial | None
) -> list[CaseFile]:
    """Every attachment of the reporter's mails on `case`, in the order they arrived, with
    names made unique ("poc (2).py") and never `report.txt`. An encrypted report's files are
    taken from inside the encryption (`desk` is the desk's key)."""
    files: list[CaseFile] = []
    taken = {REPORT_NAME}
    for message in reporter_messages(case, staff):
        raw = read_raw(session, message.id)
        if raw:
            raw = readable(raw, desk)
        if not raw:
            continue
        for name, ctype, data in attached_files(raw, max_files=NO_LIMIT, max_total=NO_LIMIT):
            unique = _unique(name, taken)
            taken.add(unique)
            files.append(CaseFile(unique, ctype, data, message.id))
    return files


def masked_report(case: Case, staff: frozenset[str]) -> str:
    """The report's text (the reporter's first mail), masked for staff."""
    first = next(iter(reporter_messages(case, staff)), None)
    text = first.text_body if first is not None else ""
    return mask_personal(text or "", address=case.reporter_address, name=case.reporter_name)


def split(sizes: list[int], max_mail_bytes: int) -> list[list[int]]:
    """Indices of files per mail, in order, so each mail's estimated size (base64 of the
    files plus overhead) stays under `max_mail_bytes`; a file too large alone goes alone.
    Always at least one (possibly empty) part: the report text goes in the first."""
    parts: list[list[int]] = [[]]
    used = MAIL_OVERHEAD
    for index, size in enumerate(sizes):
        cost = _encoded(size)
        if parts[-1] and used + cost > max_mail_bytes:
            parts.append([])
            used = MAIL_OVERHEAD
        parts[-1].append(index)
        used += cost
    return parts


def encrypted_zip(members: list[tuple[str, bytes]], password: str) -> bytes:
    """One ZIP, every member AES-256 encrypted (WinZip AE-2, which 7-Zip, WinZip and macOS's
    Archive Utility open), deflated."""
    buffer = io.BytesIO()
    with pyzipper.AESZipFile(
        buffer, "w", compression=pyzipper.ZIP_DEFLATED, encryption=pyzipper.WZ_AES
    ) as archive:
        archive.setpassword(password.encode("utf-8"))
        for name, data in members:
            archive.writestr(name, data)
    return buffer.getvalue()


def export_case(
    session: Session,
    case: Case,
    staff: frozenset[str],
    folder: Path,
    desk: DeskKeyMaterial | None = None,
) -> list[Path]:
    """Write the case's files, `report.txt` and every message's text (masked) into `folder`,
    which must not exist yet; readable by its owner only. The paths written."""
    folder.mkdir(mode=0o700, parents=False, exist_ok=False)
    written = [_write(folder / REPORT_NAME, masked_report(case, staff).encode("utf-8"))]
    for item in case_files(session, case, staff, desk):
        written.append(_write(folder / _safe(item.name), item.data))
    messages = folder / "messages"
    messages.mkdir(mode=0o700)
    mask = _masker(case)
    for number, message in enumerate(case.messages, start=1):
        who = "reporter" if (message.from_address or "").lower() not in staff else "staff"
        head = (
            f"Message {number} of case {case.ref} ({who})\n"
            f"Arrived: {message.arrived_at.isoformat()}\n"
            f"Subject: {mask(message.subject or '')}\n\n"
        )
        body = head + mask(message.text_body or "")
        written.append(_write(messages / f"{number:03d}-{who}.txt", body.encode("utf-8")))
    return written


def _masker(case: Case) -> Callable[[str], str]:
    def masked(text: str) -> str:
        return mask_personal(text, address=case.reporter_address, name=case.reporter_name)

    return masked


def _write(path: Path, data: bytes) -> Path:
    # O_EXCL: never through a link planted in the new folder, never over a file.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    return path


def _safe(name: str) -> str:
    """The name as a plain file name in the folder (sanitised at parse time already; this
    is the second lock: no separators, no dot names)."""
    plain = PurePath(name.replace("\\", "/")).name
    return plain if plain not in ("", ".", "..") else "attachment"


def _unique(name: str, taken: set[str]) -> str:
    if name not in taken:
        return name
    stem, dot, suffix = name.rpartition(".")
    if not dot or not stem:
        stem, suffix = name, ""
    n = 2
    while True:
        candidate = f"{stem} ({n}).{suffix}" if suffix else f"{stem} ({n})"
        if candidate not in taken:
            return candidate
        n += 1


def _encoded(size: int) -> int:
    return (size + 2) // 3 * 4 + size // 57 * 2  # base64 with CRLF every 76 characters
