"""Erasing a reporter's personal data once their report is completed, as the policy promises.

What goes: the reporter's address and name, every stored message of the case (raw bytes,
parsed text, subjects, threading ids, attachment names), the outgoing mail to and about them,
and the free text of the timeline. What stays: the reference, dates, states, severity, close
reason, counts, and the credit name only while consent stands. A case under legal hold waits.

Order makes it safe to interrupt: first the mailbox copies are expunged (idempotent; the ids
to find them are still in the store), then each case is purged in one transaction, so a kill
half-way leaves every case either untouched or fully purged, and the next run completes the
rest. Finally SQLite's WAL is checkpointed and truncated (and the file vacuumed when the purge
freed much), so erased bytes do not linger in the WAL; `secure_delete` zeroes them in the file.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from mailtriage.cases import State
from mailtriage.clock import Clock
from mailtriage.config import Config
from mailtriage.mailbox.base import Mailbox, MailboxError, MessageKey
from mailtriage.store.db import Store
from mailtriage.store.models import (
    Attachment,
    Case,
    CaseEvent,
    MailboxSighting,
    MessageStatus,
    OutboxMail,
    OutboxStatus,
    StoredMessage,
)
from mailtriage.store.rawstore import erase_raw

log = logging.getLogger(__name__)


# Timeline details that are facts about the handling, never about the person: everything else
# in a detail (a note's text, an SMTP reply quoting an address) is dropped by the purge.
KEPT_DETAIL_KEYS = frozenset(
    {
        "from",
        "to",
        "by",
        "kind",
        "rule",
        "language",
        "how",
        "severity",
        "held",
        "consent",
        "day",
        "overdue_workdays",
        "next",
        "actions",
        "permanent",
        "message",
        "outbox",
        "reason",
        "unprocessed",
        "due",
    }
)
# ... except `reason` where it can carry free text from outside (an SMTP reply, a refusal).
FREE_TEXT_EVENTS = frozenset({"delivery-failed", "note"})
VACUUM_FREE_SHARE = 0.25


@dataclass
class PurgeReport:
    cases: list[str] = field(default_factory=list)  # references purged (or due, in a dry run)
    held: list[str] = field(default_factory=list)  # due, but under legal hold
    loose_messages: int = 0  # automated or unattached mail erased
    mailbox_copies: int = 0
    vacuumed: bool = False


class Purger:
    def __init__(
        self,
        config: Config,
        store: Store,
        clock: Clock,
        open_mailbox: Callable[[], Mailbox] | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.clock = clock
        self.open_mailbox = open_mailbox

    # -- what is due ---------------------------------------------------------------------

    def due_cases(self, session: Session) -> tuple[list[Case], list[Case]]:
        """(cases due for purging, cases due but held)."""
        now = self.clock()
        retention = self.config.retention
        closed = session.scalars(
            select(Case)
            .where(
                Case.state == State.CLOSED,
                Case.purged_at.is_(None),
                Case.closed_at.is_not(None),
            )
            .order_by(Case.id)
        )
        due: list[Case] = []
        held: list[Case] = []
        for case in closed:
            days = (
                retention.redirected_purge_days
                if case.close_reason == "redirected"
                else retention.purge_after_closed_days
            )
            assert case.closed_at is not None
            if case.closed_at + dt.timedelta(days=days) > now:
                continue
            (held if case.legal_hold else due).append(case)
        return due, held

    def due_loose_messages(self, session: Session) -> list[StoredMessage]:
        """Automated and unattached mail older than `ignored_purge_days`."""
        cutoff = self.clock() - dt.timedelta(days=self.config.retention.ignored_purge_days)
        return list(
            session.scalars(
                select(StoredMessage).where(
                    StoredMessage.case_id.is_(None),
                    StoredMessage.status.in_(
                        (MessageStatus.AUTO, MessageStatus.DUPLICATE, MessageStatus.STAFF)
                    ),
                    StoredMessage.stored_at <= cutoff,
                )
            )
        )

    # -- the purge -----------------------------------------------------------------------

    def run(self, dry_run: bool = False) -> PurgeReport:
        report = PurgeReport()
        with self.store.session() as session:
            due, held = self.due_cases(session)
            report.held = [c.ref for c in held]
            case_ids = [c.id for c in due]
            loose_ids = [m.id for m in self.due_loose_messages(session)]
            report.cases = [c.ref for c in due]
            report.loose_messages = len(loose_ids)
        if dry_run or not (case_ids or loose_ids):
            return report
        report.mailbox_copies = self._expunge_from_mailbox(case_ids, loose_ids)
        for case_id in case_ids:
            with self.store.session() as session:
                self._purge_case(session, case_id)
        if loose_ids:
            with self.store.session() as session:
                for message in session.scalars(
                    select(StoredMessage).where(StoredMessage.id.in_(loose_ids))
                ):
                    _erase_message(session, message)
        report.vacuumed = self._compact()
        log.info(
            "purge: %d case(s), %d loose message(s), %d mailbox copies erased",
            len(case_ids),
            len(loose_ids),
            report.mailbox_copies,
        )
        return report

    def _purge_case(self, session: Session, case_id: int) -> None:
        case = session.get(Case, case_id)
        if case is None or case.purged_at is not None or case.legal_hold:
            return  # purged by a run that got here first, or held meanwhile
        now = self.clock()
        messages = list(
            session.scalars(select(StoredMessage).where(StoredMessage.case_id == case_id))
        )
        for message in messages:
            _erase_message(session, message)
        # An SMTP reply in last_error may quote the reporter's address.
        session.execute(
            update(OutboxMail)
            .where(OutboxMail.case_id == case_id)
            .values(
                raw=None,
                recipient=None,
                context={},
                in_reply_to=None,
                references=None,
                last_error=None,
            )
        )
        # Mail that never went out can no longer be sent: its recipient is gone.
        session.execute(
            update(OutboxMail)
            .where(
                OutboxMail.case_id == case_id,
                OutboxMail.status.in_((OutboxStatus.PENDING, OutboxStatus.SENDING)),
            )
            .values(status=OutboxStatus.FAILED, last_error="purged before it was sent")
        )
        for event in case.events:
            event.detail = _kept_detail(event.kind, event.detail)
        case.reporter_address = None
        case.reporter_name = None
        case.subject = None
        if not case.credit_consent:
            case.credit_name = None
        case.purged_at = now
        case.events.append(CaseEvent(at=now, kind="purged", detail={"messages": len(messages)}))

    def _expunge_from_mailbox(self, case_ids: list[int], loose_ids: list[int]) -> int:
        if self.open_mailbox is None:
            return 0
        with self.store.session() as session:
            rows = session.execute(
                select(
                    StoredMessage.size,
                    StoredMessage.sha256,
                    MailboxSighting.source,
                    MailboxSighting.validity,
                    MailboxSighting.uid,
                )
                .outerjoin(MailboxSighting, MailboxSighting.message_id == StoredMessage.id)
                .where(or_(StoredMessage.case_id.in_(case_ids), StoredMessage.id.in_(loose_ids)))
            ).all()
        fingerprints = sorted({(r.size, r.sha256) for r in rows})
        keys = [MessageKey(r.source, r.validity, r.uid) for r in rows if r.source is not None]
        mailbox = self.open_mailbox()
        try:
            return mailbox.expunge(fingerprints, keys)
        finally:
            with contextlib.suppress(MailboxError):
                mailbox.close()

    def _compact(self) -> bool:
        """Checkpoint the WAL into the file and truncate it; vacuum when much space is free."""
        if self.store.engine.dialect.name != "sqlite":
            return False
        # Outside any transaction (the store's connections BEGIN IMMEDIATE, and SQLite
        # refuses a checkpoint or VACUUM inside one): the driver connection, autocommit.
        pooled = self.store.engine.raw_connection()
        try:
            sqlite = pooled.driver_connection
            assert sqlite is not None
            sqlite.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            pages = sqlite.execute("PRAGMA page_count").fetchone()[0] or 0
            free = sqlite.execute("PRAGMA freelist_count").fetchone()[0] or 0
            vacuum = pages > 0 and free / pages >= VACUUM_FREE_SHARE
            if vacuum:
                sqlite.execute("VACUUM")
                sqlite.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            pooled.close()
        return vacuum


def _erase_message(session: Session, message: StoredMessage) -> None:
    erase_raw(session, message.id)
    session.execute(delete(Attachment).where(Attachment.message_id == message.id))
    for name in (
        "header_message_id",
        "body_sha256",
        "from_address",
        "from_name",
        "subject",
        "date_header",
        "in_reply_to",
        "references",
        "text_body",
        "indicators",
        "quarantine_reason",
    ):
        setattr(message, name, None)
    message.status = MessageStatus.PURGED


def _kept_detail(kind: str, detail: dict[str, Any] | None) -> dict[str, Any]:
    if not detail:
        return {}
    kept = {k: v for k, v in detail.items() if k in KEPT_DETAIL_KEYS}
    if kind in FREE_TEXT_EVENTS:
        kept.pop("reason", None)
    return {
        k: v
        for k, v in kept.items()
        if isinstance(v, (int, bool, type(None)))
        or (isinstance(v, str) and "@" not in v)
        or (isinstance(v, list) and all(isinstance(i, str) and "@" not in i for i in v))
    }
