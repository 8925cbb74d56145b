"""Deciding which mail the desk writes, and queueing it in the caller's transaction.

Reporters get acknowledgements and redirects through the one guard (`guard.py`); staff get
notifications. A queued mail is an outbox row: kind, recipient, language, threading headers
and the few facts its template needs, with its Message-ID fixed now. `letters.py` turns it
into bytes when it is first sent. Nothing here talks to a server or renders text, so intake
pays only for the decision.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailtriage.clock import Clock
from mailtriage.config import Config
from mailtriage.inbound.message import InboundMail
from mailtriage.outgoing.compose import make_message_id, normalize_message_id
from mailtriage.outgoing.mailkinds import KINDS
from mailtriage.outgoing.outbox import automatic_mails_since, queue_mail
from mailtriage.policy.guard import GuardPolicy, autoreply_refusal
from mailtriage.store.models import Case, OutboxMail, StoredMessage

REPORTER_KINDS = KINDS.names("reporter")
MAX_REFERENCES = 20


@dataclass
class AutoReplyLedger:
    """How many automatic mails each recipient got in the last day, for the daily cap.

    Counted in the store once per batch (`preload`) for the batch's senders, then kept up to
    date in memory as replies are queued; rows queued in the current transaction are not
    flushed yet and would be invisible to a query. It lives as long as one transaction
    attempt and is thrown away with it on a rollback.
    """

    counts: dict[str, int] = field(default_factory=dict)
    loaded: set[str] = field(default_factory=set)

    def preload(self, session: Session, recipients: set[str], since: dt.datetime) -> None:
        wanted = {r.lower() for r in recipients} - self.loaded
        if not wanted:
            return
        self.counts.update(automatic_mails_since(session, wanted, since))
        self.loaded |= wanted

    def count(self, session: Session, recipient: str, since: dt.datetime) -> int:
        self.preload(session, {recipient}, since)
        return self.counts.get(recipient.lower(), 0)

    def add(self, recipient: str) -> None:
        key = recipient.lower()
        self.counts[key] = self.counts.get(key, 0) + 1


class Replies:
    def __init__(self, config: Config, clock: Clock) -> None:
        self.config = config
        self.clock = clock
        # Staff addresses too: a mail forged in a staff member's name must not make the desk
        # answer that staff member as if they were a reporter.
        self.guard = GuardPolicy(
            own_addresses=config.own_addresses | {a.lower() for a in config.cases.staff},
            max_per_recipient_per_day=config.cases.max_autoreplies_per_sender_per_day,
            max_age=dt.timedelta(days=config.cases.autoreply_max_age_days),
        )
        self.domain = config.smtp.from_address.rsplit("@", 1)[-1]

    # -- to reporters --------------------------------------------------------------------

    def acknowledge(
        self,
        session: Session,
        ledger: AutoReplyLedger,
        case: Case,
        mail: InboundMail,
        arrived_at: dt.datetime,
        forwarded_by_staff: bool = False,
    ) -> str | None:
        """Queue the acknowledgement; returns why it may not be sent, or None when queued.

        A report that staff forwarded is answered without looking at the forwarding mail as
        the trigger (it comes from staff, whom the guard never answers) and outside its thread.
        """
        undecryptable = mail.pgp is not None and mail.pgp.undecryptable
        context: dict[str, Any] = {
            # Nothing of an undecryptable report was read: ask for it again, not for details.
            "missing_target": not undecryptable and not mail.indicators.has_target,
            "missing_time": not undecryptable and not mail.indicators.has_time,
        }
        if undecryptable:
            context["undecryptable"] = mail.pgp.problem if mail.pgp else None
        if forwarded_by_staff:
            return self._guarded(
                session, ledger, case, "acknowledgement", context, "auto-generated"
            )
        return self._auto_reply(session, ledger, case, mail, arrived_at, "acknowledgement", context)

    def redirect(
        self,
        session: Session,
        ledger: AutoReplyLedger,
        case: Case,
        mail: InboundMail,
        arrived_at: dt.datetime,
    ) -> str | None:
        return self._auto_reply(session, ledger, case, mail, arrived_at, "redirect", {})

    def _auto_reply(
        self,
        session: Session,
        ledger: AutoReplyLedger,
        case: Case,
        mail: InboundMail,
        arrived_at: dt.datetime,
        kind: str,
        context: dict[str, Any],
    ) -> str | None:
        parent = normalize_message_id(mail.message_id) if mail.message_id else None
        return self._guarded(
            session,
            ledger,
            case,
            kind,
            context,
            "auto-replied",
            thread=_thread(parent, mail.references),
            arrived_at=arrived_at,
        )

    def progress_update(
        self, session: Session, ledger: AutoReplyLedger, case: Case, next_update: dt.date
    ) -> str | None:
        """Queue the automatic progress update; returns why it may not go, or None."""
        context = {"next_update_date": next_update.isoformat()}
        return self._guarded(session, ledger, case, "progress_update", context, "auto-generated")

    def _guarded(
        self,
        session: Session,
        ledger: AutoReplyLedger,
        case: Case,
        kind: str,
        context: dict[str, Any],
        auto_submitted: str,
        thread: tuple[str | None, list[str]] = (None, []),
        arrived_at: dt.datetime | None = None,
    ) -> str | None:
        """Queue an automatic mail to the reporter through the guard; returns why it may not
        go, or None when it was queued."""
        assert KINDS.get(kind).guard == "automatic", kind
        now = self.clock()
        recipient = case.reporter_address
        sent_today = (
            ledger.count(session, recipient, now - dt.timedelta(days=1)) if recipient else 0
        )
        refusal = autoreply_refusal(
            self.guard,
            recipient,
            sent_today,
            trigger_arrived_at=arrived_at,
            now=now,
        )
        if refusal is not None:
            return refusal
        assert recipient is not None
        in_reply_to, references = thread
        self._queue(
            session,
            case=case,
            kind=kind,
            language=case.language,
            recipient=recipient,
            context=context,
            automatic=True,
            auto_submitted=auto_submitted,
            in_reply_to=in_reply_to,
            references=references,
        )
        ledger.add(recipient)
        return None

    def relay(
        self, session: Session, case: Case, text: str, staff_message: StoredMessage
    ) -> OutboxMail | None:
        """Queue a staff member's words to the reporter, from the team address, in the thread.

        Not guarded like automatic mail: a person wrote it, for this reporter. Only the cut
        text travels (in the row's context), never the staff member's address or quote."""
        recipient = case.reporter_address
        if not recipient:
            return None
        in_reply_to, references = self._reporter_thread(session, case)
        return self._queue(
            session,
            case=case,
            kind="relay",
            language=case.language,
            recipient=recipient,
            context={"text": text, "message": staff_message.id},
            automatic=False,
            auto_submitted="no",
            in_reply_to=in_reply_to,
            references=references,
        )

    def closing(
        self,
        session: Session,
        case: Case,
        text: str = "",
        staff_message: StoredMessage | None = None,
    ) -> str | None:
        """Queue the closing message (with the erasure date); returns why not, or None.

        With `text`, the staff member's last words open the same mail: a reporter who gets
        "can you retest?" and "your report is complete" as two mails at once does not know
        which one holds (observed). Such a mail is threaded and carries attachments like a
        relay, since a person wrote part of it."""
        recipient = case.reporter_address
        refusal = autoreply_refusal(self.guard, recipient, 0)
        if refusal is not None:
            return refusal
        assert recipient is not None
        context: dict[str, Any] = {}
        thread: tuple[str | None, list[str]] = (None, [])
        if text and staff_message is not None:
            context = {"text": text, "message": staff_message.id}
            thread = self._reporter_thread(session, case)
        self._queue(
            session,
            case=case,
            kind="closing",
            language=case.language,
            recipient=recipient,
            context=context,
            automatic=False,
            auto_submitted="no" if text else "auto-generated",
            in_reply_to=thread[0],
            references=thread[1],
        )
        return None

    def reporter_notice(
        self, session: Session, case: Case, kind: str, context: dict[str, Any]
    ) -> str | None:
        """Queue a notice to the reporter that staff's command caused (a duplicate link, an
        embargo); returns why it may not go, or None. Like the closing: once per decision,
        so only the recipient part of the guard applies, not the daily cap."""
        recipient = case.reporter_address
        refusal = autoreply_refusal(self.guard, recipient, 0)
        if refusal is not None:
            return refusal
        assert recipient is not None
        self._queue(
            session,
            case=case,
            kind=kind,
            language=case.language,
            recipient=recipient,
            context=context,
            automatic=False,
            auto_submitted="auto-generated",
        )
        return None

    @staticmethod
    def _reporter_thread(session: Session, case: Case) -> tuple[str | None, list[str]]:
        """In-Reply-To and References answering the reporter's newest mail on `case`."""
        parent = latest_reporter_message(session, case)
        if parent is None:
            return None, []
        parent_id = normalize_message_id(parent.header_message_id or "")
        return _thread(parent_id, parent.references or [])

    # -- to staff ------------------------------------------------------------------------

    def confirm_staff(
        self,
        session: Session,
        case: Case | None,
        recipient: str,
        results: list[str],
        unprocessed: list[str],
        ignored: list[str],
        details: dict[str, Any] | None = None,
    ) -> None:
        """The Results / Unprocessed / Ignored answer to the staff member who wrote.

        `details`: what the confirmation quotes back (`not_applied` commands, the `relayed`
        text's first lines, the `returned` text of a refused mail)."""
        if not recipient:
            return
        self._queue(
            session,
            case=case,
            kind="staff_confirmation",
            language="en",
            recipient=recipient,
            context={
                "results": results,
                "unprocessed": unprocessed,
                "ignored": ignored,
                **(details or {}),
            },
            automatic=False,
            auto_submitted="auto-replied",
        )

    def to_staff_member(
        self,
        session: Session,
        case: Case,
        recipient: str,
        kind: str,
        context: dict[str, Any],
    ) -> OutboxMail | None:
        """A mail for the one staff member who asked for it (`#attachments`, `#show`): only
        ever to an address in `cases.staff`; any other recipient gets nothing (None)."""
        staff = {a.lower() for a in self.config.cases.staff}
        if recipient.lower() not in staff:
            return None
        return self._queue(
            session,
            case=case,
            kind=kind,
            language="en",
            recipient=recipient.lower(),
            context=context,
            automatic=False,
            auto_submitted="auto-replied",
        )

    def reporter_replied(
        self,
        session: Session,
        case: Case,
        message: StoredMessage,
        credit: str | None,
        how: str = "",
    ) -> None:
        """Tell staff what the reporter wrote. A reply to a closed case says so up front,
        as it was when the reply came: staff must not take it for a live conversation."""
        closed = (
            {"reason": case.close_reason or "", "at": case.closed_at.isoformat()}
            if case.closed_at is not None
            else None
        )
        self.notify_staff(
            session,
            "staff_reporter_reply",
            {"message": message.id, "credit": credit, "how": how, "closed": closed},
            case=case,
        )

    def spoof_warning(
        self, session: Session, address: str, reason: str, new_case: Case | None
    ) -> None:
        self.notify_staff(
            session,
            "staff_spoof_warning",
            {"address": address, "reason": reason},
            case=new_case,
        )

    def notify_new_case(
        self,
        session: Session,
        case: Case,
        message: StoredMessage,
        earlier: list[str] | None = None,
    ) -> None:
        """Announce a new case; `earlier`: references of the sender's other open cases, which
        staff are asked to compare it with."""
        context: dict[str, Any] = {"message": message.id}
        if earlier:
            context["earlier"] = list(earlier)
        self.notify_staff(session, "staff_new_case", context, case=case)

    def notify_staff(
        self,
        session: Session,
        kind: str,
        context: dict[str, Any],
        case: Case | None = None,
        recipient: str | None = None,
    ) -> OutboxMail | None:
        """Queue a notification to `recipient` (a case's owner), else to `staff_notify`
        (nothing when no such address is set).

        It carries no In-Reply-To to the report: the report's Message-ID may hold the
        reporter's address, and staff copies outlive the purge.
        """
        recipient = recipient or self.config.cases.staff_notify
        if not recipient:
            return None
        return self._queue(
            session,
            case=case,
            kind=kind,
            language="en",
            recipient=recipient,
            context=context,
            automatic=False,
            auto_submitted="auto-generated",
        )

    def notify_owner(
        self, session: Session, kind: str, context: dict[str, Any], case: Case
    ) -> OutboxMail | None:
        """The same notice to the case's owner (`#assign`), when there is one and it is not
        `staff_notify` itself: a legal deadline must reach the person who holds the case."""
        owner = case.owner
        if not owner or owner.lower() == (self.config.cases.staff_notify or "").lower():
            return None
        return self._queue(
            session,
            case=case,
            kind=kind,
            language="en",
            recipient=owner,
            context=context,
            automatic=False,
            auto_submitted="auto-generated",
        )

    def delivery_failed(self, session: Session, row: OutboxMail, why: str) -> None:
        """Outbox hook: tell staff that a mail could not be delivered (never about staff mail)."""
        if row.kind not in REPORTER_KINDS:
            return
        self.notify_staff(
            session,
            "staff_delivery_failed",
            {"outbox": row.id, "permanent": why == "refused permanently"},
            case=row.case,
        )

    def _queue(
        self,
        session: Session,
        *,
        case: Case | None,
        kind: str,
        language: str,
        recipient: str,
        context: dict[str, Any],
        automatic: bool,
        auto_submitted: str,
        in_reply_to: str | None = None,
        references: list[str] | None = None,
    ) -> OutboxMail:
        KINDS.get(kind)  # a kind no module declares is a bug here, not a failed delivery later
        return queue_mail(
            session,
            now=self.clock(),
            case=case,
            kind=kind,
            language=language,
            recipient=recipient,
            context=context,
            message_id=make_message_id(self.domain).strip("<>"),
            in_reply_to=in_reply_to,
            references=references or [],
            automatic=automatic,
            auto_submitted=auto_submitted,
        )


def _thread(parent: str | None, references: Iterable[str]) -> tuple[str | None, list[str]]:
    """In-Reply-To and References for an answer to the mail `parent` (RFC 5322 3.6.4)."""
    ids = [i for i in (normalize_message_id(r) for r in references) if i]
    return parent, [*ids[-(MAX_REFERENCES - 1) :], *([parent] if parent else [])]


def latest_reporter_message(session: Session, case: Case) -> StoredMessage | None:
    """The reporter's newest mail on `case`, which a relay answers."""
    if case.reporter_address is None:
        return None
    return session.scalars(
        select(StoredMessage)
        .where(
            StoredMessage.case_id == case.id,
            StoredMessage.from_address == case.reporter_address,
            StoredMessage.header_message_id.is_not(None),
        )
        .order_by(StoredMessage.id.desc())
        .limit(1)
    ).first()
