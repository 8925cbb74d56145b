"""The triage policy: one readable table that decides what an incoming mail is.

`decide` is pure: it sees a parsed mail and what the store knows about the cases it points
at, and returns a Decision; `casework` applies it. The table is read top to bottom and the
first rule that matches wins:

    a copy of a mail already handled -> a duplicate of the first copy, nothing else
    automated mail (loop guard)   -> store as `auto`, never answer, open nothing
    authenticated staff           -> commands and a relay on the case it names
    staff mail naming no case     -> a forwarded report opens a case for its sender;
                                     anything else is kept, and staff told nothing was done
    a staff address, unauthenticated -> set aside: no case, no reply, staff are warned
    reply from the case reporter  -> append to that case (with any credit answer in it)
    not for this desk (policy)    -> a closed `redirected` case and a polite redirect
    plainly a follow-up, untagged -> append to the sender's one open case
    anything else                 -> open a new case (listing the sender's open cases)

The automated-mail rules are data too (`AUTO_RULES`): each has a name that ends up on the
stored message, so an operator can see why a mail was not answered.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from mailtriage.inbound.message import Address, InboundMail
from mailtriage.inbound.quotes import new_text
from mailtriage.policy.credit import CreditChange, credit_change, credit_request
from mailtriage.policy.followup import refers_to_earlier_report
from mailtriage.policy.redirects import redirect_reason


class Action(Enum):
    DUPLICATE = "duplicate"
    IGNORE_AUTO = "auto"
    STAFF = "staff"
    FORWARDED_REPORT = "forwarded-report"
    SPOOFED_STAFF = "spoofed-staff"
    APPEND = "append"
    REDIRECT = "redirect"
    FOLLOW_UP = "follow-up"
    OPEN_CASE = "open"


@dataclass(frozen=True)
class KnownCase:
    """What triage needs to know of a case a mail points at."""

    id: int
    ref: str
    reporter_address: str | None
    credit_consent: bool | None = None


@dataclass(frozen=True)
class TriageContext:
    own_addresses: frozenset[str]
    tagged_cases: tuple[KnownCase, ...] = ()  # cases named by a subject tag
    threaded_cases: tuple[KnownCase, ...] = ()  # cases owning an In-Reply-To/References id
    staff: bool = False  # the sender is staff and passed authentication
    claimed_staff: bool = False  # the From is a staff address, authenticated or not
    # The first stored copy of this very mail (same Message-ID and body), when there is one:
    # its message id, and the case it went to (a KnownCase id, None when it opened none).
    earlier_copy: int | None = None
    earlier_copy_case: int | None = None
    # For authenticated staff mail naming no case: the sender of the report it forwards.
    forwarded_reporter: Address | None = None
    # The sender's open report cases, oldest first (an untagged follow-up may join one).
    sender_open_cases: tuple[KnownCase, ...] = ()
    # The receiving MX authenticated the sender (aligned DKIM or DMARC): credit may count.
    sender_authenticated: bool = False


@dataclass(frozen=True)
class Decision:
    action: Action
    reason: str
    case_id: int | None = None
    # A stranger used a case's tag or thread: the new case records which, so staff can look.
    foreign_thread_ref: str | None = None
    # The From was a staff address that failed authentication: staff are warned.
    spoofed_staff: bool = False
    # DUPLICATE: the stored message this mail is a copy of.
    duplicate_of: int | None = None
    # FORWARDED_REPORT: the reporter, the sender of the forwarded mail.
    reporter: Address | None = None
    # APPEND / FOLLOW_UP: the reporter's answer to "may we credit you?", if the mail has one.
    credit: CreditChange | None = None
    # OPEN_CASE: the sender's open cases, listed to staff so a person decides.
    earlier_cases: tuple[int, ...] = ()


@dataclass(frozen=True)
class AutoRule:
    name: str
    check: Callable[[InboundMail], bool]


_BULK_PRECEDENCE = {"bulk", "list", "junk", "auto_reply"}
_MACHINE_LOCALPARTS = {"mailer-daemon", "postmaster", "mail-daemon", "mailerdaemon"}
_AUTOREPLY_SUBJECT = re.compile(
    r"^\s*(auto(matic|matisch)?[ _-]?(reply|response|antwoord)"
    r"|out of (the )?office|afwezig(heidsbericht)?|abwesenheit|vacation( reply)?"
    r"|undeliver(able|ed)|delivery status notification|mail delivery (failed|failure|system)"
    r"|returned mail|onbestelbaar|niet bezorgd|failure notice)\b",
    re.IGNORECASE,
)
_MACHINE_REPORT_TYPES = ("delivery-status", "disposition-notification")


def _auto_submitted(mail: InboundMail) -> bool:
    return any(
        v.strip().lower().split(";")[0] not in ("", "no") for v in mail.header("auto-submitted")
    )


def _precedence(mail: InboundMail) -> bool:
    return any(v.strip().lower() in _BULK_PRECEDENCE for v in mail.header("precedence"))


def _list_mail(mail: InboundMail) -> bool:
    return bool(mail.header("list-id") or mail.header("list-unsubscribe"))


def _spam_flag(mail: InboundMail) -> bool:
    flagged = any(v.strip().upper().startswith("YES") for v in mail.header("x-spam-flag"))
    status = any(v.strip().lower().startswith("yes") for v in mail.header("x-spam-status"))
    return flagged or status


def _null_or_daemon_sender(mail: InboundMail) -> bool:
    if mail.return_path == "":
        return True
    if mail.sender is None or not mail.sender.address:
        return False  # anonymous is allowed: no From is not proof of a machine
    return mail.sender.address.split("@", 1)[0] in _MACHINE_LOCALPARTS


def _machine_report(mail: InboundMail) -> bool:
    if mail.content_type != "multipart/report":
        return False
    params = (mail.first_header("content-type") or "").lower()
    return any(kind in params for kind in _MACHINE_REPORT_TYPES)


def _vendor_autoreply_headers(mail: InboundMail) -> bool:
    return bool(
        mail.header("x-autoreply")
        or mail.header("x-autorespond")
        or mail.header("x-autogenerated")
        or any("oof" in v.lower() for v in mail.header("x-auto-response-suppress"))
    )


def _autoreply_subject(mail: InboundMail) -> bool:
    return bool(_AUTOREPLY_SUBJECT.match(mail.subject))


AUTO_RULES: tuple[AutoRule, ...] = (
    AutoRule("auto-submitted", _auto_submitted),
    AutoRule("precedence", _precedence),
    AutoRule("list", _list_mail),
    AutoRule("spam-flag", _spam_flag),
    AutoRule("null-or-daemon-sender", _null_or_daemon_sender),
    AutoRule("delivery-report", _machine_report),
    AutoRule("vendor-autoreply", _vendor_autoreply_headers),
    AutoRule("autoreply-subject", _autoreply_subject),
)


def automated_reason(mail: InboundMail, own_addresses: frozenset[str] = frozenset()) -> str | None:
    """The name of the first rule saying `mail` was sent by a machine, or None."""
    if mail.sender is not None and mail.sender.address in own_addresses:
        return "own-address"
    for rule in AUTO_RULES:
        if rule.check(mail):
            return rule.name
    return None


def decide(mail: InboundMail, ctx: TriageContext) -> Decision:
    if ctx.earlier_copy is not None:
        # The same mail by another route (Cc and To, a resend): it goes where the first went.
        return Decision(
            Action.DUPLICATE,
            reason="duplicate",
            case_id=ctx.earlier_copy_case,
            duplicate_of=ctx.earlier_copy,
        )
    pointed_at = ctx.tagged_cases + ctx.threaded_cases
    auto = automated_reason(mail, ctx.own_addresses)
    if auto is not None:
        # A bounce or auto-reply to our own mail is linked to its case, and never answered.
        linked = ctx.threaded_cases[0].id if ctx.threaded_cases else None
        return Decision(Action.IGNORE_AUTO, reason=auto, case_id=linked)

    if ctx.staff:
        # Tag first: staff reply to notifications, whose threads lead to no reporter mail.
        if pointed_at:
            return Decision(Action.STAFF, reason="staff", case_id=pointed_at[0].id)
        if ctx.forwarded_reporter is not None:
            return Decision(
                Action.FORWARDED_REPORT,
                reason="forwarded-by-staff",
                reporter=ctx.forwarded_reporter,
            )
        return Decision(Action.STAFF, reason="staff")

    if ctx.claimed_staff:
        # A staff From that failed authentication is a forgery or a broken mail server. Either
        # way it is not a report: opening a case would set a deadline on, and answer, a
        # colleague (or whoever forged them). It is kept, and staff are warned.
        return Decision(Action.SPOOFED_STAFF, reason="staff-unauthenticated", spoofed_staff=True)

    sender = mail.sender.address if mail.sender else ""
    for case in pointed_at:
        if sender and case.reporter_address == sender:
            how = "tag" if case in ctx.tagged_cases else "thread"
            return _reporter_reply(mail, ctx, Action.APPEND, f"reporter-reply-by-{how}", case)
    # A tag is not a credential: a stranger's mail on someone else's case opens its own case.
    foreign = pointed_at[0].ref if pointed_at else None
    not_for_us = redirect_reason(mail)
    if not_for_us is not None and foreign is None:
        return Decision(Action.REDIRECT, reason=not_for_us)
    # A stranger using someone's tag is told to staff otherwise; only a plain new mail may
    # be an untagged follow-up of the sender's own earlier report.
    own_open = () if foreign or not sender else ctx.sender_open_cases
    if len(own_open) == 1 and refers_to_earlier_report(mail.subject, new_text(mail.text)):
        return _reporter_reply(mail, ctx, Action.FOLLOW_UP, "follow-up-by-reference", own_open[0])
    return Decision(
        Action.OPEN_CASE,
        reason="new-report",
        foreign_thread_ref=foreign,
        earlier_cases=tuple(c.id for c in own_open),
    )


def _reporter_reply(
    mail: InboundMail, ctx: TriageContext, action: Action, reason: str, case: KnownCase
) -> Decision:
    """The reporter's mail on their case, with what to do about a credit answer in it."""
    credit = credit_change(
        credit_request(new_text(mail.text)),
        authenticated=ctx.sender_authenticated,
        consented=case.credit_consent,
    )
    return Decision(action, reason=reason, case_id=case.id, credit=credit)
