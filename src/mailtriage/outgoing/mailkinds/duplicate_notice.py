"""To the reporter of a case closed as a duplicate: the issue is known, and they will hear
when it is resolved (`#duplicate REF2`). The other case's reference is not named: it is an
internal number that tells the reporter nothing they can use."""

from __future__ import annotations

from dataclasses import dataclass

from mailtriage.outgoing.mailkinds._base import MailKind, Payload, Source


@dataclass(frozen=True)
class DuplicateNoticePayload(Payload):
    ref: str
    credit_name: str | None  # the reporter's own consent stands, per case


class DuplicateNotice(MailKind[DuplicateNoticePayload]):
    name = "duplicate_notice"
    audience = "reporter"
    guard = "recipient"  # once per case, on staff's decision
    forms = ("nl", "en")

    def build(self, source: Source) -> DuplicateNoticePayload:
        case = source.case()
        return DuplicateNoticePayload(
            ref=case.ref, credit_name=case.credit_name if case.credit_consent else None
        )


KINDS = (DuplicateNotice,)
