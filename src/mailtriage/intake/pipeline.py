"""Intake: store every fetched message raw, then decide and apply, one message at a time.

The order is the whole point. For each batch fetched from a mailbox:

1. the raw bytes of every message are written and committed, keyed on where the mailbox says
   they were (source, UIDVALIDITY, UID) and on their SHA-256 — nothing else happens first;
2. each stored message is parsed, triaged and applied (`casework`); a message that fails is
   marked quarantined with the reason and attempt count and the rest of the batch goes on
   (see `_process_ids` for how one failure is kept from touching the others);
3. only then are the messages filed out of the inbox (processed or quarantine folder), and
   the store notes that they were.

A crash between any two steps loses nothing: the next pass sees the message again, finds it
already stored, and finishes whatever step was left.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Row, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, object_session

from mailtriage.clock import Clock
from mailtriage.config import Config
from mailtriage.desk.casework import BatchKnowledge, CaseDesk, Outcome
from mailtriage.desk.replies import Replies
from mailtriage.inbound.message import InboundMail, ParseError
from mailtriage.inbound.openpgp import DeskKeyMaterial
from mailtriage.inbound.pgpinbound import PgpInput, parse_incoming
from mailtriage.intake.parsepool import Parsed, ParsePool, WorkerDied
from mailtriage.mailbox.base import FetchedMessage, Mailbox, MailboxError, MessageKey
from mailtriage.store import filing
from mailtriage.store.db import Store, StoreUnavailable
from mailtriage.store.models import Case, MailboxSighting, MessageStatus, StoredMessage
from mailtriage.store.rawstore import read_raw, write_raw

log = logging.getLogger(__name__)

BATCH_MESSAGES = 100
BATCH_BYTES = 32 * 1024 * 1024
QUARANTINE_REASON_CHARS = 500


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

    def merge_fetch(self, other: IntakeReport) -> None:
        """Add a mailbox run's figures, fetch counts included."""
        for name in ("fetched", "stored", "seen_before", "filed", "filing_failures"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.merge(other)

    def merge(self, other: IntakeReport) -> None:
        for name in ("cases_opened", "appended", "auto", "duplicates", "quarantined"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.opened_refs.extend(other.opened_refs)

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

    def __init__(
        self,
        config: Config,
        store: Store,
        clock: Clock,
        replies: Replies,
        desk: CaseDesk,
        parse_pool: ParsePool,
        pgp_desk: DeskKeyMaterial | None = None,
    ) -> None:
        self.config = config
        self.pgp_desk = pgp_desk
        self.store = store
        self.clock = clock
        self.replies = replies
        self.desk = desk
        self.parse_pool = parse_pool

    # -- sources -------------------------------------------------------------------------

    def run_mailbox(
        self, mailbox: Mailbox, should_stop: Callable[[], bool] | None = None
    ) -> IntakeReport:
        """Ingest everything waiting in `mailbox`. Raises StoreUnavailable or MailboxError.

        With a backlog, each batch is fetched, stored and handed to the parse worker before
        the batch before it is applied and filed, so parsing overlaps everything else.
        `should_stop` is asked between batches: a daemon told to stop finishes the batch in
        hand and leaves the rest in the inbox for next time.
        """
        report = IntakeReport()
        waiting: _StoredBatch | None = None
        for batch in _batches(mailbox.fetch_new()):
            stored = self._store(batch, report)
            if waiting is not None:
                stored.parsing = self.parse_pool.submit(stored.raws, self._pgp_input())
                self._finish(mailbox, waiting, report)
            waiting = stored
            if should_stop is not None and should_stop():
                break
        if waiting is not None:
            self._finish(mailbox, waiting, report)
        return report

    def close(self) -> None:
        self.parse_pool.close()

    def ingest_raw(self, raw: bytes, source: str = "pipe") -> IntakeReport:
        """One message from an MTA pipe or a file: stored, then processed."""
        digest = hashlib.sha256(raw).hexdigest()
        fetched = FetchedMessage(MessageKey(source, 0, digest), raw, arrived_at=self.clock())
        report = IntakeReport()
        message_ids = self._store_batch([fetched], report)
        self._process_ids(
            list(message_ids.values()),
            report,
            raws={message_id: raw for message_id in message_ids.values()},
        )
        return report

    def process_pending(self) -> IntakeReport:
        """Finish messages a crash left stored but unprocessed."""
        report = IntakeReport()
        with self._session() as session:
            pending = session.scalars(
                select(StoredMessage.id)
                .where(StoredMessage.status == MessageStatus.RECEIVED)
                .order_by(StoredMessage.id)
            ).all()
        for start in range(0, len(pending), BATCH_MESSAGES):
            batch = list(pending[start : start + BATCH_MESSAGES])
            self._process_ids(batch, report, suspects_too=True)
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

    def _store(self, batch: list[FetchedMessage], report: IntakeReport) -> _StoredBatch:
        message_ids = self._store_batch(batch, report)
        return _StoredBatch(
            keys=[f.key for f in batch],
            ids=sorted(set(message_ids.values())),
            raws={message_ids[f.key]: f.raw for f in batch},
        )

    def _finish(self, mailbox: Mailbox, stored: _StoredBatch, report: IntakeReport) -> None:
        # (The first batch was not handed to the worker in advance: _process_ids does it.)
        parsed = self.parse_pool.results(stored.parsing)
        self._process_ids(stored.ids, report, raws=stored.raws, parsed=parsed)
        self._file(mailbox, stored.keys, report)

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
            new_messages: dict[str, StoredMessage] = {}
            for fetched in batch:
                if fetched.key in known:
                    continue
                digest = digests[fetched.key]
                if digest in by_digest or digest in new_messages:
                    continue
                new_messages[digest] = filing.stored(
                    digest, len(fetched.raw), now, fetched.arrived_at or now
                )
            session.add_all(new_messages.values())
            session.flush()  # one multi-row INSERT; assigns the ids the sightings refer to
            raw_by_digest = {digests[f.key]: f.raw for f in batch}
            for digest, message in new_messages.items():
                write_raw(session, message.id, raw_by_digest[digest])
            by_digest.update((digest, m.id) for digest, m in new_messages.items())
            report.stored += len(new_messages)
            report.seen_before += len(batch) - len(new_messages)
            for fetched in batch:
                if fetched.key in known:
                    result[fetched.key] = known[fetched.key]
                    continue
                message_id = by_digest[digests[fetched.key]]
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
        self,
        message_ids: list[int],
        report: IntakeReport,
        retry: bool = False,
        raws: dict[int, bytes] | None = None,
        parsed: Parsed | None = None,
        suspects_too: bool = False,
    ) -> None:
        """Step 2: parse, decide and apply every message; a failure quarantines only its own.

        Each message's attempt is counted and committed before any work on it, because the
        work may never finish: a mail that hangs the parser or gets the process killed rolls
        back whatever transaction it was in, and a counter kept there would never move. A mail
        whose attempts are used up (`cases.max_attempts` on its own, after the first in a
        batch) is quarantined without another try.
        A mail that already had an attempt which never finished is a suspect: it is done on its
        own, so a mail that kills the process takes no other mail's attempts with it; that is
        `process_pending`'s work at the start of a pass (`suspects_too`), and a suspect seen
        again in the inbox later in that pass is left for the next one: one attempt per pass.
        """
        if not message_ids:
            return
        raws = raws if raws is not None else {}
        parsed = dict(parsed or {})
        self.parse_pool.warm()  # a kill while the worker starts is no fault of these mails
        fresh, suspects = self._begin_attempts(message_ids, retry, report)
        if fresh:
            self._parse_in_worker(fresh, raws, parsed)
            self._apply_ids(fresh, report, retry, raws, parsed)
        for message_id in suspects if suspects_too else []:
            self._count_attempt([message_id])
            self._parse_in_worker([message_id], raws, parsed)
            self._apply_ids([message_id], report, retry, raws, parsed)

    def _apply_ids(
        self,
        message_ids: list[int],
        report: IntakeReport,
        retry: bool,
        raws: dict[int, bytes],
        parsed: Parsed,
    ) -> None:
        """Apply the batch in one transaction; should any message raise, roll back and do the
        batch again with a savepoint per message, so exactly the failing one is quarantined."""
        wanted = MessageStatus.QUARANTINED if retry else MessageStatus.RECEIVED
        attempt = IntakeReport()
        try:
            with self._session() as session:
                self._apply_batch(session, message_ids, wanted, attempt, raws, parsed)
        except StoreUnavailable:
            raise  # the store itself failed: nothing is filed, the next pass retries
        except Exception as exc:  # one bad message must not stop the batch
            log.info("batch fell back to one savepoint per message (%s)", type(exc).__name__)
            attempt = IntakeReport()
            with self._session() as session:
                self._apply_isolated(session, message_ids, wanted, attempt, raws, parsed)
        report.merge(attempt)

    def _begin_attempts(
        self, message_ids: list[int], retry: bool, report: IntakeReport
    ) -> tuple[list[int], list[int]]:
        """Count this attempt for the fresh messages and quarantine the exhausted ones, in a
        transaction of its own. Returns (fresh ids, suspect ids); suspects are counted one by
        one as their turn comes."""
        wanted = MessageStatus.QUARANTINED if retry else MessageStatus.RECEIVED
        limit = self.config.cases.max_attempts
        fresh: list[int] = []
        suspects: list[tuple[int, int]] = []
        with self._session() as session:
            for message in self._load(session, message_ids, wanted):
                if retry or message.attempts == 0:
                    fresh.append(message.id)
                elif message.attempts > limit:
                    # `limit` attempts on its own that never finished, after the first, in a
                    # batch (a kill of the desk mid-batch says nothing about any one mail
                    # of it; every mail of that batch becomes a suspect).
                    self._quarantine(session, message, AttemptsExhausted(message.attempts))
                    report.add_outcome(message.status, None)
                else:
                    suspects.append((message.attempts, message.id))
        self._count_attempt(fresh)
        # The suspect with the fewest unfinished attempts first: the one that was in hand
        # when the process died last goes last. A daemon killed from outside again and again
        # (an operator, the OOM killer) then does not keep catching the same innocent mail
        # first thing after each start and quarantine it; a mail that kills the process
        # itself still uses up its attempts, one per pass.
        return fresh, [message_id for _, message_id in sorted(suspects)]

    def _count_attempt(self, message_ids: list[int]) -> None:
        """One more attempt on each of `message_ids`, committed now."""
        if not message_ids:
            return
        with self._session() as session:
            session.execute(
                update(StoredMessage)
                .where(StoredMessage.id.in_(message_ids))
                .values(attempts=StoredMessage.attempts + 1)
            )

    def _parse_in_worker(
        self, message_ids: list[int], raws: dict[int, bytes], parsed: Parsed
    ) -> None:
        """Parse in the worker, under its time limit, what is not parsed yet and not too big
        to parse at all."""
        missing = [i for i in message_ids if i not in parsed]
        if not missing:
            return
        limit = self.config.cases.max_message_bytes
        with self._session() as session:
            sizes = {
                row.id: row.size
                for row in session.execute(
                    select(StoredMessage.id, StoredMessage.size).where(
                        StoredMessage.id.in_(missing)
                    )
                )
            }
            wanted = {
                i: raws[i] if i in raws else read_raw(session, i) or b""
                for i in missing
                if sizes.get(i, 0) <= limit
            }
        raws.update(wanted)
        parsed.update(self.parse_pool.parse(wanted, self._pgp_input()))

    def _load(self, session: Session, ids: list[int], wanted: str) -> list[StoredMessage]:
        loaded = session.scalars(
            select(StoredMessage)
            .where(StoredMessage.id.in_(ids), StoredMessage.status == wanted)
            .order_by(StoredMessage.id)
        )
        return list(loaded)

    def _apply_batch(
        self,
        session: Session,
        ids: list[int],
        wanted: str,
        report: IntakeReport,
        raws: dict[int, bytes],
        preparsed: Parsed,
    ) -> None:
        parsed: list[tuple[StoredMessage, InboundMail]] = []
        for message in self._load(session, ids, wanted):
            try:
                parsed.append((message, self._parse(message, raws, preparsed)))
            except (ParseError, MessageTooLarge) as exc:
                self._quarantine(session, message, exc)
                report.add_outcome(message.status, None)
            except WorkerDied as exc:
                self._worker_died(session, message, exc)
                report.add_outcome(message.status, None)
        prefix = self.config.cases.ref_prefix
        with session.no_autoflush:
            knowledge = BatchKnowledge.load(session, parsed, prefix, self.clock())
            for message, mail in parsed:
                raw = self._raw(message, raws)
                outcome = self.desk.apply(session, message, raw, mail, knowledge)
                report.add_outcome(outcome.status, outcome.opened_ref)
            knowledge.save(session)

    def _apply_isolated(
        self,
        session: Session,
        ids: list[int],
        wanted: str,
        report: IntakeReport,
        raws: dict[int, bytes],
        preparsed: Parsed,
    ) -> None:
        prefix = self.config.cases.ref_prefix
        for message in self._load(session, ids, wanted):
            savepoint = session.begin_nested()
            try:
                with session.no_autoflush:
                    mail = self._parse(message, raws, preparsed)
                    knowledge = BatchKnowledge.load(
                        session, [(message, mail)], prefix, self.clock()
                    )
                    raw = self._raw(message, raws)
                    outcome = self.desk.apply(session, message, raw, mail, knowledge)
                    knowledge.save(session)
                savepoint.commit()
            except OperationalError:
                raise
            except WorkerDied as exc:
                savepoint.rollback()
                self._worker_died(session, message, exc)
                outcome = Outcome(message.status)
            except Exception as exc:
                savepoint.rollback()
                self._quarantine(session, message, exc)
                outcome = Outcome(message.status)
            report.add_outcome(outcome.status, outcome.opened_ref)

    def _parse(
        self, message: StoredMessage, raws: dict[int, bytes], preparsed: Parsed
    ) -> InboundMail:
        """The parsed mail: from the worker, else (no worker to be had) parsed here. The
        attempt was counted before (`_begin_attempts`)."""
        limit = self.config.cases.max_message_bytes
        if message.size > limit:
            raise MessageTooLarge(f"{message.size} bytes is over max_message_bytes ({limit})")
        done = preparsed.get(message.id)
        if isinstance(done, ParseError | WorkerDied):
            raise done
        if done is not None:
            return done
        return parse_incoming(
            self._raw(message, raws), self._pgp_input(object_session(message))
        )

    def _pgp_input(self, session: Session | None = None) -> PgpInput:
        """The desk's key and every reporter key the desk keeps, for decrypting and checking
        signatures in the parse worker (a key is a few hundred bytes; a desk keeps a few)."""
        if session is None:
            with self._session() as own:
                return self._pgp_input(own)
        keys = session.scalars(
            select(Case.reporter_pgp_key).where(Case.reporter_pgp_key.is_not(None))
        )
        known = tuple(k.encode("ascii", "replace") for k in keys if k)
        return PgpInput(self.pgp_desk, known)

    @staticmethod
    def _raw(message: StoredMessage, raws: dict[int, bytes]) -> bytes:
        """The message's bytes: still in memory from the fetch, else from the store."""
        raw = raws.get(message.id)
        if raw is None:
            session = object_session(message)
            assert session is not None
            raw = raws[message.id] = read_raw(session, message.id) or b""
        return raw

    def _file(self, mailbox: Mailbox, keys: list[MessageKey], report: IntakeReport) -> None:
        """Step 3: move the batch out of the inbox, then remember that it was moved."""
        with self._session() as session:
            unfiled = [
                row
                for row in self._sighting_rows(session, keys)
                if row.filed_to is None and row.status != MessageStatus.RECEIVED
            ]
        quarantined = [r for r in unfiled if r.status == MessageStatus.QUARANTINED]
        handled = [r for r in unfiled if r.status != MessageStatus.QUARANTINED]
        for group, target, move in (
            (handled, self.config.mailbox.processed_folder, mailbox.file_processed),
            (quarantined, self.config.mailbox.quarantine_folder, mailbox.file_quarantined),
        ):
            if not group:
                continue
            try:
                move([MessageKey(r.source, r.validity, r.uid) for r in group])
            except MailboxError as exc:
                report.filing_failures += len(group)
                log.warning("could not file %d message(s) to %s: %s", len(group), target, exc)
                continue
            with self._session() as session:
                session.execute(
                    update(MailboxSighting)
                    .where(MailboxSighting.id.in_([r.id for r in group]))
                    .values(filed_to=target)
                )
            report.filed += len(group)

    def _worker_died(self, session: Session, message: StoredMessage, exc: WorkerDied) -> None:
        """The parse worker died on this message: without a verdict it stays for the next pass,
        until its attempts are used up."""
        if message.attempts >= self.config.cases.max_attempts:
            self._quarantine(session, message, AttemptsExhausted(message.attempts, exc))
        else:
            log.warning(
                "message %d: attempt %d did not finish (%s); it will be tried again",
                message.id,
                message.attempts,
                type(exc).__name__,
            )

    def _quarantine(self, session: Session, message: StoredMessage, exc: Exception) -> None:
        """Keep the message, say why, tell staff; its bytes stay for a retry."""
        filing.quarantine(message, _reason(exc), self.clock())
        self.replies.notify_staff(
            session,
            "staff_quarantine",
            {"message": message.id},
        )
        # The type only: an exception's text may quote the message.
        log.warning(
            "message %d quarantined after attempt %d (%s)",
            message.id,
            message.attempts,
            type(exc).__name__,
        )

    # -- store helpers -------------------------------------------------------------------

    def _session(self) -> AbstractContextManager[Session]:
        return self.store.session()

    @staticmethod
    def _known_sightings(session: Session, keys: list[MessageKey]) -> dict[MessageKey, int]:
        return {
            MessageKey(r.source, r.validity, r.uid): r.message_id
            for r in Intake._sighting_rows(session, keys)
        }

    @staticmethod
    def _sighting_rows(session: Session, keys: list[MessageKey]) -> list[Row[Any]]:
        """The sightings of `keys`, with their message's status, in one query per source."""
        found: list[Row[Any]] = []
        groups: dict[tuple[str, int], list[str]] = {}
        for key in keys:
            groups.setdefault((key.source, key.validity), []).append(key.uid)
        for (source, validity), uids in groups.items():
            found.extend(
                session.execute(
                    select(
                        MailboxSighting.id,
                        MailboxSighting.source,
                        MailboxSighting.validity,
                        MailboxSighting.uid,
                        MailboxSighting.message_id,
                        MailboxSighting.filed_to,
                        StoredMessage.status,
                    )
                    .join(StoredMessage, StoredMessage.id == MailboxSighting.message_id)
                    .where(
                        MailboxSighting.source == source,
                        MailboxSighting.validity == validity,
                        MailboxSighting.uid.in_(uids),
                    )
                )
            )
        return found


@dataclass
class _StoredBatch:
    """A batch whose raw bytes are committed, waiting to be applied and filed."""

    keys: list[MessageKey]
    ids: list[int]
    raws: dict[int, bytes]
    parsing: Future[Parsed] | None = None


def _batches(fetched: Iterable[FetchedMessage]) -> Iterator[list[FetchedMessage]]:
    """Fetched mail in batches of BATCH_MESSAGES, or fewer when they pass BATCH_BYTES."""
    batch: list[FetchedMessage] = []
    size = 0
    for message in fetched:
        batch.append(message)
        size += len(message.raw)
        if len(batch) >= BATCH_MESSAGES or size >= BATCH_BYTES:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


class MessageTooLarge(Exception):
    """Over `max_message_bytes`: kept raw, quarantined, never parsed."""


class AttemptsExhausted(Exception):
    """Every attempt allowed (`cases.max_attempts`) was made and none finished."""

    def __init__(self, attempts: int, last: Exception | None = None) -> None:
        how = (
            "the parse worker died on it"
            if isinstance(last, WorkerDied)
            else "processing never finished (the process hung, crashed or was killed)"
        )
        super().__init__(f"gave up after {attempts} attempts: {how}")


def _reason(exc: Exception) -> str:
    if isinstance(exc, (ParseError, MessageTooLarge, AttemptsExhausted)):
        text = f"{type(exc).__name__}: {exc}"
    else:
        text = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    return text[:QUARANTINE_REASON_CHARS]
