"""Applying triage decisions to the store: cases opened, replies joined, mail answered.

Intake hands over a batch of parsed messages. `BatchKnowledge` first asks the store, in a
handful of queries for the whole batch, what those messages point at (earlier copies, tagged
cases, threads), and then learns from each message as it is applied, so a reply that arrives
in the same batch as its report still finds the case. `CaseDesk.apply` gathers the facts
triage needs (`BatchKnowledge.facts`), lets `triage.decide` say what the mail is, and hands
the decision to the one small applier for that disposition, which turns it into rows: the
case, the message's status (through `filing`), timeline events and the outgoing mail, all in
the caller's transaction. Appliers do not decide what a mail is, nor whether a credit answer
counts: triage said so.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailtriage.clock import Clock
from mailtriage.config import Config
from mailtriage.desk.replies import AutoReplyLedger, Replies
from mailtriage.desk.staffdesk import StaffDesk
from mailtriage.inbound.forwards import forwarded_sender
from mailtriage.inbound.language import reply_language, settled_language, staff_set_language
from mailtriage.inbound.message import Address, InboundMail
from mailtriage.inbound.openpgp import replaces_key
from mailtriage.inbound.staffauth import StaffVerdict, sender_authenticated, staff_verdict
from mailtriage.outgoing.masking import mask_personal
from mailtriage.policy.cases import State, format_ref, refs_in_subject
from mailtriage.policy.credit import CreditChange, CreditRequest
from mailtriage.policy.states import Action as StateAction
from mailtriage.policy.states import transition
from mailtriage.policy.triage import Action, Decision, KnownCase, TriageContext, decide
from mailtriage.policy.workdays import first_response_due
from mailtriage.store import filing
from mailtriage.store.models import (
    Attachment,
    Case,
    CaseEvent,
    MessageStatus,
    OutboxMail,
    StoredMessage,
)
from mailtriage.store.sequences import next_sequence, store_sequence

HANDLED = (MessageStatus.CASE, MessageStatus.AUTO, MessageStatus.DUPLICATE)
MAX_THREAD_IDS = 100


@dataclass(frozen=True)
class EarlierCopy:
    message_id: int
    case: Case | None
    category: str | None


@dataclass
class BatchKnowledge:
    """What the messages of one batch point at, kept current while the batch is applied."""

    earlier: dict[tuple[str, str], EarlierCopy] = field(default_factory=dict)
    by_ref: dict[str, Case] = field(default_factory=dict)
    by_thread_id: dict[str, Case] = field(default_factory=dict)
    ledger: AutoReplyLedger = field(default_factory=AutoReplyLedger)
    # Case sequence numbers handed out in this transaction: (prefix, year) -> last.
    sequences: dict[tuple[str, int], int] = field(default_factory=dict)

    @classmethod
    def load(
        cls,
        session: Session,
        mails: Iterable[tuple[StoredMessage, InboundMail]],
        prefix: str,
        now: dt.datetime,
    ) -> BatchKnowledge:
        header_ids: set[str] = set()
        refs: set[str] = set()
        thread_ids: set[str] = set()
        senders: set[str] = set()
        for _, mail in mails:
            if mail.message_id:
                header_ids.add(mail.message_id)
            if mail.sender and mail.sender.address:
                senders.add(mail.sender.address)
            refs.update(refs_in_subject(mail.subject, prefix))
            thread_ids.update(_thread_ids(mail))
        known = cls()
        known.ledger.preload(session, senders, now - dt.timedelta(days=1))
        if header_ids:
            rows = session.execute(
                select(
                    StoredMessage.id,
                    StoredMessage.header_message_id,
                    StoredMessage.body_sha256,
                    StoredMessage.category,
                    Case,
                )
                .outerjoin(Case, Case.id == StoredMessage.case_id)
                .where(
                    StoredMessage.header_message_id.in_(header_ids),
                    StoredMessage.status.in_(HANDLED),
                )
                .order_by(StoredMessage.id.desc())
            )
            for row in rows:  # newest first, so the oldest copy is what stays in the dict
                known.earlier[(row.header_message_id, row.body_sha256)] = EarlierCopy(
                    row.id, row.Case, row.category
                )
        if refs:
            for case in session.scalars(select(Case).where(Case.ref.in_(refs))):
                known.by_ref[case.ref] = case
        if thread_ids:
            inbound = session.execute(
                select(StoredMessage.header_message_id, Case)
                .join(Case, Case.id == StoredMessage.case_id)
                .where(StoredMessage.header_message_id.in_(thread_ids))
            )
            outbound = session.execute(
                select(OutboxMail.message_id, Case)
                .join(Case, Case.id == OutboxMail.case_id)
                .where(OutboxMail.message_id.in_(thread_ids))
            )
            for header_id, case in (*inbound, *outbound):
                known.by_thread_id[header_id] = case
        return known

    def facts(
        self,
        session: Session,
        message: StoredMessage,
        raw: bytes,
        mail: InboundMail,
        config: Config,
        verdict: StaffVerdict,
    ) -> Facts:
        """Everything triage needs to decide on `mail`, gathered here so that `decide` stays
        pure: the cases it points at, an earlier copy of it, the report a staff member
        forwarded. Purged cases are out of reach for everyone but staff (who may still
        withdraw a credit there)."""
        cases: dict[int, Case] = {}

        def known(case: Case) -> KnownCase:
            key = id(case)  # cases opened in this batch have no database id yet
            cases[key] = case
            return KnownCase(
                id=key,
                ref=case.ref,
                reporter_address=case.reporter_address,
                credit_consent=case.credit_consent,
            )

        earlier = self.earlier.get((mail.message_id or "", message.body_sha256 or ""))
        if earlier is not None and earlier.message_id == message.id:
            earlier = None  # (itself, learnt in an earlier attempt of this batch)
        prefix = config.cases.ref_prefix
        tagged = [self.by_ref[r] for r in refs_in_subject(mail.subject, prefix) if r in self.by_ref]
        threaded: list[Case] = []
        for thread_id in _thread_ids(mail):
            case = self.by_thread_id.get(thread_id)
            if case is not None and case not in threaded:
                threaded.append(case)
        staff = verdict.authenticated
        # Only staff mail naming no case can be a forwarded report: look for one only then.
        forwarded = forwarded_sender(raw, mail.text) if staff and not (tagged or threaded) else None
        # Only a reporter's mail can follow up their own case: no query for staff or copies.
        reporter_mail = not (staff or verdict.claimed or earlier) and mail.sender is not None
        sender = mail.sender.address if reporter_mail and mail.sender else ""
        own_open = _open_cases_of(session, sender) if sender else []
        trusted = config.cases.trusted_authserv_ids
        context = TriageContext(
            own_addresses=config.own_addresses,
            tagged_cases=tuple(known(c) for c in tagged if staff or c.purged_at is None),
            threaded_cases=tuple(known(c) for c in threaded if staff or c.purged_at is None),
            staff=staff,
            claimed_staff=verdict.claimed,
            earlier_copy=earlier.message_id if earlier else None,
            earlier_copy_case=known(earlier.case).id if earlier and earlier.case else None,
            forwarded_reporter=forwarded,
            sender_open_cases=tuple(known(c) for c in own_open),
            sender_authenticated=bool(sender) and sender_authenticated(mail, trusted, raw=raw),
        )
        return Facts(context, cases, earlier)

    def next_sequence(self, session: Session, prefix: str, year: int) -> int:
        """A case number for `year`: the store's counter is bumped (and locked) once per
        transaction, later numbers are counted here and written back by `save`."""
        key = (prefix, year)
        if key in self.sequences:
            self.sequences[key] += 1
        else:
            self.sequences[key] = next_sequence(session, prefix, year)
        return self.sequences[key]

    def save(self, session: Session) -> None:
        for (prefix, year), last in self.sequences.items():
            store_sequence(session, prefix, year, last)

    def learn(self, message: StoredMessage, mail: InboundMail, case: Case | None) -> None:
        if mail.message_id and message.body_sha256:
            key = (mail.message_id, message.body_sha256)
            self.earlier.setdefault(key, EarlierCopy(message.id, case, message.category))
        if case is not None:
            self.by_ref[case.ref] = case
            if mail.message_id:
                self.by_thread_id[mail.message_id] = case


@dataclass(frozen=True)
class Facts:
    """What triage is told about one mail, and the rows behind it for the applier."""

    context: TriageContext
    cases: dict[int, Case]  # KnownCase id -> the case
    earlier: EarlierCopy | None


@dataclass(frozen=True)
class _Job:
    """One decision to carry out, with everything its applier may need."""

    session: Session
    message: StoredMessage
    raw: bytes
    mail: InboundMail
    decision: Decision
    knowledge: BatchKnowledge
    facts: Facts
    verdict: StaffVerdict
    case: Case | None  # the case the decision names, if any


# What an applier returns: the message's case afterwards, and the ref of a case it opened.
_Applied = tuple[Case | None, str | None]


@dataclass(frozen=True)
class Outcome:
    status: str
    opened_ref: str | None = None


class CaseDesk:
    def __init__(self, config: Config, replies: Replies, staff: StaffDesk, clock: Clock) -> None:
        self.config = config
        self.replies = replies
        self.staff = staff
        self.clock = clock

    def apply(
        self,
        session: Session,
        message: StoredMessage,
        raw: bytes,
        mail: InboundMail,
        knowledge: BatchKnowledge,
    ) -> Outcome:
        """Decide, then apply: triage (pure) says what the mail is, and the one applier for
        that disposition turns it into rows, in the caller's transaction."""
        record_facts(session, message, raw, mail)
        # The raw header text, not the decoded one: decoding encoded words can forge results.
        cases_config = self.config.cases
        verdict = staff_verdict(
            mail,
            cases_config.staff,
            cases_config.trusted_authserv_ids,
            raw=raw,
            accept=cases_config.staff_auth,
            allow_unauthenticated=cases_config.allow_unauthenticated_staff,
        )
        facts = knowledge.facts(session, message, raw, mail, self.config, verdict)
        decision = decide(mail, facts.context)
        case = facts.cases.get(decision.case_id) if decision.case_id is not None else None
        job = _Job(session, message, raw, mail, decision, knowledge, facts, verdict, case)
        case, opened = self._appliers[decision.action](job)
        self._learn_pgp_key(message, mail, case)
        message.processed_at = self.clock()
        knowledge.learn(message, mail, case)
        return Outcome(message.status, opened)

    def _learn_pgp_key(self, message: StoredMessage, mail: InboundMail, case: Case | None) -> None:
        """Keep the key a reporter's own mail on their case brought (attached or Autocrypt,
        already checked to name the sender): from now on mail to them is encrypted. Only the
        case's reporter can set it; a stranger's key on someone's case is never kept."""
        offered = mail.pgp.offered_key if mail.pgp else None
        if offered is None or case is None or case.purged_at is not None:
            return
        sender = mail.sender.address if mail.sender else ""
        if message.case is not case or message.status != MessageStatus.CASE:
            return
        if not sender or sender != (case.reporter_address or "").lower():
            return
        if case.reporter_pgp_key == offered:
            return
        if case.reporter_pgp_key and not replaces_key(case.reporter_pgp_key, mail.pgp):
            # A From can be forged: a new key replaces the kept one only in a mail signed
            # with the kept one, or a forger could make the reporter's mail unreadable.
            self._event(case, "pgp-key-refused", {"message": message.id})
            return
        case.reporter_pgp_key = offered
        self._event(case, "pgp-key", {"message": message.id, "from": mail.pgp.offered_by})

    @property
    def _appliers(self) -> dict[Action, Callable[[_Job], _Applied]]:
        """One applier per disposition triage can return."""
        return {
            Action.DUPLICATE: self._apply_duplicate,
            Action.IGNORE_AUTO: self._apply_auto,
            Action.STAFF: self._apply_staff,
            Action.FORWARDED_REPORT: self._apply_forwarded_report,
            Action.SPOOFED_STAFF: self._apply_spoofed_staff,
            Action.APPEND: self._apply_append,
            Action.REDIRECT: self._apply_redirect,
            Action.FOLLOW_UP: self._apply_append,
            Action.OPEN_CASE: self._apply_open_case,
        }

    def _apply_duplicate(self, job: _Job) -> _Applied:
        """A copy goes where the first copy went, and nothing else happens."""
        earlier = job.facts.earlier
        assert earlier is not None
        filing.file_as(job.message, MessageStatus.DUPLICATE, earlier.category, job.case)
        job.message.duplicate_of_id = job.decision.duplicate_of
        return job.case, None

    def _apply_auto(self, job: _Job) -> _Applied:
        self._file_auto(job.message, job.decision, job.case)
        return job.case, None

    def _apply_staff(self, job: _Job) -> _Applied:
        """Staff mail on the case it names; naming none (and forwarding nothing), it is kept
        and its sender told that nothing was done."""
        if job.case is not None:
            filing.file_as(job.message, MessageStatus.CASE, "staff", job.case)
            self.staff.handle(job.session, job.message, job.mail, job.case)
            return job.case, None
        filing.file_as(job.message, MessageStatus.STAFF, "staff")
        self.replies.confirm_staff(
            job.session,
            None,
            _sender(job.mail),
            [],
            ["no case tag ([REF]) in the subject and no forwarded report: nothing was done"],
            [],
        )
        return None, None

    def _apply_forwarded_report(self, job: _Job) -> _Applied:
        """A staff member forwarded a report: a case opens for its sender, the reporter."""
        message = job.message
        case = self._open_case(
            job.session,
            message,
            job.mail,
            job.decision,
            job.knowledge,
            reporter=job.decision.reporter,
        )
        filing.file_as(message, MessageStatus.CASE, "staff", case)
        self._event(case, "forwarded-by-staff", {"message": message.id})
        self.replies.confirm_staff(
            job.session,
            case,
            _sender(job.mail),
            [f"case {case.ref} opened for the forwarded report; its sender is the reporter"],
            [],
            [],
        )
        return case, case.ref

    def _apply_spoofed_staff(self, job: _Job) -> _Applied:
        self._set_aside_spoofed(job.session, job.message, job.mail, job.verdict.reason)
        return None, None

    def _apply_append(self, job: _Job) -> _Applied:
        assert job.case is not None
        self._append(job.session, job.message, job.mail, job.decision, job.case)
        return job.case, None

    def _apply_redirect(self, job: _Job) -> _Applied:
        case = self._open_case(job.session, job.message, job.mail, job.decision, job.knowledge)
        return case, case.ref

    def _apply_open_case(self, job: _Job) -> _Applied:
        earlier = [job.facts.cases[i] for i in job.decision.earlier_cases]
        case = self._open_case(
            job.session, job.message, job.mail, job.decision, job.knowledge, earlier=earlier
        )
        return case, case.ref

    def _file_auto(self, message: StoredMessage, decision: Decision, case: Case | None) -> None:
        # A bounce or auto-reply to our mail belongs with its case, and is never answered.
        filing.file_as(message, MessageStatus.AUTO, "auto", case)
        if case is not None:
            self._event(case, "automated-mail", {"message": message.id, "rule": decision.reason})

    def _append(
        self,
        session: Session,
        message: StoredMessage,
        mail: InboundMail,
        decision: Decision,
        case: Case,
    ) -> None:
        how = decision.reason
        filing.file_as(message, MessageStatus.CASE, "report", case)
        self._event(case, "reporter-reply", {"message": message.id, "how": how})
        self._settle_language(case, reply_language(mail.text))
        credit = decision.credit if case.purged_at is None else None
        credit_line = self._credit(case, message, credit) if credit else None
        self.replies.reporter_replied(session, case, message, credit_line, how=how)

    def _settle_language(self, case: Case, written: str) -> None:
        """The reporter's clear follow-up decides the case language (unless staff chose)."""
        new = settled_language(case.language, written, staff_set_language(case.events))  # type: ignore[arg-type]
        if new is not None:
            self._event(case, "language", {"from": case.language, "to": new, "by": "reporter"})
            case.language = new

    def _credit(self, case: Case, message: StoredMessage, change: CreditChange) -> str:
        """Carry out triage's call on the reporter's credit answer; the line staff are told.
        Held answers are kept on the case (a `credit-request` event) for staff to confirm."""
        request, authenticated = change.request, change.authenticated
        if change.apply:
            case.credit_consent = request.consent
            case.credit_name = request.name if request.consent else None
            self._event(
                case,
                "credit",
                {"consent": request.consent, "by": "reporter", "authenticated": authenticated},
            )
            # Not the name itself: staff copies outlive the purge, and a credit name is often
            # the reporter's own; `mailtriage case REF` and `credits` show it.
            return (
                "the reporter consented to be credited (see `mailtriage case`)"
                if request.consent
                else "the reporter does not want to be credited"
            )
        self._event(
            case,
            "credit-request",
            {
                "consent": request.consent,
                "name": request.name,
                "how": request.how,
                "authenticated": authenticated,
                "message": message.id,
            },
        )
        return _credit_to_confirm(request, authenticated, case.reporter_address)

    def _set_aside_spoofed(
        self, session: Session, message: StoredMessage, mail: InboundMail, reason: str
    ) -> None:
        """A mail from a staff address that failed authentication opens no case and is
        answered by nobody: it is kept like staff mail naming no case (and purged like it),
        and staff get the spoof warning."""
        filing.file_as(message, MessageStatus.STAFF, "staff-unauthenticated")
        self.replies.spoof_warning(session, _sender(mail), reason, None)

    def _open_case(
        self,
        session: Session,
        message: StoredMessage,
        mail: InboundMail,
        decision: Decision,
        knowledge: BatchKnowledge,
        reporter: Address | None = None,
        earlier: list[Case] | None = None,
    ) -> Case:
        now = self.clock()
        deadlines = self.config.deadlines
        forwarded_by_staff = reporter is not None
        reporter = reporter or (mail.sender if mail.sender and mail.sender.address else None)
        year = message.arrived_at.astimezone(deadlines.tz).year
        prefix = self.config.cases.ref_prefix
        seq = knowledge.next_sequence(session, prefix, year)
        redirected = decision.action is Action.REDIRECT
        case = Case(
            ref=format_ref(prefix, year, seq),
            year=year,
            seq=seq,
            state=State.NEW,
            category="redirect" if redirected else "report",
            language=mail.language,
            reporter_address=reporter.address if reporter else None,
            reporter_name=(reporter.name or None) if reporter else None,
            subject=mail.subject,
            received_at=message.arrived_at,
            first_response_due=(
                None if redirected else first_response_due(message.arrived_at, deadlines)
            ),
            legal_hold=False,
            created_at=now,
        )
        session.add(case)
        filing.file_as(message, MessageStatus.CASE, case.category, case)
        detail: dict[str, object] = {"message": message.id, "language": mail.language}
        if decision.foreign_thread_ref:
            detail["foreign_thread_ref"] = decision.foreign_thread_ref
        if redirected:
            detail["rule"] = decision.reason
        self._event(case, "opened", detail)

        if redirected:
            # Through the table like every other close (`new` -> `closed`); the reason is
            # kept beside the state, as `#close` keeps its own.
            case.state = transition(case.state, StateAction.CLOSE)
            case.close_reason = "redirected"
            case.closed_at = now
            refusal = self.replies.redirect(
                session, knowledge.ledger, case, mail, message.arrived_at
            )
            self._event(case, "closed", {"reason": "redirected"})
            self._reply_event(case, "redirect", refusal)
            return case

        refusal = self.replies.acknowledge(
            session,
            knowledge.ledger,
            case,
            mail,
            message.arrived_at,
            forwarded_by_staff=forwarded_by_staff,
        )
        self._reply_event(case, "acknowledgement", refusal)
        if refusal is None:
            case.state = transition(case.state, StateAction.ACKNOWLEDGE)
            self._event(case, "state", {"from": State.NEW, "to": case.state})
        self.replies.notify_new_case(
            session, case, message, [c.ref for c in earlier or [] if c is not case]
        )
        if decision.foreign_thread_ref and not decision.spoofed_staff:
            # (A forged staff mail gets the sharper spoofing warning instead.)
            self.replies.notify_staff(
                session,
                "staff_stranger_on_case",
                {"ref": decision.foreign_thread_ref},
                case=case,
            )
        return case

    def _reply_event(self, case: Case, kind: str, refusal: str | None) -> None:
        if refusal is None:
            self._event(case, "reply-queued", {"kind": kind})
        else:
            self._event(case, "reply-suppressed", {"kind": kind, "reason": refusal})

    def _event(self, case: Case, kind: str, detail: dict[str, object]) -> None:
        case.events.append(CaseEvent(at=self.clock(), kind=kind, detail=detail))


