"""The outbox: outgoing mail as rows, delivered later with retries and backoff.

A reply is written in the same transaction as the case change that caused it, so either both
happen or neither does. Delivery is a separate step that claims one row at a time, sends it,
and records the result at once: the only way to send a mail twice is a crash between the
server accepting it and that record, a window of one local commit.
"""

from __future__ import annotations

import datetime as dt
import enum
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from mailtriage.clock import Clock
from mailtriage.config import Config
from mailtriage.outgoing.compose import ComposeError
from mailtriage.outgoing.letters import LetterError, Letters
from mailtriage.outgoing.render import RenderError
from mailtriage.outgoing.transport.base import DeliveryError, Transport
from mailtriage.store.db import Store
from mailtriage.store.models import Case, CaseEvent, OutboxMail, OutboxStatus

log = logging.getLogger(__name__)

CLAIM_LEASE = dt.timedelta(minutes=5)
MAX_ROUNDS = 3
LAST_ERROR_CHARS = 300

# Called inside the transaction that records a failure, to tell staff (no-op without staff).
FailureHook = Callable[[Session, OutboxMail, str], None]


_ADDRESS = re.compile(r"[^\s<>\"'(),;:]{1,64}@[^\s<>\"'(),;:]{1,255}")


def without_addresses(text: str) -> str:
    """An SMTP reply fit for the log: servers quote the refused recipient's address."""
    return _ADDRESS.sub("[address]", text)


class _Round(enum.Enum):
    EMPTY = "nothing was due"
    DONE = "every due row was tried"
    INTERRUPTED = "the connection failed; the rest waits"


@dataclass
class DeliveryReport:
    sent: int = 0
    deferred: int = 0
    failed: int = 0


def queue_mail(
    session: Session,
    *,
    now: dt.datetime,
    case: Case | None,
    kind: str,
    language: str,
    recipient: str,
    context: dict[str, Any],
    message_id: str,
    in_reply_to: str | None,
    references: list[str],
    automatic: bool,
    auto_submitted: str,
) -> OutboxMail:
    row = OutboxMail(
        case=case,
        kind=kind,
        language=language,
        context=context,
        automatic=automatic,
        auto_submitted=auto_submitted,
        recipient=recipient,
        message_id=message_id,
        in_reply_to=in_reply_to,
        references=references,
        raw=None,
        status=OutboxStatus.PENDING,
        attempts=0,
        created_at=now,
        next_attempt_at=now,
    )
    session.add(row)
    return row


def automatic_mails_since(
    session: Session, recipients: set[str], since: dt.datetime
) -> dict[str, int]:
    """How many automatic mails each of `recipients` (lower case) got since `since`."""
    rows = session.execute(
        select(func.lower(OutboxMail.recipient), func.count())
        .where(
            func.lower(OutboxMail.recipient).in_(recipients),
            OutboxMail.automatic.is_(True),
            OutboxMail.created_at >= since,
        )
        .group_by(func.lower(OutboxMail.recipient))
    )
    return {recipient: count for recipient, count in rows}


def _lock_row(session: Session, row_id: int) -> bool:
    """Lock outbox row `row_id` for this transaction; False when another one holds it."""
    locked = session.scalar(
        select(OutboxMail.id).where(OutboxMail.id == row_id).with_for_update(skip_locked=True)
    )
    return locked is not None


