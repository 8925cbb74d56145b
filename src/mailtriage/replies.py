"""Every mail the desk writes, from a template to a row in the outbox.

Reporters get acknowledgements and redirects through the one guard (`guard.py`); staff get
notifications whose text is masked, because copies in staff mailboxes outlive any purge.
Nothing here talks to a server: a mail is rendered, composed with its Message-ID fixed now,
and queued in the caller's transaction, so it exists exactly when the change that caused it
does.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from mailtriage.config import Config
from mailtriage.guard import GuardPolicy, autoreply_refusal
from mailtriage.message import InboundMail
from mailtriage.outbox import automatic_mails_since, queue_mail
from mailtriage.render import ComposeError, Renderer, compose, make_message_id, mask_personal
from mailtriage.store.models import Case, OutboxMail

log = logging.getLogger(__name__)

Clock = Callable[[], dt.datetime]

STAFF_KINDS = frozenset(
    {"staff_new_case", "staff_delivery_failed", "staff_quarantine", "staff_stranger_on_case"}
)


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
    def __init__(self, config: Config, renderer: Renderer, clock: Clock) -> None:
        self.config = config
        self.renderer = renderer
        self.clock = clock
        self.guard = GuardPolicy(
            own_addresses=config.own_addresses,
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
    ) -> str | None:
        """Queue the acknowledgement; returns why it was not sent, or None when queued."""
        assert case.first_response_due is not None
        due_local = case.first_response_due.astimezone(self.config.deadlines.tz)
        context = {
            "ref": case.ref,
            "due_date": due_local,
            "missing_target": not mail.indicators.has_target,
            "missing_time": not mail.indicators.has_time,
            "first_response_workdays": self.config.deadlines.first_response_workdays,
        }
        return self._auto_reply(session, ledger, case, mail, arrived_at, "acknowledgement", context)

    def redirect(
        self,
        session: Session,
        ledger: AutoReplyLedger,
        case: Case,
        mail: InboundMail,
        arrived_at: dt.datetime,
    ) -> str | None:
        context = {"ref": case.ref, "contact_form_url": self.config.policy.contact_form_url}
        return self._auto_reply(session, ledger, case, mail, arrived_at, "redirect", context)

    def _auto_reply(
        self,
        session: Session,
        ledger: AutoReplyLedger,
        case: Case,
        mail: InboundMail,
        arrived_at: dt.datetime,
        kind: str,
        context: Mapping[str, object],
    ) -> str | None:
        now = self.clock()
        recipient = case.reporter_address
        sent_today = 0
        if recipient:
            sent_today = ledger.count(session, recipient, now - dt.timedelta(days=1))
        refusal = autoreply_refusal(
            self.guard,
            recipient,
            sent_today,
            trigger=mail,
            trigger_arrived_at=arrived_at,
            now=now,
        )
        if refusal is not None:
            return refusal
        assert recipient is not None
        rendered = self.renderer.render(kind, case.language, context)  # type: ignore[arg-type]
        parent = mail.message_id
        try:
            self._queue(
                session,
                case=case,
                kind=kind,
                recipient=recipient,
                subject=rendered.subject,
                body=rendered.body,
                automatic=True,
                in_reply_to=parent,
                references=(*mail.references, *((parent,) if parent else ())),
                auto_submitted="auto-replied",
            )
        except ComposeError as exc:
            # A From that parses but cannot be written back (a quoted local part, say) is no
            # reason to lose the report: the case stands, the reply is recorded as not sent.
            log.warning("%s for case %s not composed: %s", kind, case.ref, exc)
            return "cannot-compose"
        ledger.add(recipient)
        return None

    # -- to staff ------------------------------------------------------------------------

    def notify_new_case(self, session: Session, case: Case, mail: InboundMail) -> None:
        def masked(text: str) -> str:
            return mask_personal(text, address=case.reporter_address, name=case.reporter_name)

        due = case.first_response_due
        self.notify_staff(
            session,
            "staff_new_case",
            {
                "ref": case.ref,
                "due_date": due.astimezone(self.config.deadlines.tz) if due else self.clock(),
                "category": case.category,
                "language": case.language,
                "subject": masked(mail.subject),
                "text": masked(mail.text),
                "indicators": mail.indicators,
                "attachments": [
                    {"filename": masked(a.filename), "size": a.size, "content_type": a.content_type}
                    for a in mail.attachments
                ],
            },
            case=case,
        )

    def notify_staff(
        self,
        session: Session,
        kind: str,
        context: Mapping[str, object],
        case: Case | None = None,
    ) -> None:
        """Queue a notification to `staff_notify` (nothing when no such address is set)."""
        recipient = self.config.cases.staff_notify
        if not recipient:
            return
        rendered = self.renderer.render(kind, "en", context)
        # No In-Reply-To to the report: its Message-ID may carry the reporter's address.
        self._queue(
            session,
            case=case,
            kind=kind,
            recipient=recipient,
            subject=rendered.subject,
            body=rendered.body,
            automatic=False,
            auto_submitted="auto-generated",
        )

    def delivery_failed(self, session: Session, row: OutboxMail, why: str) -> None:
        """Outbox hook: tell staff that a mail could not be delivered (never about staff mail)."""
        if row.kind in STAFF_KINDS:
            return
        ref = session.get(Case, row.case_id).ref if row.case_id is not None else "(no case)"
        self.notify_staff(
            session,
            "staff_delivery_failed",
            {
                "ref": ref,
                "permanent": why == "refused permanently",
                "reason": row.last_error or why,
            },
            case=session.get(Case, row.case_id) if row.case_id is not None else None,
        )

    # -- composing -----------------------------------------------------------------------

    def _queue(
        self,
        session: Session,
        *,
        case: Case | None,
        kind: str,
        recipient: str,
        subject: str,
        body: str,
        automatic: bool,
        auto_submitted: str,
        in_reply_to: str | None = None,
        references: tuple[str, ...] = (),
    ) -> OutboxMail:
        now = self.clock()
        message_id = make_message_id(self.domain)
        raw = compose(
            from_address=self.config.smtp.from_address,
            from_name=self.config.smtp.from_name,
            to=recipient,
            subject=subject,
            body=body,
            message_id=message_id,
            in_reply_to=in_reply_to,
            references=references,
            auto_submitted=auto_submitted,
            date=now,
        )
        row = queue_mail(
            session,
            now=now,
            case=case,
            kind=kind,
            recipient=recipient,
            message_id=message_id.strip("<>"),
            raw=raw,
            automatic=automatic,
        )
        return row
