"""Staff's copy of what the reporter wrote on a case: the new text only, masked.

A reply to a closed case says so up front, as it was when the reply came: staff must not
take it for a live conversation.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from mailtriage.inbound.replytext import reporter_new_text
from mailtriage.outgoing.mailkinds._base import MailKind, Payload, Source
from mailtriage.outgoing.mailkinds._shared import AttachmentLine, masker, pgp_note


@dataclass(frozen=True)
class ClosedNote:
    reason: str
    at: dt.datetime


@dataclass(frozen=True)
class ReporterReplyPayload(Payload):
    ref: str
    credit: str | None  # the credit line the reporter asked for, if they did
    how: str  # how the mail found its case ("follow-up-by-reference", ...)
    closed: ClosedNote | None
    cut: bool  # the quoted history was left out
    subject: str
    text: str
    attachments: tuple[AttachmentLine, ...]
    encryption: str = ""  # what OpenPGP made of the reply ("" when not encrypted or signed)


class StaffReporterReply(MailKind[ReporterReplyPayload]):
    name = "staff_reporter_reply"
    audience = "staff"
    guard = "none"
    forms = ("en",)

    def build(self, source: Source) -> ReporterReplyPayload:
        case, saved = source.case(), source.saved
        message = source.message(saved["message"])
        masked = masker(case)
        new, cut = reporter_new_text(message.text_body or "")
        closed = saved.get("closed")
        return ReporterReplyPayload(
            ref=case.ref,
            credit=saved.get("credit"),
            how=saved.get("how") or "",
            closed=ClosedNote(closed["reason"], source.local(closed["at"])) if closed else None,
            cut=cut,
            subject=masked(message.subject),
            text=masked(new),
            attachments=tuple(AttachmentLine.of(a, case) for a in message.attachments),
            encryption=pgp_note(message.pgp),
        )


KINDS = (StaffReporterReply,)