class OutboxSender:
    """Delivers due outbox rows through a transport."""

    def __init__(
        self,
        config: Config,
        store: Store,
        letters: Letters,
        transport_factory: Callable[[], Transport],
        clock: Clock,
        on_failure: FailureHook | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.letters = letters
        self.transport_factory = transport_factory
        self.clock = clock
        self.on_failure = on_failure

    def deliver_due(self, limit: int = 500) -> DeliveryReport:
        """Send every row that is due. A failure may queue a notice to staff; that notice is
        due at once and goes out in the same call (a second round, at most a few)."""
        report = DeliveryReport()
        for _ in range(MAX_ROUNDS):
            handled_before = report.sent + report.failed + report.deferred
            if self._deliver_round(limit, report) != _Round.DONE:
                break  # nothing due, or the connection failed: the rest waits for later
            if report.sent + report.failed + report.deferred == handled_before:
                break
        return report

    def _deliver_round(self, limit: int, report: DeliveryReport) -> _Round:
        now = self.clock()
        with self.store.session() as session:
            due = session.scalars(
                select(OutboxMail.id)
                .where(
                    or_(
                        OutboxMail.status == OutboxStatus.PENDING,
                        # a claim whose lease ran out: its sender died mid-delivery
                        OutboxMail.status == OutboxStatus.SENDING,
                    ),
                    OutboxMail.next_attempt_at <= now,
                )
                .order_by(OutboxMail.id)
                .limit(limit)
            ).all()
        if not due:
            return _Round.EMPTY
        transport = self.transport_factory()
        try:
            for row_id in due:
                try:
                    claimed = self._claim(row_id)
                except (LetterError, ComposeError, RenderError) as exc:
                    self._record_failure(
                        row_id, DeliveryError(f"cannot be composed: {exc}", permanent=True), report
                    )
                    continue
                if claimed is None:
                    continue
                recipient, raw, message_id = claimed
                try:
                    transport.send(
                        sender=self.config.smtp.from_address,
                        recipient=recipient,
                        raw=raw,
                        key=message_id,
                    )
                except DeliveryError as exc:
                    self._record_failure(row_id, exc, report)
                    if exc.ends_round:
                        return _Round.INTERRUPTED  # the server is down: try the rest later
                    continue  # this recipient or message only: the next row may well go
                self._record_sent(row_id)
                report.sent += 1
        finally:
            transport.close()
        return _Round.DONE

    def _claim(self, row_id: int) -> tuple[str, bytes, str] | None:
        now = self.clock()
        with self.store.session() as session:
            # Issue 15: a row another transaction holds is skipped, not waited for
            # (FOR UPDATE SKIP LOCKED on PostgreSQL; SQLite's BEGIN IMMEDIATE serialises).
            # The claim is fenced by the cluster lease's epoch when the session commits.
            if not _lock_row(session, row_id):
                return None
            claimed = session.execute(
                update(OutboxMail)
                .where(
                    OutboxMail.id == row_id,
                    OutboxMail.status.in_((OutboxStatus.PENDING, OutboxStatus.SENDING)),
                    OutboxMail.next_attempt_at <= now,
                )
                .values(
                    status=OutboxStatus.SENDING,
                    attempts=OutboxMail.attempts + 1,
                    next_attempt_at=now + CLAIM_LEASE,
                )
            ).rowcount
            if claimed != 1:
                return None
            row = session.get(OutboxMail, row_id)
            assert row is not None and row.recipient is not None
            if row.raw is None:
                # Composed once, at the first attempt: every retry sends the same bytes.
                row.raw = self.letters.build(session, row, now)
            return row.recipient, row.raw, row.message_id

    def _record_sent(self, row_id: int) -> None:
        with self.store.session() as session:
            row = session.get(OutboxMail, row_id)
            assert row is not None
            row.status = OutboxStatus.SENT
            row.sent_at = self.clock()
            row.last_error = None
            if row.case_id is not None:
                session.add(
                    CaseEvent(
                        case_id=row.case_id,
                        at=row.sent_at,
                        kind="mail-sent",
                        detail={"kind": row.kind, "outbox": row.id},
                    )
                )

    def _record_failure(self, row_id: int, exc: DeliveryError, report: DeliveryReport) -> None:
        now = self.clock()
        smtp = self.config.smtp
        with self.store.session() as session:
            row = session.get(OutboxMail, row_id)
            assert row is not None
            row.last_error = exc.reason[:LAST_ERROR_CHARS]
            expired = now - row.created_at >= dt.timedelta(hours=smtp.give_up_after_hours)
            if not exc.permanent and not expired:
                delay = min(
                    smtp.retry_initial_seconds * 2 ** max(row.attempts - 1, 0),
                    smtp.retry_max_seconds,
                )
                row.status = OutboxStatus.PENDING
                row.next_attempt_at = now + dt.timedelta(seconds=delay)
                report.deferred += 1
                log.info(
                    "outbox %d deferred after attempt %d: %s",
                    row.id,
                    row.attempts,
                    without_addresses(exc.reason),
                )
                return
            row.status = OutboxStatus.FAILED
            report.failed += 1
            why = "refused permanently" if exc.permanent else "gave up after retrying"
            log.error("outbox %d (%s) %s: %s", row.id, row.kind, why, without_addresses(exc.reason))
            if row.case_id is not None:
                session.add(
                    CaseEvent(
                        case_id=row.case_id,
                        at=now,
                        kind="delivery-failed",
                        detail={
                            "kind": row.kind,
                            "outbox": row.id,
                            "reason": row.last_error,
                            "permanent": exc.permanent,
                        },
                    )
                )
            if self.on_failure is not None:
                self.on_failure(session, row, why)
