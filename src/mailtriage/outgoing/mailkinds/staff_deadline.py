"""Staff's reminder before the first-response deadline and escalation after it.

One family: both describe the same late answer, so they share a payload.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from mailtriage.outgoing.mailkinds._base import LetterError, MailKind, Payload, Source
from mailtriage.outgoing.mailkinds._shared import masked_subject


@dataclass(frozen=True)
class DeadlinePayload(Payload):
    ref: str
    due_date: dt.datetime
    first_response_workdays: int
    overdue_workdays: int
    subject: str  # masked
    severity: str | None
    owner: str | None
    state: str


class _Deadline(MailKind[DeadlinePayload]):
    audience = "staff"
    guard = "none"
    forms = ("en",)

    def build(self, source: Source) -> DeadlinePayload:
        case = source.case()
        if case.first_response_due is None:
            raise LetterError(f"{self.name}: the case has no due date")
        return DeadlinePayload(
            ref=case.ref,
            due_date=case.first_response_due.astimezone(source.tz),
            first_response_workdays=source.config.deadlines.first_response_workdays,
            overdue_workdays=source.saved.get("overdue_workdays", 0),
            subject=masked_subject(case),
            severity=case.severity,
            owner=case.owner,
            state=case.state,
        )


class StaffReminder(_Deadline):
    name = "staff_reminder"


class StaffEscalation(_Deadline):
    name = "staff_escalation"


KINDS = (StaffReminder, StaffEscalation)
