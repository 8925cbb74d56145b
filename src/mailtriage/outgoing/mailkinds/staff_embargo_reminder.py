"""To staff: an embargo ends in 10 (then 2) working days; publication is to be prepared."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from mailtriage.outgoing.mailkinds._base import LetterError, MailKind, Payload, Source
from mailtriage.outgoing.mailkinds._shared import masked_subject


@dataclass(frozen=True)
class EmbargoReminderPayload(Payload):
    ref: str
    until: dt.datetime  # local end of the embargo day
    workdays_left: int
    subject: str  # masked
    state: str
    severity: str | None
    owner: str | None
    cve: str | None


class StaffEmbargoReminder(MailKind[EmbargoReminderPayload]):
    name = "staff_embargo_reminder"
    audience = "staff"
    guard = "none"
    forms = ("en",)

    def build(self, source: Source) -> EmbargoReminderPayload:
        case = source.case()
        if case.embargo_until is None:
            raise LetterError("staff_embargo_reminder: the embargo was lifted meanwhile")
        return EmbargoReminderPayload(
            ref=case.ref,
            until=case.embargo_until.astimezone(source.tz),
            workdays_left=int(source.saved.get("workdays_left", 0)),
            subject=masked_subject(case),
            state=case.state,
            severity=case.severity,
            owner=case.owner,
            cve=case.cve,
        )


KINDS = (StaffEmbargoReminder,)