def record_facts(session: Session, message: StoredMessage, raw: bytes, mail: InboundMail) -> None:
    """Copy what threading, listing and staff need from the parsed mail onto the stored row."""
    message.header_message_id = (mail.message_id or "")[:998] or None
    message.body_sha256 = hashlib.sha256(body_bytes(raw)).hexdigest()
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
    message.pgp = mail.pgp.record() if mail.pgp else None
    # Added by foreign key, not through the relationship: assigning the collection would
    # first load the (empty) old one, a query per message.
    session.add_all(
        Attachment(
            message_id=message.id,
            filename=a.filename[:255],
            content_type=a.content_type[:255],
            size=a.size,
            sha256=a.sha256,
        )
        for a in mail.attachments
    )


def body_bytes(raw: bytes) -> memoryview:
    """The bytes after the header block: trace headers differ between routes, bodies do not.
    A view, not a copy: for a 30 MB mail a slice would be 30 MB more to hash it."""
    for separator in (b"\r\n\r\n", b"\n\n", b"\r\r"):
        index = raw.find(separator)
        if index != -1:
            return memoryview(raw)[index + len(separator) :]
    return memoryview(b"")


def _sender(mail: InboundMail) -> str:
    return mail.sender.address if mail.sender else ""


def _thread_ids(mail: InboundMail) -> list[str]:
    return [i for i in (*mail.in_reply_to, *mail.references) if i][:MAX_THREAD_IDS]


