"""Staff reminded before an embargo ends: 10 and 2 working days before (issue 16).

An embargo is a promise to the reporter and, usually, a publication the team has to prepare;
both need warning in working days (a Friday-evening end after Christmas leaves little time).
Each reminder is recorded as a `JobRun` keyed on the case, the step and the embargo day, so it
goes once, a moved embargo gets its own reminders, and a run after a restart or a late run
changes nothing but timing. When a run first sees a case already inside the 2-day window (the
embargo was set late, or the daemon was down), only the 2-day reminder goes: two at once
would say nothing more.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailtriage.desk.replies import Replies
from mailtriage.policy.workdays import Calendar
from mailtriage.store.models import Case, CaseEvent, JobRun

__all__ = ["REMINDER_WORKDAYS", "embargo_reminders", "workdays_before"]

REMINDER_WORKDAYS = (10, 2)  # the most distant first
JOB = "embargo-reminder"


def workdays_before(calendar: Calendar, day: dt.date, count: int) -> dt.date:
    """The working day `count` working days before `day`."""
    found = 0
    while found < count:
        day -= dt.timedelta(days=1)
        if calendar.is_workday(day):
            found += 1
    return day


def embargo_reminders(
    session: Session, calendar: Calendar, tz: dt.tzinfo, replies: Replies, now: dt.datetime
) -> int:
    """Queue the reminders that are due; the number queued."""
    today = now.astimezone(tz).date()
    if not calendar.is_workday(today):
        return 0
    sent = 0
    cases = session.scalars(
        select(Case).where(Case.embargo_until.is_not(None), Case.embargo_until > now)
    )
    for case in cases:
        assert case.embargo_until is not None
        end_day = case.embargo_until.astimezone(tz).date()
        due = [n for n in REMINDER_WORKDAYS if today >= workdays_before(calendar, end_day, n)]
        if not due:
            continue
        step = min(due)  # the most imminent step that is due
        keys = {n: f"{case.id}:{n}:{end_day.isoformat()}" for n in REMINDER_WORKDAYS}
        if session.get(JobRun, (JOB, keys[step])) is not None:
            continue
        left = calendar.workdays_between(today, end_day)
        replies.notify_staff(session, "staff_embargo_reminder", {"workdays_left": left}, case=case)
        case.events.append(
            CaseEvent(
                at=now, kind="embargo-reminder", detail={"day": today.isoformat(), "next": step}
            )
        )
        for n in due:  # an earlier step that was missed is not sent after a later one
            if session.get(JobRun, (JOB, keys[n])) is None:
                session.add(JobRun(job=JOB, key=keys[n], at=now))
        sent += 1
    return sent


def active_embargoes(session: Session, now: dt.datetime) -> list[dict[str, str]]:
    """Every embargo not yet over, soonest first, for the digest."""
    cases = session.scalars(
        select(Case)
        .where(Case.embargo_until.is_not(None), Case.embargo_until > now)
        .order_by(Case.embargo_until)
    )
    return [
        {"ref": c.ref, "until": c.embargo_until.isoformat(), "state": c.state}  # type: ignore[union-attr]
        for c in cases
    ]
