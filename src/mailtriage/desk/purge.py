"""Erasing a reporter's personal data once their report is completed, as the policy promises.

What goes: the reporter's address and name, every stored message of the case (raw bytes,
parsed text, subjects, threading ids, attachment names), the outgoing mail to and about them,
and the free text of the timeline. What stays: the reference, dates, states, severity, close
reason, counts, and the credit name only while consent stands; the finding's CVSS, CWE, CVE,
embargo day and duplicate links (issue 16). A case under legal hold waits, and so does a
duplicate whose reporter still waits to hear of the fix (`duplicates.purge_start`).

Order makes it safe to interrupt: first the mailbox copies are expunged (idempotent; the ids
to find them are still in the store), then each case is purged in one transaction, so a kill
half-way leaves every case either untouched or fully purged, and the next run completes the
rest. Finally SQLite's WAL is checkpointed and truncated (and the file vacuumed when the purge
freed much), so erased bytes do not linger in the WAL; `secure_delete` zeroes them in the file.

A reporter's mail that never reached the case goes with it too: quarantined or still
unprocessed mail is linked by thread (the case tag, or In-Reply-To/References naming a mail of
the case) or by the reporter's address, read from its raw header block only (`head_scan`),
since mail over the size limit was never parsed. Quarantined mail of nobody's case has its own
retention, `quarantine_purge_days`.

The truncation is verified, not assumed: a reader holding an old snapshot (a backup, a
`sqlite3` shell) keeps SQLite from checkpointing, and then the erased bytes are still in the
database file. Such a run retries a few times, then says so (`PurgeReport.wal_incomplete`),
tells staff once, and leaves a marker so every later run tries again until it succeeds.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import LargeBinary, delete, func, or_, select, update
from sqlalchemy.orm import Session

from mailtriage.clock import Clock
from mailtriage.config import Config
from mailtriage.desk.duplicates import purge_start
from mailtriage.inbound.mime.head_scan import HEAD_SCAN_BYTES, HeadFacts, head_facts
from mailtriage.mailbox.base import Mailbox, MailboxError, MessageKey
from mailtriage.policy.cases import State, refs_in_subject
from mailtriage.store import filing
from mailtriage.store.db import Store
from mailtriage.store.models import (
    Attachment,
    Case,
    CaseEvent,
    JobRun,
    MailboxSighting,
    MessageStatus,
    OutboxMail,
    OutboxStatus,
    RawMessage,
    StoredMessage,
)
from mailtriage.store.pgerase import vacuum_full
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
        # issue 16: facts about the finding (a case reference, CWE, CVE, CVSS, a day)
        "of",
        "duplicate",
        "told",
        "cwe",
        "cve",
        "cvss",
        "score",
        "until",
        # issue 17: a reporting obligation's step and start
        "step",
        "started",
    }
)
# ... except `reason` where it can carry free text from outside (an SMTP reply, a refusal).
FREE_TEXT_EVENTS = frozenset({"delivery-failed", "note"})
VACUUM_FREE_SHARE = 0.25
# Mail that never reached a case: what the purge may take along with a reporter's case.
UNPROCESSED = (MessageStatus.QUARANTINED, MessageStatus.RECEIVED)
# How hard the WAL truncation is tried before the run says it could not: each attempt waits
# up to CHECKPOINT_BUSY_MS for readers and writers, then pauses before the next.
CHECKPOINT_ATTEMPTS = 4
CHECKPOINT_BUSY_MS = 1000
CHECKPOINT_PAUSE_SECONDS = 0.5
# The JobRun row that says a run could not truncate the WAL, so later runs try again.
OWED = ("purge-checkpoint", "owed")

# Queues a staff notification in the caller's transaction (Replies.notify_staff).
StaffNotice = Callable[[Session, str, dict[str, Any]], object]


@dataclass
class PurgeReport:
    cases: list[str] = field(default_factory=list)  # references purged (or due, in a dry run)
    held: list[str] = field(default_factory=list)  # due, but under legal hold
    loose_messages: int = 0  # automated or unattached mail erased
    quarantined: int = 0  # quarantined mail of no case, past quarantine_purge_days
    mailbox_copies: int = 0
    vacuumed: bool = False
    # The WAL could not be truncated (a reader held it): erased bytes may still be on disk.
    wal_incomplete: bool = False

    @property
    def erased_anything(self) -> bool:
        return bool(self.cases or self.loose_messages or self.quarantined)


@dataclass(frozen=True)
class _Compaction:
    vacuumed: bool
    truncated: bool
    wal_bytes: int


class Purger:
    def __init__(
        self,
        config: Config,
        store: Store,
        clock: Clock,
        open_mailbox: Callable[[], Mailbox] | None = None,
        tell_staff: StaffNotice | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.clock = clock
        self.open_mailbox = open_mailbox
        self.tell_staff = tell_staff

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
            # A duplicate waits until its reporter heard of the fix (`duplicates`).
            start = purge_start(case)
            if start is None or start + dt.timedelta(days=days) > now:
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

    def due_quarantined(self, session: Session) -> list[int]:
        """Quarantined mail of no case stored more than `quarantine_purge_days` ago: nobody
        retried it, and personal data must not wait in quarantine for ever."""
        days = self.config.retention.quarantine_purge_days
        cutoff = self.clock() - dt.timedelta(days=days)
        return list(
            session.scalars(
                select(StoredMessage.id).where(
                    StoredMessage.case_id.is_(None),
                    StoredMessage.status == MessageStatus.QUARANTINED,
                    StoredMessage.stored_at <= cutoff,
                )
            )
        )

    def linked_unprocessed(self, session: Session, cases: list[Case]) -> dict[int, list[int]]:
        """Case id -> the quarantined or unprocessed mail that belongs to that case's reporter.

        Linked by thread (the case's tag in the subject, or In-Reply-To/References naming a
        mail of the case) or by the sender being the reporter, read from the raw header block
        only. The address alone links nothing while the same reporter has a case that is not
        being purged: the mail may be about that one, and goes with it.
        """
        if not cases:
            return {}
        unprocessed = self._unprocessed_heads(session)
        if not unprocessed:
            return {}
        due_ids = {c.id for c in cases}
        live = {
            address.lower()
            for address in session.scalars(
                select(Case.reporter_address).where(
                    Case.purged_at.is_(None),
                    Case.reporter_address.is_not(None),
                    Case.id.not_in(due_ids),
                )
            )
            if address
        }
        prefix = self.config.cases.ref_prefix
        linked: dict[int, list[int]] = {}
        for case in cases:
            thread = self._thread_ids(session, case.id)
            reporter = (case.reporter_address or "").lower()
            for message_id, facts in list(unprocessed.items()):
                by_thread = case.ref in refs_in_subject(facts.subject, prefix) or bool(
                    thread.intersection(facts.thread_ids)
                )
                by_sender = bool(reporter) and facts.sender == reporter and reporter not in live
                if by_thread or by_sender:
                    linked.setdefault(case.id, []).append(message_id)
                    del unprocessed[message_id]
        return linked

    @staticmethod
    def _unprocessed_heads(session: Session) -> dict[int, HeadFacts]:
        """The header facts of every quarantined or unprocessed mail of no case, read from a
        bounded prefix of its raw bytes (never the whole mail, which may be huge)."""
        rows = session.execute(
            select(
                StoredMessage.id,
                func.substr(RawMessage.raw, 1, HEAD_SCAN_BYTES, type_=LargeBinary),
            )
            .join(RawMessage, RawMessage.message_id == StoredMessage.id)
            .where(StoredMessage.case_id.is_(None), StoredMessage.status.in_(UNPROCESSED))
        ).all()
        return {row[0]: head_facts(bytes(row[1] or b"")) for row in rows}

    @staticmethod
    def _thread_ids(session: Session, case_id: int) -> set[str]:
        """Every Message-ID of the case's mail, in and out, without angle brackets."""
        inbound = session.scalars(
            select(StoredMessage.header_message_id).where(
                StoredMessage.case_id == case_id, StoredMessage.header_message_id.is_not(None)
            )
        )
        outbound = session.scalars(
            select(OutboxMail.message_id).where(OutboxMail.case_id == case_id)
        )
        return {i for i in (*inbound, *outbound) if i}

    # -- the purge -----------------------------------------------------------------------

    def run(self, dry_run: bool = False) -> PurgeReport:
        report = PurgeReport()
        with self.store.session() as session:
            due, held = self.due_cases(session)
            report.held = [c.ref for c in held]
            case_ids = [c.id for c in due]
            linked = self.linked_unprocessed(session, due)
            taken = {i for ids in linked.values() for i in ids}
            loose_ids = [m.id for m in self.due_loose_messages(session)]
            quarantine_ids = [i for i in self.due_quarantined(session) if i not in taken]
            report.cases = [c.ref for c in due]
            report.loose_messages = len(loose_ids)
            report.quarantined = len(quarantine_ids)
        if dry_run:
            return report
        if report.erased_anything:
            report.mailbox_copies = self._expunge_from_mailbox(
                case_ids, [*loose_ids, *quarantine_ids, *taken]
            )
            for case_id in case_ids:
                with self.store.session() as session:
                    self._purge_case(session, case_id, linked.get(case_id, []))
            if loose_ids or quarantine_ids:
                with self.store.session() as session:
                    for message in session.scalars(
                        select(StoredMessage).where(
                            StoredMessage.id.in_([*loose_ids, *quarantine_ids])
                        )
                    ):
                        _erase_message(session, message)
            log.info(
                "purge: %d case(s), %d loose and %d quarantined message(s), "
                "%d mailbox copies erased",
                len(case_ids),
                len(loose_ids),
                len(quarantine_ids),
                report.mailbox_copies,
            )
        self._settle(report)
        return report

    def _purge_case(self, session: Session, case_id: int, linked: list[int]) -> None:
        case = session.get(Case, case_id)
        if case is None or case.purged_at is not None or case.legal_hold:
            return  # purged by a run that got here first, or held meanwhile
        now = self.clock()
        messages = list(
            session.scalars(
                select(StoredMessage).where(
                    or_(
                        StoredMessage.case_id == case_id,
                        # the reporter's mail that never reached the case, unless a retry
                        # meanwhile filed it somewhere
                        StoredMessage.id.in_(linked)
                        & StoredMessage.case_id.is_(None)
                        & StoredMessage.status.in_(UNPROCESSED),
                    )
                )
            )
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
        case.reporter_pgp_key = None
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

    # -- making the erasure reach the disk ---------------------------------------------

    def _settle(self, report: PurgeReport) -> None:
        """Checkpoint and truncate the WAL after an erasure, or when an earlier run could
        not; when it cannot be done now, say so, tell staff once, and owe it to the next run."""
        owed = self._checkpoint_owed()
        if not (report.erased_anything or owed):
            return
        done = self._compact()
        report.vacuumed = done.vacuumed
        if done.truncated:
            if owed:
                with self.store.session() as session:
                    session.execute(delete(JobRun).where(JobRun.job == OWED[0]))
                self._compact()  # the marker's own removal, out of the WAL as well
                log.info("purge: the WAL owed by an earlier run is truncated now")
            return
        report.wal_incomplete = True
        log.error(
            "purge: could not truncate the SQLite WAL (%d bytes left; a reader holds an old "
            "snapshot); erased data may remain on disk until a later run succeeds",
            done.wal_bytes,
        )
        with self.store.session() as session:
            if session.get(JobRun, OWED) is not None:
                return  # staff were told when this began
            session.add(JobRun(job=OWED[0], key=OWED[1], at=self.clock()))
            if self.tell_staff is not None:
                self.tell_staff(
                    session,
                    "staff_purge_incomplete",
                    {"wal_bytes": done.wal_bytes, "attempts": CHECKPOINT_ATTEMPTS},
                )

    def _checkpoint_owed(self) -> bool:
        if self.store.engine.dialect.name != "sqlite":
            return False
        with self.store.session() as session:
            return session.get(JobRun, OWED) is not None

    def _compact(self) -> _Compaction:
        """Checkpoint the WAL into the file and truncate it, verified; vacuum when much
        space is free (and only once the WAL is out of the way)."""
        if self.store.engine.dialect.name == "postgresql":
            # Rewrite the tables: PostgreSQL keeps erased rows' bytes until then.
            vacuumed = bool(vacuum_full(self.store.engine))
            return _Compaction(vacuumed=vacuumed, truncated=True, wal_bytes=0)
        if self.store.engine.dialect.name != "sqlite":
            return _Compaction(vacuumed=False, truncated=True, wal_bytes=0)
        # Outside any transaction (the store's connections BEGIN IMMEDIATE, and SQLite
        # refuses a checkpoint or VACUUM inside one): the driver connection, autocommit.
        pooled = self.store.engine.raw_connection()
        try:
            sqlite = pooled.driver_connection
            assert isinstance(sqlite, sqlite3.Connection)
            busy_before = sqlite.execute("PRAGMA busy_timeout").fetchone()[0]
            # Short waits, several times: a daemon's write passes in a moment, while a
            # reader that holds a snapshot would keep each attempt waiting its full timeout.
            sqlite.execute(f"PRAGMA busy_timeout = {CHECKPOINT_BUSY_MS}")
            try:
                truncated = self._checkpoint(sqlite)
                pages = sqlite.execute("PRAGMA page_count").fetchone()[0] or 0
                free = sqlite.execute("PRAGMA freelist_count").fetchone()[0] or 0
                vacuum = truncated and pages > 0 and free / pages >= VACUUM_FREE_SHARE
                if vacuum:
                    sqlite.execute("VACUUM")
                    truncated = self._checkpoint(sqlite)
            finally:
                sqlite.execute(f"PRAGMA busy_timeout = {int(busy_before)}")
        finally:
            pooled.close()
        return _Compaction(vacuumed=vacuum, truncated=truncated, wal_bytes=self._wal_bytes())

    def _checkpoint(self, sqlite: sqlite3.Connection) -> bool:
        """`wal_checkpoint(TRUNCATE)` until SQLite says it was not blocked and the WAL file
        is really empty; False after CHECKPOINT_ATTEMPTS tries. SQLite returns normally when
        a reader blocks it, so the result has to be read, not trusted."""
        for attempt in range(1, CHECKPOINT_ATTEMPTS + 1):
            busy = sqlite.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
            if busy == 0 and self._wal_bytes() == 0:
                return True
            if attempt < CHECKPOINT_ATTEMPTS:
                time.sleep(CHECKPOINT_PAUSE_SECONDS)  # a pause, not a reading of the clock
        return False

    def _wal_bytes(self) -> int:
        database = self.store.engine.url.database
        if not database or database.startswith(":memory:") or database.startswith("file:"):
            return 0
        try:
            return os.path.getsize(f"{database}-wal")
        except FileNotFoundError:
            return 0


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
        "pgp",  # the signer's fingerprint identifies the reporter
    ):
        setattr(message, name, None)
    filing.purged(message)


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
