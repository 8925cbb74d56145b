"""Staff's warning that a mail claimed a staff address without proving it."""

from __future__ import annotations

from dataclasses import dataclass

from mailtriage.outgoing.mailkinds._base import MailKind, Payload, Source


@dataclass(frozen=True)
class SpoofWarningPayload(Payload):
    address: str  # the staff address claimed
    reason: str
    new_ref: str | None  # the case opened for the mail, if any


class StaffSpoofWarning(MailKind[SpoofWarningPayload]):
    name = "staff_spoof_warning"
    audience = "staff"
    guard = "none"
    forms = ("en",)

    def build(self, source: Source) -> SpoofWarningPayload:
        saved, case = source.saved, source.maybe_case
        return SpoofWarningPayload(
            address=saved["address"], reason=saved["reason"], new_ref=case.ref if case else None
        )


KINDS = (StaffSpoofWarning,)
