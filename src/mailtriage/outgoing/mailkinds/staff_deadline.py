"""Staff's reminder before the first-response deadline and escalation after it.

One family: both describe late answers, so they share a payload. Each is consolidated: one
mail per recipient (the case's owner, else `staff_notify`) per working day, listing every case
it concerns (masked subject, severity, owner, state, how far past due), so a desk that fell
behind gets a list, not a flood. A list of one reads as the single-case mail always did, with
the case tag in the subject so a reply threads into the case.

The row keeps only the case ids and how many working days each is overdue; the lines are
rebuilt from the store at delivery. A row queued by an older version (one case: the row's own,
`overdue_workdays` in its context) still builds.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select

from mailtriage.outgoing.mailkinds._base import LetterError, MailKind, Payload, Source
from mailtriage.outgoing.mailkinds._shared import masked_subject
from mailtriage.store.models import Case


@dataclass(frozen=True)
class DeadlineLine:
    ref: str
    due_date: dt.datetime
    overdue_workdays: int
    subject: str  # masked
    severity: str | None
    owner: str | None
    state: str


@dataclass(frozen=True)
class DeadlinePayload(Payload):
    first_response_workdays: int
    cases: tuple[DeadlineLine, ...]  # the most overdue first, then by due moment


class _Deadline(MailKind[DeadlinePayload]):
    audience = "staff"
    guard = "none"
    forms = ("en",)

    def build(self, source: Source) -> DeadlinePayload:
        saved = source.saved
        listed = saved.get("cases")
        if listed is None:  # queued by an older version: one case, the row's own
            listed = [
                {"case": source.case().id, "overdue_workdays": saved.get("overdue_workdays", 0)}
            ]
        overdue = {int(item["case"]): int(item.get("overdue_workdays", 0)) for item in listed}
        cases = source.session.scalars(select(Case).where(Case.id.in_(overdue))).all()
        lines = [
            DeadlineLine(
                ref=case.ref,
                due_date=case.first_response_due.astimezone(source.tz),
                overdue_workdays=overdue[case.id],
                subject=masked_subject(case),
                severity=case.severity,
                owner=case.owner,
                state=case.state,
            )
            for case in cases
            if case.first_response_due is not None
        ]
        if not lines:
            raise LetterError(f"{self.name}: none of its cases is left")
        lines.sort(key=lambda line: (-line.overdue_workdays, line.due_date, line.ref))
        return DeadlinePayload(
            first_response_workdays=source.config.deadlines.first_response_workdays,
            cases=tuple(lines),
        )


class StaffReminder(_Deadline):
    name = "staff_reminder"


class StaffEscalation(_Deadline):
    name = "staff_escalation"


KINDS = (StaffReminder, StaffEscalation)
