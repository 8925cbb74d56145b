"""The outbox: outgoing mail as rows, delivered later with retries and backoff.

A reply is written in the same transaction as the case change that caused it, so either both
happen or neither does. Delivery is a separate step (`OutboxSender`) that claims rows in
batches, sends them over one connection and records the outcomes every few accepted mails.
Each mail the server accepts is also noted at once in a hand-off log (`handoffs.py`), which
outlives the process, and SMTP is spoken by a sender process of its own that finishes the
mail in hand when the desk dies (`transport/sender.py`): a crash of the desk sends no mail
twice; a crash of the whole host at worst `RECORD_EVERY` mails (50). Nothing is ever lost: a
claim whose sender died is taken over, at once when that sender was a process of this host.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import logging
import re
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import and_, bindparam, func, insert, or_, select, update
from sqlalchemy.orm import Session, selectinload

from mailtriage.clock import Clock
from mailtriage.config import Config
from mailtriage.outgoing.claims import ClaimOwner
from mailtriage.outgoing.compose import ComposeError
from mailtriage.outgoing.handoffs import HandoffLog, logs_in
from mailtriage.outgoing.letters import LetterError, Letters
from mailtriage.outgoing.render import RenderError
from mailtriage.outgoing.transport.base import DeliveryError, Transport
from mailtriage.outgoing.transport.sender import SenderProcess
from mailtriage.store.db import Store
from mailtriage.store.models import Case, CaseEvent, OutboxMail, OutboxStatus, StoredMessage

log = logging.getLogger(__name__)

# How long a claim of a sender on another host (or of unknown fate) keeps a row: far longer
# than one batch takes to send. A claim of a process of this host that is gone is free at once.
CLAIM_LEASE = dt.timedelta(minutes=5)
CLAIM_BATCH = 50  # rows read, composed and claimed per write transaction
# Outcomes are recorded after this many accepted mails (once per claimed batch), or this long
# after the first of them was accepted: how stale the record can be, and the bound on mails a
# crash of the whole host can send twice (a crash of a process is covered by the hand-off log,
# see handoffs.py). Every record waits for the store's write lock, which intake holds for a
# batch at a time during a burst: recording every 10 mails cost a tenth of the delivery rate.
RECORD_EVERY = 50
RECORD_AFTER_SECONDS = 0.5
LAST_ERROR_CHARS = 300

# Called inside the transaction that records a failure, to tell staff (no-op without staff).
FailureHook = Callable[[Session, OutboxMail, str], None]


_ADDRESS = re.compile(r"[^\s<>\"'(),;:]{1,64}@[^\s<>\"'(),;:]{1,255}")


def without_addresses(text: str) -> str:
    """An SMTP reply fit for the log: servers quote the refused recipient's address."""
    return _ADDRESS.sub("[address]", text)


@dataclass
class DeliveryReport:
    sent: int = 0
    deferred: int = 0
    failed: int = 0
    # The connection failed (connect, login, 421, a dropped line): the rest of the due mail
    # waits for the next pass rather than failing against the same server again.
    interrupted: bool = False


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


@dataclass
class _Claimed:
    """A row this process has claimed, with the bytes to send."""

    id: int
    case_id: int | None
    kind: str
    recipient: str
    raw: bytes
    message_id: str


@dataclass
class _Prepared:
    """A due row read and composed outside the write transaction (raw None: composing
    failed, `error` says why; `fresh`: composed now, to be stored with the claim)."""

    id: int
    case_id: int | None
    kind: str
    recipient: str
    message_id: str
    raw: bytes | None
    fresh: bool
    error: str | None = None


def _lockable(session: Session, row_ids: list[int]) -> list[int]:
    """Of `row_ids`, those this transaction could lock: a row another transaction holds is
    skipped, not waited for (FOR UPDATE SKIP LOCKED on PostgreSQL; SQLite's BEGIN IMMEDIATE
    already serialises writers, and the clause is left out there)."""
    return list(
        session.scalars(
            select(OutboxMail.id)
            .where(OutboxMail.id.in_(row_ids))
            .with_for_update(skip_locked=True)
        )
    )