def _credit_to_confirm(request: CreditRequest, authenticated: bool, reporter: str | None) -> str:
    """What staff read about a credit request that was kept for them, with the command that
    confirms it. The name is shown (addresses in it masked): staff cannot confirm unseen."""
    why = (
        "it was written in a sentence, so check the name"
        if authenticated
        else "the mail was not authenticated by our mail server (no aligned DKIM or DMARC "
        "pass), so anyone could have sent it"
    )
    if not request.consent:
        return (
            f"the reporter asks NOT to be credited. Not applied: {why}. "
            "To withdraw the credit, reply with the line: #credit withdraw"
        )
    name = mask_personal(request.name or "", address=reporter, name=None)
    return (
        f'the reporter asks to be credited as "{name}". Not applied: {why}. '
        f"To record it, reply with the line: #credit {name}"
    )


MAX_EARLIER_LISTED = 10  # the sender's open cases a new case's staff notice lists, at most


def _open_cases_of(session: Session, sender: str) -> list[Case]:
    """The sender's open (not closed, not purged) report cases, oldest first."""
    return list(
        session.scalars(
            select(Case)
            .where(
                Case.reporter_address == sender,
                Case.category == "report",
                Case.state != State.CLOSED,
                Case.purged_at.is_(None),
            )
            .order_by(Case.received_at, Case.id)
            .limit(MAX_EARLIER_LISTED + 1)
        )
    )
