"""Intake: store every fetched message raw, then decide and apply, one message at a time.

The order is the whole point. For each batch fetched from a mailbox:

1. the raw bytes of every message are written and committed, keyed on where the mailbox says
   they were (source, UIDVALIDITY, UID) and on their SHA-256 — nothing else happens first;
2. each stored message is parsed, triaged and applied inside its own SAVEPOINT: a failure
   rolls back that message only and marks it quarantined with the reason and attempt count,
   and the rest of the batch goes on; the batch's results are committed together;
3. only then are the messages filed out of the inbox (processed or quarantine folder), and
   the store notes that they were.

A crash between any two steps loses nothing: the next pass sees the message again, finds it
already stored, and finishes whatever step was left.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from mailtriage.cases import State, format_ref, next_sequence, refs_in_subject
from mailtriage.config import Config
from mailtriage.mailbox.base import FetchedMessage, Mailbox, MailboxError, MessageKey
from mailtriage.message import InboundMail, ParseError, parse_message
from mailtriage.store.db import Store
from mailtriage.store.models import (
    Attachment,
    Case,
    CaseEvent,
    MailboxSighting,
    MessageStatus,
    StoredMessage,
)
from mailtriage.triage import Action, Decision, KnownCase, TriageContext, decide
from mailtriage.workdays import first_response_due

log = logging.getLogger(__name__)

BATCH_MESSAGES = 100
BATCH_BYTES = 32 * 1024 * 1024
QUARANTINE_REASON_CHARS = 500

Clock = Callable[[], dt.datetime]


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class IntakeReport:
    fetched: int = 0
    stored: int = 0
    seen_before: int = 0
    cases_opened: int = 0
    appended: int = 0
    auto: int = 0
    duplicates: int = 0
    quarantined: int = 0
    filed: int = 0
    filing_failures: int = 0
    opened_refs: list[str] = field(default_factory=list)

    def add_outcome(self, status: str, opened_ref: str | None) -> None:
        if opened_ref:
            self.cases_opened += 1
            self.opened_refs.append(opened_ref)
        elif status == MessageStatus.CASE:
            self.appended += 1
        elif status == MessageStatus.AUTO:
            self.auto += 1
        elif status == MessageStatus.DUPLICATE:
            self.duplicates += 1
        elif status == MessageStatus.QUARANTINED:
            self.quarantined += 1


class Intake:
    """Everything between a fetched message and its place in the store."""

    def __init__(self, config: Config, store: Store, clock: Clock = utcnow) -> None:
        self.config = config
        self.store = store
        self.clock = clock

    # -- sources -------------------------------------------------------------------------

    def run_mailbox(self, mailbox: Mailbox) -> IntakeReport:
        """Ingest everything waiting in `mailbox`. Raises StoreUnavailable or MailboxError."""
        report = IntakeReport()
        batch: list[FetchedMessage] = []
        batch_bytes = 0
        for fetched in mailbox.fetch_new():
            batch.append(fetched)
            batch_bytes += len(fetched.raw)
            if len(batch) >= BATCH_MESSAGES or batch_bytes >= BATCH_BYTES:
                self._ingest_batch(mailbox, batch, report)
                batch, batch_bytes = [], 0
        if batch:
            self._ingest_batch(mailbox, batch, report)
        return report

    def ingest_raw(self, raw: bytes, source: str = "pipe") -> IntakeReport:
        """One message from an MTA pipe or a file: stored, then processed."""
        digest = hashlib.sha256(raw).hexdigest()
        fetched = FetchedMessage(MessageKey(source, 0, digest), raw, arrived_at=self.clock())
        report = IntakeReport()
        message_ids = self._store_batch([fetched], report)
        self._process_ids(list(message_ids.values()), report)
        return report

    def process_pending(self) -> IntakeReport:
        """Finish messages a crash left stored but unprocessed."""
        report = IntakeReport()
        with self._session() as session:
            pending = session.scalars(
                select(StoredMessage.id).where(StoredMessage.status == MessageStatus.RECEIVED)
            ).all()
        self._process_ids(list(pending), report)
        return report

    def retry_quarantined(self, ids: Iterable[int] | None = None) -> IntakeReport:
        """Process quarantined messages again (all of them when `ids` is None)."""
        with self._session() as session:
            query = select(StoredMessage.id).where(
                StoredMessage.status == MessageStatus.QUARANTINED
            )
            if ids is not None:
                query = query.where(StoredMessage.id.in_(list(ids)))
            chosen = session.scalars(query).all()
        report = IntakeReport()
        self._process_ids(list(chosen), report, retry=True)
        return report

    # -- the three steps -----------------------------------------------------------------

    def _ingest_batch(
        self, mailbox: Mailbox, batch: list[FetchedMessage], report: IntakeReport
    ) -> None:
        message_ids = self._store_batch(batch, report)
        self._process_ids(sorted(set(message_ids.values())), report)
        self._file(mailbox, [f.key for f in batch], report)

    def _store_batch(
        self, batch: list[FetchedMessage], report: IntakeReport
    ) -> dict[MessageKey, int]:
        """Step 1: commit the raw bytes and where they were seen. Returns key -> message id."""
        report.fetched += len(batch)
        result: dict[MessageKey, int] = {}
        now = self.clock()
        with self._session() as session:
            known = self._known_sightings(session, [f.key for f in batch])
            digests = {f.key: hashlib.sha256(f.raw).hexdigest() for f in batch}
            by_digest = {
                m.sha256: m.id
                for m in session.execute(
                    select(StoredMessage.id, StoredMessage.sha256).where(
                        StoredMessage.sha256.in_(set(digests.values()))
                    )
                )
            }
            for fetched in batch:
                if fetched.key in known:
                    result[fetched.key] = known[fetched.key]
                    report.seen_before += 1
                    continue
                digest = digests[fetched.key]
                message_id = by_digest.get(digest)
                if message_id is None:
                    message = StoredMessage(
                        sha256=digest,
                        size=len(fetched.raw),
                        raw=fetched.raw,
                        stored_at=now,
                        arrived_at=fetched.arrived_at or now,
                        status=MessageStatus.RECEIVED,
                        attempts=0,
                    )
                    session.add(message)
                    session.flush()
                    message_id = by_digest[digest] = message.id
                    report.stored += 1
                else:
                    report.seen_before += 1
                session.add(
                    MailboxSighting(
                        source=fetched.key.source,
                        validity=fetched.key.validity,
                        uid=fetched.key.uid,
                        message_id=message_id,
                        seen_at=now,
                    )
                )
                result[fetched.key] = message_id
        return result

    def _process_ids(
        self, message_ids: list[int], report: IntakeReport, retry: bool = False
    ) -> None:
        """Step 2: parse, decide and apply each message in its own savepoint."""
        if not message_ids:
            return
        with self._session() as session:
            for message_id in message_ids:
                message = session.get(StoredMessage, message_id)
                if message is None:
                    continue
                wanted = MessageStatus.QUARANTINED if retry else MessageStatus.RECEIVED
                if message.status != wanted:
                    continue  # seen before and already handled
                opened_ref: str | None = None
                savepoint = session.begin_nested()
                try:
                    opened_ref = self._process_one(session, message)
                    savepoint.commit()
                except OperationalError:
                    raise  # the store itself failed: nothing is filed, the next pass retries
                except Exception as exc:  # one bad message must not stop the batch
                    savepoint.rollback()
                    self._quarantine(session, message_id, exc)
                report.add_outcome(message.status, opened_ref)

    def _file(self, mailbox: Mailbox, keys: list[MessageKey], report: IntakeReport) -> None:
        """Step 3: move the batch out of the inbox, then remember that it was moved."""
        with self._session() as session:
            sightings = self._sightings(session, keys)
            unfiled = [s for s in sightings if s.filed_to is None]
            quarantined = [s for s in unfiled if s.message.status == MessageStatus.QUARANTINED]
            handled = [s for s in unfiled if s.message.status != MessageStatus.QUARANTINED]
            handled = [s for s in handled if s.message.status != MessageStatus.RECEIVED]
        for group, target, move in (
            (handled, self.config.mailbox.processed_folder, mailbox.file_processed),
            (quarantined, self.config.mailbox.quarantine_folder, mailbox.file_quarantined),
        ):
            if not group:
                continue
            group_keys = [MessageKey(s.source, s.validity, s.uid) for s in group]
            try:
                move(group_keys)
            except MailboxError as exc:
                report.filing_failures += len(group)
                log.warning("could not file %d message(s) to %s: %s", len(group), target, exc)
                continue
            with self._session() as session:
                for sighting in group:
                    stored = session.get(MailboxSighting, sighting.id)
                    if stored is not None:
                        stored.filed_to = target
            report.filed += len(group)

    # -- one message ---------------------------------------------------------------------

    def _process_one(self, session: Session, message: StoredMessage) -> str | None:
        """Parse, decide, apply. Returns the new case's reference when one was opened."""
        message.attempts += 1
        limit = self.config.cases.max_message_bytes
        if message.size > limit:
            raise MessageTooLarge(f"{message.size} bytes is over max_message_bytes ({limit})")
        assert message.raw is not None  # only purged messages lose their bytes
        mail = parse_message(message.raw)
        self._record_facts(session, message, mail)

        original = self._earlier_copy(session, message)
        if original is not None:
            message.status = MessageStatus.DUPLICATE
            message.duplicate_of_id = original.id
            message.case_id = original.case_id
            message.category = original.category
            message.processed_at = self.clock()
            return None

        decision = decide(mail, self._context(session, mail))
        return self._apply(session, message, mail, decision)

    def _record_facts(self, session: Session, message: StoredMessage, mail: InboundMail) -> None:
        assert message.raw is not None
        message.header_message_id = (mail.message_id or "")[:998] or None
        message.body_sha256 = hashlib.sha256(_body_bytes(message.raw)).hexdigest()
        message.from_address = mail.sender.address[:320] if mail.sender else None
        message.from_name = mail.sender.name[:200] if mail.sender else None
        message.subject = mail.subject
        message.date_header = mail.date
        message.in_reply_to = list(mail.in_reply_to)
        message.references = list(mail.references)
        message.text_body = mail.text
        message.language = mail.language
        message.indicators = {
            "urls": list(mail.indicators.urls),
            "hosts": list(mail.indicators.hosts),
            "ipv4": list(mail.indicators.ipv4),
            "ipv6": list(mail.indicators.ipv6),
            "datetimes": list(mail.indicators.datetimes),
        }
        message.defects = list(mail.defects)
        message.attachments = [
            Attachment(
                filename=a.filename[:255],
                content_type=a.content_type[:255],
                size=a.size,
                sha256=a.sha256,
            )
            for a in mail.attachments
        ]

    def _earlier_copy(self, session: Session, message: StoredMessage) -> StoredMessage | None:
        """The same mail (Message-ID and body) handled before, arriving by another route."""
        if message.header_message_id is None:
            return None
        return session.scalars(
            select(StoredMessage)
            .where(
                StoredMessage.header_message_id == message.header_message_id,
                StoredMessage.body_sha256 == message.body_sha256,
                StoredMessage.id != message.id,
                StoredMessage.status.in_(
                    (MessageStatus.CASE, MessageStatus.AUTO, MessageStatus.DUPLICATE)
                ),
            )
            .order_by(StoredMessage.id)
            .limit(1)
        ).first()

    def _context(self, session: Session, mail: InboundMail) -> TriageContext:
        refs = refs_in_subject(mail.subject, self.config.cases.ref_prefix)
        tagged: list[Case] = []
        if refs:
            tagged = list(session.scalars(select(Case).where(Case.ref.in_(refs))))
        thread_ids = [i for i in (*mail.in_reply_to, *mail.references) if i][:100]
        threaded: list[Case] = []
        if thread_ids:
            threaded = list(
                session.scalars(
                    select(Case)
                    .join(StoredMessage, StoredMessage.case_id == Case.id)
                    .where(StoredMessage.header_message_id.in_(thread_ids))
                    .distinct()
                )
            )
        return TriageContext(
            own_addresses=self.config.own_addresses,
            tagged_cases=tuple(_known(c) for c in tagged if c.purged_at is None),
            threaded_cases=tuple(_known(c) for c in threaded if c.purged_at is None),
        )

    def _apply(
        self, session: Session, message: StoredMessage, mail: InboundMail, decision: Decision
    ) -> str | None:
        now = self.clock()
        message.processed_at = now
        if decision.action is Action.IGNORE_AUTO:
            message.status = MessageStatus.AUTO
            message.category = "auto"
            message.case_id = decision.case_id
            if decision.case_id is not None:
                session.add(
                    CaseEvent(
                        case_id=decision.case_id,
                        at=now,
                        kind="automated-mail",
                        detail={"message": message.id, "rule": decision.reason},
                    )
                )
            return None
        if decision.action is Action.APPEND:
            assert decision.case_id is not None
            message.status = MessageStatus.CASE
            message.category = "report"
            message.case_id = decision.case_id
            session.add(
                CaseEvent(
                    case_id=decision.case_id,
                    at=now,
                    kind="reporter-reply",
                    detail={"message": message.id, "how": decision.reason},
                )
            )
            return None
        case = self._open_case(session, message, mail, decision)
        return case.ref

    def _open_case(
        self, session: Session, message: StoredMessage, mail: InboundMail, decision: Decision
    ) -> Case:
        now = self.clock()
        deadlines = self.config.deadlines
        local_arrival = message.arrived_at.astimezone(deadlines.tz)
        prefix = self.config.cases.ref_prefix
        seq = next_sequence(session, prefix, local_arrival.year)
        case = Case(
            ref=format_ref(prefix, local_arrival.year, seq),
            year=local_arrival.year,
            seq=seq,
            state=State.NEW,
            category="report",
            language=mail.language,
            reporter_address=mail.sender.address if mail.sender and mail.sender.address else None,
            reporter_name=(mail.sender.name or None) if mail.sender else None,
            subject=mail.subject,
            received_at=message.arrived_at,
            first_response_due=first_response_due(message.arrived_at, deadlines),
            legal_hold=False,
            created_at=now,
        )
        session.add(case)
        session.flush()
        message.status = MessageStatus.CASE
        message.category = "report"
        message.case_id = case.id
        detail: dict[str, object] = {"message": message.id, "language": mail.language}
        if decision.foreign_thread_ref:
            detail["foreign_thread_ref"] = decision.foreign_thread_ref
        session.add(CaseEvent(case_id=case.id, at=now, kind="opened", detail=detail))
        return case

    def _quarantine(self, session: Session, message_id: int, exc: Exception) -> None:
        message = session.get(StoredMessage, message_id)
        assert message is not None
        message.status = MessageStatus.QUARANTINED
        message.attempts += 1
        message.quarantine_reason = _reason(exc)
        message.processed_at = self.clock()
        # The type only: an exception's text may quote the message.
        log.warning(
            "message %d quarantined after attempt %d (%s)",
            message_id,
            message.attempts,
            type(exc).__name__,
        )

    # -- store helpers -------------------------------------------------------------------

    def _session(self) -> AbstractContextManager[Session]:
        return self.store.session()

    @staticmethod
    def _known_sightings(session: Session, keys: list[MessageKey]) -> dict[MessageKey, int]:
        return {
            MessageKey(s.source, s.validity, s.uid): s.message_id
            for s in Intake._sightings(session, keys)
        }

    @staticmethod
    def _sightings(session: Session, keys: list[MessageKey]) -> list[MailboxSighting]:
        found: list[MailboxSighting] = []
        groups: dict[tuple[str, int], list[str]] = {}
        for key in keys:
            groups.setdefault((key.source, key.validity), []).append(key.uid)
        for (source, validity), uids in groups.items():
            found.extend(
                session.scalars(
                    select(MailboxSighting).where(
                        MailboxSighting.source == source,
                        MailboxSighting.validity == validity,
                        MailboxSighting.uid.in_(uids),
                    )
                )
            )
        return found


class MessageTooLarge(Exception):
    """Over `max_message_bytes`: kept raw, quarantined, never parsed."""


def _known(case: Case) -> KnownCase:
    return KnownCase(id=case.id, ref=case.ref, reporter_address=case.reporter_address)


def _reason(exc: Exception) -> str:
    if isinstance(exc, (ParseError, MessageTooLarge)):
        text = f"{type(exc).__name__}: {exc}"
    else:
        text = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    return text[:QUARANTINE_REASON_CHARS]


def _body_bytes(raw: bytes) -> bytes:
    """The bytes after the header block: trace headers differ between routes, bodies do not."""
    for separator in (b"\r\n\r\n", b"\n\n", b"\r\r"):
        index = raw.find(separator)
        if index != -1:
            return raw[index + len(separator) :]
    return b""