class OutboxSender:
    """Delivers due outbox rows through a transport, in batches over one connection.

    One call (`deliver_due`) keeps one connection open and works through the due rows in
    id order, `CLAIM_BATCH` at a time: the rows are read and composed in a reading
    transaction (no write lock), claimed in one write transaction (which also keeps the
    composed bytes, so a retry sends the very same message), sent one after another, and
    their outcomes recorded every `RECORD_EVERY` accepted mails or `RECORD_AFTER_SECONDS`,
    whichever comes first.

    Claims name this process (`claims.ClaimOwner`), so a restarted daemon takes over a dead
    predecessor's claims at once. It first reads the predecessor's hand-off logs
    (`handoffs.py`): a row the server accepted counts as sent; every other claimed row is
    sent again. With the sender process (`transport/sender.py`) a kill of this process sends
    nothing twice: the child finishes and logs the mail in hand, and its log is read once it
    has exited. Sending from this process (Graph, Maildir, OAuth2 SMTP), a kill between the
    server's answer and the log line sends that one mail twice. A crash of the host (the logs
    are not fsynced) at worst the `RECORD_EVERY` mails accepted since the last record.
    """

    def __init__(
        self,
        config: Config,
        store: Store,
        letters: Letters,
        transport_factory: Callable[[], Transport],
        clock: Clock,
        on_failure: FailureHook | None = None,
        handoff_dir: Path | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.letters = letters
        self.transport_factory = transport_factory
        self.clock = clock
        self.on_failure = on_failure
        # Asked before each mail is handed to the server: False once this process may no
        # longer be the active node (service/cluster.py). The store's fence refuses a deposed
        # node's writes, but not its SMTP connection: a leader paused mid-batch and resumed
        # after losing the lease must not send the rest of the batch it had claimed.
        self.may_send: Callable[[], bool] = lambda: True
        # Where this host's senders keep their hand-off logs; None: without (in-memory tests).
        self.handoff_dir = handoff_dir
        self._calls = itertools.count()

    def deliver_due(
        self, limit: int | None = None, should_stop: Callable[[], bool] | None = None
    ) -> DeliveryReport:
        """Send every row that is due, `limit` rows at most. Mail queued meanwhile (a notice
        to staff about a failure, replies from a concurrent intake) is due too and goes out
        in the same call; a row deferred in this call waits for a later one. Stops early
        when the connection fails (every further row would fail the same way), and between
        batches when `should_stop` says so (the daemon was asked to stop)."""
        report = DeliveryReport()
        owner = ClaimOwner.current().token
        handoffs = None
        if self.handoff_dir is not None:
            self._take_over_handoffs(owner)
            # One log per call: two calls of one process (the pump, the pass) never share one.
            handoffs = HandoffLog(self.handoff_dir, owner, next(self._calls))
        transport: Transport | None = None
        # The next batch is read, composed and claimed on a helper thread while this one is
        # sent: composing is CPU, sending mostly waits for the server.
        ahead = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mailtriage-compose")
        upcoming: Future[tuple[list[_Claimed] | None, int]] | None = None
        side = DeliveryReport()  # what the helper thread recorded (composing failures)
        try:
            claimed, after = self._claim_batch(owner, 0, self._batch(limit, report), report)
            while claimed is not None:
                failed_before = report.failed
                stopping = should_stop is not None and should_stop()
                if not stopping and (limit is None or _handled(report) + len(claimed) < limit):
                    upcoming = ahead.submit(
                        self._claim_batch,
                        owner,
                        after,
                        self._batch(limit, report, len(claimed)),
                        side,
                    )
                if claimed:
                    if transport is None:
                        transport = self.transport_factory()
                    if not self._send_batch(transport, claimed, report, handoffs):
                        report.interrupted = True  # the rest waits for a later call
                        break
                if upcoming is None:
                    break
                next_batch, upcoming = upcoming, None
                claimed, after = next_batch.result()
                if claimed is None and report.failed > failed_before:
                    # A failure may have queued a notice to staff after the helper looked:
                    # it is due at once and goes out in this call.
                    claimed, after = self._claim_batch(
                        owner, after, self._batch(limit, report), report
                    )
        finally:
            if upcoming is not None:
                self._release_ahead(upcoming, report)
            ahead.shutdown(wait=True)
            if transport is not None:
                transport.close()
            if handoffs is not None:
                handoffs.close()
        report.failed += side.failed
        return report

    def _release_ahead(
        self, upcoming: Future[tuple[list[_Claimed] | None, int]], report: DeliveryReport
    ) -> None:
        """Rows claimed ahead but not to be sent in this call: free again at once. (Should
        that fail too, their claims name this process, and its successor takes them.)"""
        try:
            prefetched, _ = upcoming.result()
            if prefetched:
                self._record([], [], report, release=prefetched)
        except Exception:
            log.exception("could not release the rows claimed ahead")

    @staticmethod
    def _batch(limit: int | None, report: DeliveryReport, in_hand: int = 0) -> int:
        if limit is None:
            return CLAIM_BATCH
        return max(0, min(CLAIM_BATCH, limit - _handled(report) - in_hand))

    # -- claiming --------------------------------------------------------------------

    def _due(self, now: dt.datetime, gone: list[str]) -> Any:
        """Which rows may be claimed now: pending and due, or claimed by a sender that died
        (its lease ran out, or it was a process of this host that is gone)."""
        free_claim = OutboxMail.next_attempt_at <= now
        if gone:
            free_claim = or_(free_claim, OutboxMail.claimed_by.in_(gone))
        return or_(
            and_(OutboxMail.status == OutboxStatus.PENDING, OutboxMail.next_attempt_at <= now),
            and_(OutboxMail.status == OutboxStatus.SENDING, free_claim),
        )

    def _gone_owners(self, session: Session, owner: str) -> list[str]:
        """The claimers of rows being sent whose process is known to be gone."""
        tokens = session.scalars(
            select(OutboxMail.claimed_by)
            .where(
                OutboxMail.status == OutboxStatus.SENDING,
                OutboxMail.claimed_by.is_not(None),
                OutboxMail.claimed_by != owner,
            )
            .distinct()
        ).all()
        return [token for token in tokens if token and _is_gone(token)]

    def _claim_batch(
        self, owner: str, after: int, batch: int, report: DeliveryReport
    ) -> tuple[list[_Claimed] | None, int]:
        """Claim up to `batch` due rows with ids above `after`. Returns the claimed rows
        (None when nothing was due) and the id to continue after."""
        now = self.clock()
        with self.store.reading() as session:
            gone = self._gone_owners(session, owner)
        if gone and self.handoff_dir is not None:
            # A sender that died while this call ran: what the server took from it is sent;
            # while its sender process still finishes a mail, its claims stay.
            busy = self._take_over_handoffs(owner, only=set(gone))
            gone = [token for token in gone if token not in busy]
        with self.store.reading() as session:
            if batch <= 0:
                return None, after
            rows = session.scalars(
                select(OutboxMail)
                .options(selectinload(OutboxMail.case))
                .where(OutboxMail.id > after, self._due(now, gone))
                .order_by(OutboxMail.id)
                .limit(batch)
            ).all()
            if not rows:
                return None, after
            held = _preload_messages(session, rows)  # noqa: F841 - kept alive while composing
            prepared = [self._prepare(session, row, now) for row in rows]
        last = prepared[-1].id
        with self.store.session() as session:
            # Issue 15: rows another sender's transaction holds are skipped, not waited for;
            # the claim is fenced by the cluster lease's epoch when the session commits.
            lockable = _lockable(session, [p.id for p in prepared])
            won = set(
                session.scalars(
                    update(OutboxMail)
                    .where(OutboxMail.id.in_(lockable), self._due(now, gone))
                    .values(
                        status=OutboxStatus.SENDING,
                        claimed_by=owner,
                        attempts=OutboxMail.attempts + 1,
                        next_attempt_at=now + CLAIM_LEASE,
                    )
                    .returning(OutboxMail.id)
                ).all()
            )
            fresh = [p for p in prepared if p.id in won and p.fresh]
            if fresh:
                self._keep_composed(session, fresh)
            for p in prepared:
                if p.id in won and p.error is not None:
                    error = DeliveryError(f"cannot be composed: {p.error}", permanent=True)
                    self._record_failure(session, p.id, error, report)
        claimed = [
            _Claimed(p.id, p.case_id, p.kind, p.recipient, p.raw, p.message_id)
            for p in prepared
            if p.id in won and p.raw is not None
        ]
        return claimed, last

    @staticmethod
    def _keep_composed(session: Session, fresh: list[_Prepared]) -> None:
        """Store the bytes composed for the rows just claimed, so every retry sends the very
        same message. Should another sender have stored bytes for a row meanwhile (it was
        released between our read and our claim), theirs stay and are what we send."""
        table = OutboxMail.__table__
        stored = session.execute(
            update(table)
            .where(table.c.id == bindparam("row_id"), table.c.raw.is_(None))
            .values(raw=bindparam("row_raw")),
            [{"row_id": p.id, "row_raw": p.raw} for p in fresh],
        ).rowcount
        if stored == len(fresh):
            return
        rows = session.execute(
            select(OutboxMail.id, OutboxMail.raw).where(OutboxMail.id.in_([p.id for p in fresh]))
        )
        kept = {row_id: raw for row_id, raw in rows}
        for p in fresh:
            p.raw = kept.get(p.id) or p.raw

    def _prepare(self, session: Session, row: OutboxMail, now: dt.datetime) -> _Prepared:
        assert row.recipient is not None
        prepared = _Prepared(
            row.id, row.case_id, row.kind, row.recipient, row.message_id, row.raw, False
        )
        if row.raw is None:
            # Composed once, at the first attempt: every retry sends the same bytes.
            try:
                prepared.raw = self.letters.build(session, row, now)
                prepared.fresh = True
            except (LetterError, ComposeError, RenderError) as exc:
                prepared.error = str(exc)
        return prepared

    # -- sending and recording -----------------------------------------------------------

    def _send_batch(
        self,
        transport: Transport,
        claimed: list[_Claimed],
        report: DeliveryReport,
        handoffs: HandoffLog | None,
    ) -> bool:
        """Send the claimed rows; False when the connection failed (the rest is released)."""
        accepted: list[_Claimed] = []
        failed: list[tuple[_Claimed, DeliveryError]] = []
        oldest = 0.0  # when the oldest unrecorded acceptance happened (monotonic)
        if isinstance(transport, SenderProcess):
            handoffs = None  # the sender process writes the log itself
            outcomes = self._through_sender(transport, claimed)
        else:
            outcomes = self._one_by_one(transport, claimed)
        if handoffs is not None:
            handoffs.open()

        def record(release: list[_Claimed] = ()) -> None:  # type: ignore[assignment]
            self._record(accepted, failed, report, release=release)
            accepted.clear()
            failed.clear()
            if handoffs is not None:
                handoffs.recorded()

        handled = 0
        try:
            with contextlib.closing(outcomes):
                for index, (row, outcome) in enumerate(outcomes):
                    handled = index + 1
                    if outcome is None:
                        if handoffs is not None:
                            handoffs.accepted(row.id)
                        if not accepted:
                            oldest = time.monotonic()
                        accepted.append(row)
                        if (
                            len(accepted) >= RECORD_EVERY
                            or time.monotonic() - oldest >= RECORD_AFTER_SECONDS
                        ):
                            record()
                        continue
                    failed.append((row, outcome))
                    if outcome.ends_round:
                        # The server is down: the rest was never handed over; it waits.
                        record(release=claimed[index + 1 :])
                        return False
                    # This recipient or message only: the next row may well go.
        finally:
            if accepted or failed:
                # Also on the way out of an exception: what the server took is recorded.
                record()
        # Fewer outcomes than rows: `may_send` said no; the rest stays claimed, unsent.
        return handled == len(claimed)

    def _one_by_one(
        self, transport: Transport, claimed: list[_Claimed]
    ) -> Iterator[tuple[_Claimed, DeliveryError | None]]:
        """Each row through `transport`, asking `may_send` before each."""
        for row in claimed:
            if not self.may_send():
                # Not (surely) the active node any more: the rest stays claimed and unsent,
                # and goes out from the new active node when the claim lapses.
                return
            try:
                transport.send(
                    sender=self.config.smtp.from_address,
                    recipient=row.recipient,
                    raw=row.raw,
                    key=row.message_id,
                )
            except DeliveryError as exc:
                yield row, exc
                continue
            yield row, None

    def _through_sender(
        self, sender: SenderProcess, claimed: list[_Claimed]
    ) -> Iterator[tuple[_Claimed, DeliveryError | None]]:
        """The whole batch through the sender process, which sends it without waiting for
        this process between mails. `may_send` is asked once, before the batch is handed
        over (the child sends 50 mails in tens of milliseconds)."""
        if not self.may_send():
            return
        rows = [(r.id, self.config.smtp.from_address, r.recipient, r.raw) for r in claimed]
        with contextlib.closing(sender.send_rows(rows)) as answers:
            yield from zip(claimed, answers, strict=False)

    def _take_over_handoffs(self, owner: str, only: set[str] | None = None) -> set[str]:
        """Rows the server accepted from a dead sender of this host (its hand-off logs,
        `handoffs.py`) are recorded as sent, so taking over its claims does not send them
        again. The logs of senders that live on (this one included) are left alone. Returns
        the dead owners whose log is still being written (a sender process finishing the
        mail in hand): their claims must wait."""
        assert self.handoff_dir is not None
        busy: set[str] = set()
        for left in logs_in(self.handoff_dir):
            if left.owner == owner or (only is not None and left.owner not in only):
                continue
            if not _is_gone(left.owner):
                continue
            if left.writer != left.owner and not _is_gone(left.writer):
                busy.add(left.owner)
                continue
            if accepted := left.accepted():
                self._record_accepted(left.owner, sorted(accepted))
            left.path.unlink(missing_ok=True)
        return busy

    def _record_accepted(self, dead_owner: str, row_ids: list[int]) -> None:
        """The rows still claimed by `dead_owner` among `row_ids`: sent (the server accepted
        each, its sender died before the record)."""
        with self.store.session() as session:
            sent = _mark_sent(
                session,
                self.clock(),
                row_ids,
                OutboxMail.status == OutboxStatus.SENDING,
                OutboxMail.claimed_by == dead_owner,
            )
        if sent:
            log.info(
                "%d mails the server accepted from a stopped sender recorded as sent", sent
            )

    def _record(
        self,
        accepted: list[_Claimed],
        failed: list[tuple[_Claimed, DeliveryError]],
        report: DeliveryReport,
        release: list[_Claimed] = (),  # type: ignore[assignment]
    ) -> None:
        """One write transaction: the accepted rows sent, the failures recorded, and the
        rows never handed over (`release`) pending again, due at once."""
        now = self.clock()
        with self.store.session() as session:
            if accepted:
                _mark_sent(session, now, [r.id for r in accepted])
            for row, exc in failed:
                self._record_failure(session, row.id, exc, report)
            if release:
                session.execute(
                    update(OutboxMail)
                    .where(OutboxMail.id.in_([r.id for r in release]))
                    .values(
                        status=OutboxStatus.PENDING,
                        claimed_by=None,
                        attempts=OutboxMail.attempts - 1,  # this claim made no attempt
                        next_attempt_at=now,
                    )
                )
        report.sent += len(accepted)

    def _record_failure(
        self, session: Session, row_id: int, exc: DeliveryError, report: DeliveryReport
    ) -> None:
        now = self.clock()
        smtp = self.config.smtp
        row = session.get(OutboxMail, row_id)
        assert row is not None
        row.last_error = exc.reason[:LAST_ERROR_CHARS]
        row.claimed_by = None
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


def _preload_messages(session: Session, rows: Sequence[OutboxMail]) -> list[StoredMessage]:
    """The stored messages the batch's rows will read (`context["message"]`, see
    `mailkinds.Source.message`), with their attachments, in one query: composing a batch of
    staff notifications would otherwise ask the store twice per row. Returned so the caller
    holds them: the session's identity map keeps objects only while someone does."""
    ids = {
        message
        for row in rows
        if row.raw is None and isinstance(message := (row.context or {}).get("message"), int)
    }
    if not ids:
        return []
    return list(
        session.scalars(
            select(StoredMessage)
            .where(StoredMessage.id.in_(ids))
            .options(selectinload(StoredMessage.attachments))
        )
    )


def _mark_sent(session: Session, now: dt.datetime, row_ids: list[int], *where: Any) -> int:
    """Rows among `row_ids` (and matching `where`) sent now, each with its case's
    "mail-sent" event. Returns how many."""
    rows = session.execute(
        update(OutboxMail)
        .where(OutboxMail.id.in_(row_ids), *where)
        .values(status=OutboxStatus.SENT, sent_at=now, last_error=None, claimed_by=None)
        .returning(OutboxMail.id, OutboxMail.case_id, OutboxMail.kind)
    ).all()
    events = [
        {
            "case_id": case_id,
            "at": now,
            "kind": "mail-sent",
            "detail": {"kind": kind, "outbox": row_id},
        }
        for row_id, case_id, kind in rows
        if case_id is not None
    ]
    if events:
        session.execute(insert(CaseEvent), events)
    return len(rows)


def _is_gone(token: str) -> bool:
    parsed = ClaimOwner.parse(token)
    return parsed is not None and parsed.is_gone()


def _handled(report: DeliveryReport) -> int:
    return report.sent + report.deferred + report.failed
