"""The store query behind `mailtriage report`: the kept timestamps of cases and automated mail.

Only columns the purge leaves are read (receipt, due, first assessment, closing, category,
close reason, the acknowledgement's sending time, an automated mail's arrival), so a purged
month reports the same figures as before. The figures themselves are computed in
`policy/metrics.py`, which needs no store to be tested.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mailtriage.config import DeadlinesConfig
from mailtriage.policy.metrics import CaseTimes, MonthFigures, month_of, monthly_figures
from mailtriage.policy.metrics import months_between as _months_between
from mailtriage.policy.workdays import Calendar
from mailtriage.store.models import Case, MessageStatus, OutboxMail, OutboxStatus, StoredMessage
from mailtriage.store.types import UTCDateTime


def case_times(
    session: Session, since: dt.datetime | None = None, until: dt.datetime | None = None
) -> list[CaseTimes]:
    """Every report and redirect case received in [since, until), with the moment its
    acknowledgement was sent (the first one that was)."""
    acknowledged = (
        select(
            OutboxMail.case_id.label("case_id"),
            func.min(OutboxMail.sent_at, type_=UTCDateTime()).label("sent_at"),
        )
        .where(OutboxMail.kind == "acknowledgement", OutboxMail.status == OutboxStatus.SENT)
        .group_by(OutboxMail.case_id)
        .subquery()
    )
    query = (
        select(Case, acknowledged.c.sent_at)
        .outerjoin(acknowledged, acknowledged.c.case_id == Case.id)
        .where(Case.category.in_(("report", "redirect")))
        .order_by(Case.received_at, Case.id)
    )
    if since is not None:
        query = query.where(Case.received_at >= since)
    if until is not None:
        query = query.where(Case.received_at < until)
    return [
        CaseTimes(
            category=case.category,
            received_at=case.received_at,
            acknowledged_at=_utc(sent_at),
            first_response_due=case.first_response_due,
            first_response_at=case.first_response_at,
            closed_at=case.closed_at,
            close_reason=case.close_reason,
        )
        for case, sent_at in session.execute(query)
    ]


def automated_arrivals(
    session: Session, since: dt.datetime | None = None, until: dt.datetime | None = None
) -> list[dt.datetime]:
    """When each automated mail arrived (its category stays `auto` through the purge)."""
    query = select(StoredMessage.arrived_at).where(
        StoredMessage.category == "auto",
        StoredMessage.status.in_((MessageStatus.AUTO, MessageStatus.PURGED)),
    )
    if since is not None:
        query = query.where(StoredMessage.arrived_at >= since)
    if until is not None:
        query = query.where(StoredMessage.arrived_at < until)
    return list(session.scalars(query))


def report_months(
    session: Session,
    deadlines: DeadlinesConfig,
    now: dt.datetime,
    first_day: dt.date | None = None,
    last_day: dt.date | None = None,
) -> list[MonthFigures]:
    """The figures of every month from `first_day` (default: the first day of the month of
    the first receipt) to `last_day` (default: today), for cases and automated mail received
    on those days (local dates, both inclusive)."""
    tz = deadlines.tz
    today = now.astimezone(tz).date()
    last_day = last_day or today
    if first_day is None:
        first = first_receipt(session)
        first_day = (first.astimezone(tz).date() if first is not None else last_day).replace(day=1)
    if first_day > last_day:
        return []
    since = dt.datetime.combine(first_day, dt.time(), tzinfo=tz)
    until = dt.datetime.combine(last_day + dt.timedelta(days=1), dt.time(), tzinfo=tz)
    months = _months_between(month_of(since, tz), month_of(until - dt.timedelta(seconds=1), tz))
    return monthly_figures(
        case_times(session, since, until),
        automated_arrivals(session, since, until),
        months,
        Calendar.from_config(deadlines),
        tz,
        now,
    )


def first_receipt(session: Session) -> dt.datetime | None:
    """The earliest receipt of a case or automated mail, where a report with no range starts."""
    firsts = [
        session.scalars(
            select(Case.received_at)
            .where(Case.category.in_(("report", "redirect")))
            .order_by(Case.received_at)
            .limit(1)
        ).first(),
        session.scalars(
            select(StoredMessage.arrived_at)
            .where(StoredMessage.category == "auto")
            .order_by(StoredMessage.arrived_at)
            .limit(1)
        ).first(),
    ]
    return min((f for f in firsts if f is not None), default=None)


def _utc(value: dt.datetime | str | None) -> dt.datetime | None:
    """An aggregate may bypass the column type on SQLite: read it back as aware UTC."""
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
