"""Staff's reminders and escalation for a reporting obligation step (`#exploited`, `#incident`).

One family: a reminder (at half time, and 2 h before the due moment) and the escalation once
the step has passed, about the same step of the same clock, so they share a payload. The
payload is rebuilt from the obligation row at sending, so a step reported in the meantime
still shows as reported rather than nagging with stale news.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select

from mailtriage.outgoing.mailkinds._base import LetterError, MailKind, Payload, Source
from mailtriage.outgoing.mailkinds._shared import masked_subject
from mailtriage.store.models import Obligation

LAWS = {
    "exploited": "an actively exploited vulnerability (EU Cyber Resilience Act, art. 14)",
    "incident": "a significant incident (NIS2 art. 23, Cyberbeveiligingswet)",
}


@dataclass(frozen=True)
class StepLine:
    step: str
    due: dt.datetime | None  # local; None while an exploited final report waits for `resolved`
    reported_at: dt.datetime | None


@dataclass(frozen=True)
class ObligationPayload(Payload):
    ref: str
    kind: str  # exploited | incident
    law: str
    step: str
    notice: str  # half-time | due-soon | escalation
    started_at: dt.datetime  # local
    due: dt.datetime  # local
    reported_at: dt.datetime | None  # set when the step was filed after this was queued
    steps: tuple[StepLine, ...]
    subject: str  # masked
    severity: str | None
    owner: str | None


class _ObligationKind(MailKind[ObligationPayload]):
    audience = "staff"
    guard = "none"
    forms = ("en",)

    def build(self, source: Source) -> ObligationPayload:
        case = source.case()
        row = source.session.get(Obligation, source.saved.get("obligation"))
        if row is None or row.due is None or row.case_id != case.id:
            raise LetterError(f"{self.name}: the obligation is gone")
        tz = source.tz
        siblings = sorted(
            (o for o in case_obligations(source, case.id) if o.kind == row.kind),
            key=lambda o: ("early-warning", "notification", "final").index(o.step),
        )
        return ObligationPayload(
            ref=case.ref,
            kind=row.kind,
            law=LAWS.get(row.kind, row.kind),
            step=row.step,
            notice=str(source.saved.get("notice", "")),
            started_at=row.started_at.astimezone(tz),
            due=row.due.astimezone(tz),
            reported_at=row.reported_at.astimezone(tz) if row.reported_at else None,
            steps=tuple(
                StepLine(
                    o.step,
                    o.due.astimezone(tz) if o.due else None,
                    o.reported_at.astimezone(tz) if o.reported_at else None,
                )
                for o in siblings
            ),
            subject=masked_subject(case),
            severity=case.severity,
            owner=case.owner,
        )


def case_obligations(source: Source, case_id: int) -> list[Obligation]:
    return list(source.session.scalars(select(Obligation).where(Obligation.case_id == case_id)))


class StaffObligationReminder(_ObligationKind):
    name = "staff_obligation_reminder"


class StaffObligationEscalation(_ObligationKind):
    name = "staff_obligation_escalation"


KINDS = (StaffObligationReminder, StaffObligationEscalation)
