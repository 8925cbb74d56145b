"""To the one staff member who sent `#attachments`: the case's files in an AES-encrypted ZIP.

The ZIP is built at the first delivery attempt from the stored raw mail (like a relay's
files) and the outbox keeps the composed bytes, so a retry sends the very same ZIP. Large
sets were split into parts when the command was applied (`casefiles.split`); each part is
its own row and mail, `REF-attachments-1-of-3.zip` and so on, `report.txt` in the first.

Never to anyone but staff: the command queues it only for an address in `cases.staff`, and
the builder checks that again at delivery, against the configuration of that moment.
"""

from __future__ import annotations

from dataclasses import dataclass

from mailtriage.inbound.openpgp import desk_key_material
from mailtriage.outgoing.casefiles import (
    REPORT_NAME,
    CaseFile,
    case_files,
    encrypted_zip,
    masked_report,
)
from mailtriage.outgoing.compose import OutgoingFile
from mailtriage.outgoing.mailkinds._base import LetterError, MailKind, Payload, Source

DEFAULT_PASSWORD = "infected"


@dataclass(frozen=True)
class FileLine:
    name: str
    size: int
    content_type: str


@dataclass(frozen=True)
class AttachmentsPayload(Payload):
    ref: str
    part: int  # 1-based
    parts: int
    zip_name: str
    files: tuple[FileLine, ...]  # in this part's ZIP
    report_included: bool  # report.txt is in this part
    password_hint: str  # the password itself only when it is the well-known default
    max_mail_bytes: int


class StaffAttachments(MailKind[AttachmentsPayload]):
    name = "staff_attachments"
    audience = "staff"
    guard = "none"
    forms = ("en",)

    def build(self, source: Source) -> AttachmentsPayload:
        case, saved, config = source.case(), source.saved, source.config
        staff = frozenset(a.lower() for a in config.cases.staff)
        if (source.row.recipient or "").lower() not in staff:
            raise LetterError("staff_attachments: the recipient is not (or no longer) staff")
        files = _selected(source)
        part, parts = int(saved.get("part", 1)), int(saved.get("parts", 1))
        suffix = f"-{part}-of-{parts}" if parts > 1 else ""
        password = config.cases.attachment_zip_password
        return AttachmentsPayload(
            ref=case.ref,
            part=part,
            parts=parts,
            zip_name=f"{case.ref}-attachments{suffix}.zip",
            files=tuple(FileLine(f.name, len(f.data), f.content_type) for f in files),
            report_included=part == 1,
            password_hint=(
                f'"{password}"'
                if password == DEFAULT_PASSWORD
                else "the desk's ZIP password (cases.attachment_zip_password)"
            ),
            max_mail_bytes=config.cases.attachment_mail_max_bytes,
        )

    def files(self, source: Source, payload: AttachmentsPayload) -> list[OutgoingFile]:
        case = source.case()
        staff = frozenset(a.lower() for a in source.config.cases.staff)
        members = [(f.name, f.data) for f in _selected(source)]
        if payload.report_included:
            members.insert(0, (REPORT_NAME, masked_report(case, staff).encode("utf-8")))
        data = encrypted_zip(members, source.config.cases.attachment_zip_password)
        return [OutgoingFile(payload.zip_name, "application/zip", data)]


def _selected(source: Source) -> list[CaseFile]:
    case = source.case()
    staff = frozenset(a.lower() for a in source.config.cases.staff)
    pgp = source.config.pgp
    every = case_files(
        source.session, case, staff, desk_key_material(pgp.key_file, pgp.passphrase_file)
    )
    wanted = source.saved.get("files")
    if wanted is None:
        return every
    return [every[i] for i in wanted if 0 <= i < len(every)]


KINDS = (StaffAttachments,)
