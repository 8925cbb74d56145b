"""The scheduled work that keeps the policy's promises without anyone remembering to.

Each job reads what is due from the store and records what it did there (a timeline event,
a job run), so running it twice, late, or after a restart changes nothing but timing: no
reminder is sent twice and none is lost. The scheduler only decides how often to ask.

- first-assessment reminders: on the working day before the due day, then an escalation on
  every working day after the due moment passed, until staff answer; consolidated, so each
  recipient (the case's owner, else `staff_notify`) gets at most one reminder and one
  escalation mail a working day, listing its cases;
- progress updates: a case being worked on (`triaged`, `fixing`, `needs-info`) whose reporter
  has heard nothing for `update_interval_workdays` gets the automatic update, staff are told;
- the digest: each working-day morning, what is open, due and overdue, and the embargoes
  still running, to `staff_notify`;
- embargo reminders: 10 and 2 working days before an agreed embargo ends (`embargoes.py`).
- the OAuth2 client certificate: staff are warned 30, 7 and 1 days before it expires.
- the monthly figures: on the first working day of a month, after the digest time, last
  month's figures (`mailtriage report`) with the charts, to `staff_notify`, once;
- reporting obligations (`#exploited`, `#incident`): a reminder at half time and 2 h before
  each step, an escalation once it has passed, to `staff_notify` and the case's owner, each
  once, by night and at weekends too (these clocks are the law's, not office hours).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mailtriage.clock import Clock
from mailtriage.config import Config, ConfigError
from mailtriage.desk import obligations as clocks
from mailtriage.desk.embargoes import active_embargoes, embargo_reminders
from mailtriage.desk.replies import REPORTER_KINDS, AutoReplyLedger, Replies
from mailtriage.mailbox.oauth2 import load_certificate
from mailtriage.outgoing.masking import mask_personal
from mailtriage.policy.cases import State
from mailtriage.policy.obligations import Notice, owed_notice
from mailtriage.policy.workdays import END_OF_DAY, Calendar
from mailtriage.store.db import Store
from mailtriage.store.models import Case, CaseEvent, JobRun, Obligation, OutboxMail

log = logging.getLogger(__name__)


UPDATE_STATES = (State.TRIAGED, State.FIXING, State.NEEDS_INFO)
# Keyed on the promise itself: any open case whose reporter has had no first assessment.
AWAITING_FIRST_RESPONSE = State.OPEN
# Days before the OAuth2 client certificate expires on which staff are warned (once each).
CERTIFICATE_WARNING_DAYS = (30, 7, 1)


@dataclass
class JobReport:
    reminders: int = 0
    escalations: int = 0
    updates: int = 0
    digests: int = 0
    certificate_warnings: int = 0
    obligation_notices: int = 0
    monthly_reports: int = 0


class Jobs:
    def __init__(self, config: Config, store: Store, replies: Replies, clock: Clock) -> None:
        self.config = config
        self.store = store
        self.replies = replies
        self.clock = clock
        self.calendar = Calendar.from_config(config.deadlines)
        self.tz = config.deadlines.tz

    def run_all(self) -> JobReport:
        report = JobReport()
        self.first_response_reminders(report)
        self.embargo_reminders(report)
        self.progress_updates(report)
        self.digest(report)
        self.obligations(report)
        self.monthly_report(report)
        self.certificate_expiry(report)
        return report

    # -- the OAuth2 client certificate -------------------------------------------------

    def certificate_expiry(self, report: JobReport | None = None) -> JobReport:
        """Warn staff when the configured client certificate is 30, 7 or 1 days from
        expiring: one mail per threshold, recorded per certificate (a renewed certificate has
        another thumbprint and starts afresh). A desk that starts with 5 days left gets the
        7-day warning only."""
        report = report or JobReport()
        oauth = self.config.oauth2
        if oauth is None or oauth.certificate_file is None or not self.config.cases.staff_notify:
            return report
        try:
            info = load_certificate(oauth.certificate_file)[2]
        except ConfigError as exc:
            log.warning("certificate expiry check: %s", exc)
            return report
        now = self.clock()
        left = info.not_after - now
        crossed = [d for d in CERTIFICATE_WARNING_DAYS if left <= dt.timedelta(days=d)]
        if not crossed:
            return report

        def key(days: int) -> str:
            return f"{info.thumbprint_sha1[:32]}-{days}"

        with self.store.session() as session:
            if session.get(JobRun, ("certificate-expiry", key(min(crossed)))) is not None:
                return report
            context = {
                "expires_at": info.not_after.isoformat(),
                "days_left": left.days,
                "subject": info.subject,
                "thumbprint": info.thumbprint_sha1,
                "certificate_file": str(oauth.certificate_file),
                "client_id": oauth.client_id,
                "tenant_id": oauth.tenant_id,
            }
            self.replies.notify_staff(session, "staff_certificate_expiry", context)
            # Every threshold already passed is done: one mail, not three, on a late start.
            for days in crossed:
                session.merge(JobRun(job="certificate-expiry", key=key(days), at=now))
            report.certificate_warnings += 1
        log.info("OAuth2 client certificate expires in %d days; staff warned", left.days)
        return report

    # -- first assessment --------------------------------------------------------------

    def first_response_reminders(self, report: JobReport | None = None) -> JobReport:
        """Remind of first assessments due by the end of the next working day, and escalate
        the overdue ones: one reminder and one escalation mail at most per recipient (the
        case's owner, else `staff_notify`) per working day, each listing its cases."""
        report = report or JobReport()
        now = self.clock()
        today = now.astimezone(self.tz).date()
        reminders: dict[str, list[Case]] = {}
        escalations: dict[str, list[tuple[Case, int]]] = {}
        with self.store.session() as session:
            waiting = session.scalars(
                select(Case).where(
                    Case.category == "report",
                    Case.first_response_at.is_(None),
                    Case.first_response_due.is_not(None),
                    Case.purged_at.is_(None),
                    Case.state.in_(AWAITING_FIRST_RESPONSE),
                )
            )
            for case in waiting:
                assert case.first_response_due is not None
                recipient = case.owner or self.config.cases.staff_notify
                if not recipient:
                    continue
                due = case.first_response_due
                due_day = due.astimezone(self.tz).date()
                kinds = self._event_details(session, case, ("reminder", "escalation"))
                if now <= due:
                    reminder_day = self.calendar.previous_workday(due_day)
                    if today >= reminder_day and not kinds["reminder"]:
                        reminders.setdefault(recipient, []).append(case)
                elif today > due_day and self.calendar.is_workday(today):
                    escalated_days = {d.get("day") for d in kinds["escalation"]}
                    if today.isoformat() not in escalated_days:
                        overdue = self.calendar.workdays_between(due_day, today)
                        escalations.setdefault(recipient, []).append((case, overdue))
            for recipient, cases in reminders.items():
                if self._first_today(session, "staff_reminder", recipient, today, now):
                    self._remind(session, recipient, cases)
                    report.reminders += len(cases)
            for recipient, overdue_cases in escalations.items():
                if self._first_today(session, "staff_escalation", recipient, today, now):
                    self._escalate(session, recipient, overdue_cases, today)
                    report.escalations += len(overdue_cases)
        return report

    @staticmethod
    def _first_today(
        session: Session, kind: str, recipient: str, today: dt.date, now: dt.datetime
    ) -> bool:
        """Whether `recipient` has had no `kind` mail today, recording that it has now: one
        mail per recipient per day, whatever the number of passes or processes. (A case
        that qualifies after the day's mail went is in the next working day's.)"""
        who = hashlib.sha256(recipient.lower().encode()).hexdigest()[:16]
        key = f"{today.isoformat()}/{who}"
        if session.get(JobRun, (kind, key)) is not None:
            return False
        session.add(JobRun(job=kind, key=key, at=now))
        return True

    def _remind(self, session: Session, recipient: str, cases: list[Case]) -> None:
        context = {"cases": [{"case": case.id} for case in cases]}
        # A list of one belongs to its case (its timeline shows the mail); a longer one to none.
        self.replies.notify_staff(
            session,
            "staff_reminder",
            context,
            case=cases[0] if len(cases) == 1 else None,
            recipient=recipient,
        )
        for case in cases:
            self._event(case, "reminder", {"due": case.first_response_due.isoformat()})  # type: ignore[union-attr]

    def _escalate(
        self,
        session: Session,
        recipient: str,
        overdue_cases: list[tuple[Case, int]],
        today: dt.date,
    ) -> None:
        context = {
            "cases": [{"case": case.id, "overdue_workdays": days} for case, days in overdue_cases]
        }
        only = overdue_cases[0][0] if len(overdue_cases) == 1 else None
        self.replies.notify_staff(
            session, "staff_escalation", context, case=only, recipient=recipient
        )
        for case, days in overdue_cases:
            self._event(case, "escalation", {"day": today.isoformat(), "overdue_workdays": days})

    # -- embargoes ----------------------------------------------------------------------

    def embargo_reminders(self, report: JobReport | None = None) -> JobReport:
        """Staff reminded 10 and 2 working days before an embargo ends (`embargoes.py`);
        counted with the reminders."""
        report = report or JobReport()
        if not self.config.cases.staff_notify:
            return report
        with self.store.session() as session:
            report.reminders += embargo_reminders(
                session, self.calendar, self.tz, self.replies, self.clock()
            )
        return report

    # -- progress updates --------------------------------------------------------------

    def progress_updates(self, report: JobReport | None = None) -> JobReport:
        report = report or JobReport()
        now = self.clock()
        today = now.astimezone(self.tz).date()
        interval = self.config.deadlines.update_interval_workdays
        with self.store.session() as session:
            cases = list(
                session.scalars(
                    select(Case).where(
                        Case.state.in_(UPDATE_STATES),
                        Case.purged_at.is_(None),
                        Case.reporter_address.is_not(None),
                    )
                )
            )
            ids = [c.id for c in cases]
            last_mail = self._latest(
                session,
                OutboxMail.case_id,
                OutboxMail.created_at,
                OutboxMail.kind.in_(REPORTER_KINDS),
                ids,
            )
            last_try = self._latest(
                session,
                CaseEvent.case_id,
                CaseEvent.at,
                CaseEvent.kind.in_(("progress-update", "reply-suppressed")),
                ids,
            )
            ledger = AutoReplyLedger()
            for case in cases:
                # Counted from the latest contact, or the latest update the guard refused, so
                # a refused update is not retried (and recorded) on every run.
                moments = (last_mail.get(case.id), last_try.get(case.id), case.first_response_at)
                last = max((m for m in moments if m is not None), default=case.received_at)
                last_day = last.astimezone(self.tz).date()
                due_day = self.calendar.add_workdays(last_day, interval)
                case.next_update_due = self._end_of(due_day)
                if today < due_day or not self.calendar.is_workday(today):
                    continue
                next_day = self.calendar.add_workdays(today, interval)
                refusal = self.replies.progress_update(session, ledger, case, next_day)
                case.next_update_due = self._end_of(next_day)
                if refusal is not None:
                    self._event(
                        case, "reply-suppressed", {"kind": "progress_update", "reason": refusal}
                    )
                    continue
                self._event(case, "progress-update", {"next": next_day.isoformat()})
                self.replies.notify_staff(
                    session,
                    "staff_update_sent",
                    {"next_update_date": next_day.isoformat()},
                    case=case,
                )
                report.updates += 1
        return report

    @staticmethod
    def _latest(
        session: Session, case_column: Any, at_column: Any, kinds: Any, case_ids: list[int]
    ) -> dict[int, dt.datetime]:
        """Per case, the latest `at_column` among rows of the given kinds."""
        if not case_ids:
            return {}
        rows = session.execute(
            select(case_column, func.max(at_column))
            .where(case_column.in_(case_ids), kinds)
            .group_by(case_column)
        )
        # func.max bypasses the UTC column type on SQLite; read it back as aware UTC.
        return {case_id: _as_utc(at) for case_id, at in rows if at is not None}

    # -- the monthly figures ------------------------------------------------------------

    def monthly_report(self, report: JobReport | None = None) -> JobReport:
        """Queue last month's figures to staff on the first working day of this month, after
        the digest time, once. Only on that day: a desk installed (or down) then does not
        send a stale month's figures later (`mailtriage report` gives them any day)."""
        report = report or JobReport()
        if not self.config.cases.staff_notify:
            return report
        local = self.clock().astimezone(self.tz)
        today = local.date()
        first_workday = today.replace(day=1)
        while not self.calendar.is_workday(first_workday):
            first_workday += dt.timedelta(days=1)
        if today != first_workday or local.time() < self._digest_time():
            return report
        previous = (today.replace(day=1) - dt.timedelta(days=1)).strftime("%Y-%m")
        with self.store.session() as session:
            if session.get(JobRun, ("monthly-report", previous)) is not None:
                return report
            self.replies.notify_staff(session, "staff_monthly_report", {"month": previous})
            # Checked and recorded in one write transaction: two processes cannot both send.
            session.add(JobRun(job="monthly-report", key=previous, at=self.clock()))
            report.monthly_reports += 1
        return report

    # -- reporting obligations ---------------------------------------------------------

    def obligations(self, report: JobReport | None = None) -> JobReport:
        """Every notice an unreported obligation step owes now, sent once and recorded on
        the step's row in the same transaction as the queued mail."""
        report = report or JobReport()
        now = self.clock()
        with self.store.session() as session:
            clocks.settle_final_dues(session, self.config.obligations, self.tz)
            open_steps = session.scalars(
                select(Obligation)
                .where(Obligation.reported_at.is_(None), Obligation.due.is_not(None))
                .order_by(Obligation.due, Obligation.id)
            ).all()
            for row in open_steps:
                assert row.begins is not None and row.due is not None
                notice = owed_notice(row.begins, row.due, now, _sent(row))
                if notice is None:
                    continue
                self._obligation_notice(session, row, notice, now)
                report.obligation_notices += 1
        return report

    def _obligation_notice(
        self, session: Session, row: Obligation, notice: Notice, now: dt.datetime
    ) -> None:
        escalation = notice == Notice.ESCALATION
        kind = "staff_obligation_escalation" if escalation else "staff_obligation_reminder"
        context = {"obligation": row.id, "notice": str(notice)}
        self.replies.notify_staff(session, kind, context, case=row.case)
        self.replies.notify_owner(session, kind, context, case=row.case)
        # An escalation or a late reminder settles the earlier notices too: they would only
        # arrive after the more urgent one.
        if notice == Notice.ESCALATION:
            row.escalated_at = now
        if notice in (Notice.ESCALATION, Notice.SOON):
            row.soon_sent_at = row.soon_sent_at or now
        row.half_sent_at = row.half_sent_at or now
        self._event(row.case, "obligation-" + str(notice), {"kind": row.kind, "step": row.step})

    # -- the digest --------------------------------------------------------------------

    def digest(self, report: JobReport | None = None) -> JobReport:
        report = report or JobReport()
        if not self.config.cases.staff_notify:
            return report
        now = self.clock()
        local = now.astimezone(self.tz)
        today = local.date()
        if not self.calendar.is_workday(today) or local.time() < self._digest_time():
            return report
        with self.store.session() as session:
            if session.get(JobRun, ("digest", today.isoformat())) is not None:
                return report
            open_cases = list(
                session.scalars(
                    select(Case)
                    .where(
                        Case.state != State.CLOSED,
                        Case.purged_at.is_(None),
                        Case.category == "report",
                    )
                    .order_by(Case.received_at)
                )
            )
            tomorrow_end = self._end_of(self.calendar.add_workdays(today, 1))

            def row(case: Case) -> dict[str, str | None]:
                # Masked here: the row waits in the outbox, and staff copies outlive the purge.
                return {
                    "ref": case.ref,
                    "state": case.state,
                    "subject": mask_personal(
                        case.subject or "", address=case.reporter_address, name=case.reporter_name
                    ),
                    "severity": case.severity,
                    "owner": case.owner,
                    "due": _iso(case.first_response_due),
                    "answered": _iso(case.first_response_at),
                    "next_update": _iso(case.next_update_due),
                }

            waiting = [
                c
                for c in open_cases
                if c.first_response_at is None and c.first_response_due is not None
            ]
            context = {
                "today": today.isoformat(),
                "overdue": [row(c) for c in waiting if c.first_response_due < now],  # type: ignore[operator]
                "due_soon": [
                    row(c) for c in waiting if now <= c.first_response_due <= tomorrow_end
                ],  # type: ignore[operator]
                "open": [row(c) for c in open_cases],
                "embargoes": active_embargoes(session, now),
                "obligations": clocks.open_steps(session),
            }
            self.replies.notify_staff(session, "staff_digest", context)
            # Checked and recorded in one write transaction: two processes cannot both send.
            session.add(JobRun(job="digest", key=today.isoformat(), at=now))
            report.digests += 1
        return report

    # -- helpers -----------------------------------------------------------------------

    def _digest_time(self) -> dt.time:
        return dt.time.fromisoformat(self.config.deadlines.digest_time)

    def _end_of(self, day: dt.date) -> dt.datetime:
        return dt.datetime.combine(day, END_OF_DAY, tzinfo=self.tz)

    @staticmethod
    def _event_details(
        session: Session, case: Case, kinds: tuple[str, ...]
    ) -> dict[str, list[dict[str, object]]]:
        found: dict[str, list[dict[str, object]]] = {kind: [] for kind in kinds}
        rows = session.execute(
            select(CaseEvent.kind, CaseEvent.detail).where(
                CaseEvent.case_id == case.id, CaseEvent.kind.in_(kinds)
            )
        )
        for kind, detail in rows:
            found[kind].append(detail or {})
        return found

    def _event(self, case: Case, kind: str, detail: dict[str, object]) -> None:
        case.events.append(CaseEvent(at=self.clock(), kind=kind, detail=detail))


def _sent(row: Obligation) -> frozenset[Notice]:
    sent = {
        Notice.HALF: row.half_sent_at,
        Notice.SOON: row.soon_sent_at,
        Notice.ESCALATION: row.escalated_at,
    }
    return frozenset(notice for notice, at in sent.items() if at is not None)


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _as_utc(value: dt.datetime | str) -> dt.datetime:
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
