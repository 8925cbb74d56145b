"""Staff's notice that a message could not be processed and waits in quarantine."""

from __future__ import annotations

from dataclasses import dataclass

from mailtriage.outgoing.mailkinds._base import MailKind, Payload, Source


@dataclass(frozen=True)
class QuarantinePayload(Payload):
    quarantine_id: int
    reason: str  # masked by the template


class StaffQuarantine(MailKind[QuarantinePayload]):
    name = "staff_quarantine"
    audience = "staff"
    guard = "none"
    forms = ("en",)

    def build(self, source: Source) -> QuarantinePayload:
        message = source.message(source.saved["message"])
        return QuarantinePayload(quarantine_id=message.id, reason=message.quarantine_reason or "")


KINDS = (StaffQuarantine,)
