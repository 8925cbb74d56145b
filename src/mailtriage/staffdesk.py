"""Staff working a case by e-mail: commands at the top, their words relayed as the team.

A staff mail on a case is checked as a whole before anything changes: its command lines
(`commands.py`) and the relay are walked through the state table (`states.py`); an unknown
command or a step the table refuses leaves the case exactly as it was and relays nothing, and
the sender gets a confirmation saying why (Mailman's Results / Unprocessed / Ignored), with
every valid command named as not applied and their text given back to resend. Only then are
the steps applied in order. What may reach the reporter is decided in one pure place,
`staffmail.read_staff_mail` (quoted history, signature, stray `#` lines, `#note` anywhere);
`#note` keeps the staff member's own words internal. Staff addresses never reach reporters:
the relay is composed from the team address and carries only the cut text, and the
confirmation quotes exactly what was sent.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailtriage.clock import Clock
from mailtriage.commands import Command
from mailtriage.config import Config
from mailtriage.message import InboundMail
from mailtriage.replies import Replies
from mailtriage.staffmail import NOTIFICATION_OPENINGS, StaffReading, read_staff_mail
from mailtriage.states import Action, IllegalTransition, Step, walk, with_relay
from mailtriage.store.models import Case, CaseEvent, StoredMessage
from mailtriage.workdays import Calendar, end_of_day

__all__ = ["NOTIFICATION_OPENINGS", "StaffDesk", "StaffOutcome", "latest_reporter_message"]

MAX_NOTE_CHARS = 20_000
MAX_QUOTED_LINES = 12  # of the relayed text, quoted back in the confirmation


@dataclass
class StaffOutcome:
    results: list[str]
    unprocessed: list[str]
    ignored: list[str]
    # Valid commands of a refused mail: named in the confirmation as not applied.
    not_applied: list[str] = field(default_factory=list)
    # What was sent to the reporter, or (refused) what the sender wrote, given back.
    relayed: str = ""
    returned: str = ""


class StaffDesk:
    def __init__(self, config: Config, replies: Replies, clock: Clock) -> None:
        self.config = config
        self.replies = replies
        self.clock = clock
        self.calendar = Calendar.from_config(config.deadlines)

    def handle(
        self, session: Session, message: StoredMessage, mail: InboundMail, case: Case
    ) -> StaffOutcome:
        """Apply an authenticated staff mail to `case`: all of it, or nothing.

        Nothing rather than part: a staff member who wrote three commands and a text meant
        them together, and applying two of them would leave a case nobody asked for. A
        refused mail's text comes back to its sender (`StaffOutcome.returned`), so nothing
        they wrote for the reporter is ever silently dropped."""
        reading = read_staff_mail(mail.text, staff_domains=self.config.cases.assign_domains)
        parsed = reading.parsed
        outcome = StaffOutcome(results=[], unprocessed=[], ignored=[])
        outcome.unprocessed.extend(f"{line}: {reason}" for line, reason in parsed.unknown)
        outcome.unprocessed.extend(self._bad_assignments(parsed.commands))
        outcome.unprocessed.extend(reading.problems)
        steps: tuple[Step, ...] = ()
        if not outcome.unprocessed:
            actions = with_relay(parsed.actions) if reading.relay else parsed.actions
            try:
                steps = walk(case.state, actions, purged=case.purged_at is not None)
            except IllegalTransition as exc:
                outcome.unprocessed.append(str(exc))
        if outcome.unprocessed:
            outcome.not_applied = [c.line for c in parsed.commands]
            outcome.returned = reading.written
            self._event(
                case,
                "staff-mail-refused",
                {"message": message.id, "unprocessed": len(outcome.unprocessed)},
            )
        else:
            self._apply(session, message, case, reading, steps, outcome)
            self._explain_cut(reading, outcome)
        self.replies.confirm_staff(
            session,
            case,
            mail.sender.address if mail.sender else "",
            outcome.results,
            outcome.unprocessed,
            outcome.ignored,
            details={
                "not_applied": outcome.not_applied,
                "relayed": _first_lines(outcome.relayed),
                "relayed_more": _more_lines(outcome.relayed),
                "returned": outcome.returned.split("\n") if outcome.returned else [],
            },
        )
        return outcome

    @staticmethod
    def _explain_cut(reading: StaffReading, outcome: StaffOutcome) -> None:
        if reading.parsed.note:
            return
        if not reading.relay:
            outcome.ignored.append("no text above the quoted mail: nothing was relayed")
        elif reading.cut_below:
            outcome.ignored.append(
                "the quoted history and your signature were not relayed (what was sent is "
                "quoted above)"
            )

    def _bad_assignments(self, commands: tuple[Command, ...]) -> list[str]:
        """`#assign` takes a colleague: an address in the staff domains (`cases.staff_domains`,
        by default the domains of `cases.staff`), not only the few in `cases.staff`."""
        domains = self.config.cases.assign_domains
        named = ", ".join(domains)
        return [
            # Not the address itself: confirmation lines are masked, and "[address] is not…"
            # says nothing; the sender sees the address in their text, given back below.
            f"#assign: that address is not in the staff domain(s) ({named}; "
            "cases.staff_domains); give a colleague's address"
            for c in commands
            if c.name == "assign" and domains and not _in_domains(c.argument, domains)
        ]

    def _apply(
        self,
        session: Session,
        message: StoredMessage,
        case: Case,
        reading: StaffReading,
        steps: tuple[Step, ...],
        outcome: StaffOutcome,
    ) -> None:
        commands = iter(reading.parsed.commands)
        # Text and #close in one staff mail reach the reporter as one mail (see `closing`).
        closes = any(step.action == Action.CLOSE for step in steps)
        together = reading.relay if closes else ""
        for step in steps:
            command = None if step.action == Action.RELAY else next(commands)
            line = self._apply_step(session, message, case, step, command, reading, together)
            if line:
                outcome.results.append(line)
            if step.action == Action.RELAY:
                outcome.relayed = reading.relay
        self._event(
            case, "staff-mail", {"message": message.id, "actions": [str(s.action) for s in steps]}
        )

    def _apply_step(
        self,
        session: Session,
        message: StoredMessage,
        case: Case,
        step: Step,
        command: Command | None,
        reading: StaffReading,
        together: str = "",
    ) -> str:
        now = self.clock()
        action, argument = step.action, command.argument if command else ""
        if step.after != step.before:
            case.state = step.after
            self._event(case, "state", {"from": step.before, "to": step.after, "by": str(action)})
        if action == Action.RELAY:
            if not together:
                self.replies.relay(session, case, reading.relay, message)
            if case.first_response_at is None:
                case.first_response_at = now
                self._event(case, "first-response", {"message": message.id})
            case.next_update_due = self._next_update(now)
            if together:
                return "your text goes to the reporter from the team address, in the closing mail"
            return "your text was sent to the reporter from the team address"
        if action == Action.CLOSE:
            case.close_reason = argument
            case.closed_at = now
            case.next_update_due = None
            refusal = self.replies.closing(session, case, together, message)
            if refusal is not None and together:
                # The closing notice may not go (the guard said no); the words a person wrote
                # still do, as a relay does without a closing.
                self.replies.relay(session, case, together, message)
            told = (
                "the reporter was sent the closing message"
                if refusal is None
                else (f"no closing message was sent ({refusal})")
            )
            return f"closed ({argument}); {told}"
        if action == Action.REOPEN:
            case.close_reason = None
            case.closed_at = None
            return f"reopened: {step.before} -> {step.after}"
        if action == Action.NOTE:
            # Only the staff member's own words: the quoted notification (masked report,
            # addresses) and their signature have no place in the timeline.
            self._event(
                case, "note", {"text": reading.own_text[:MAX_NOTE_CHARS], "message": message.id}
            )
            return "internal note recorded; nothing was sent to the reporter"
        if action == Action.SEVERITY:
            case.severity = argument
            self._event(case, "severity", {"severity": argument})
            return f"severity: {argument}"
        if action == Action.ASSIGN:
            case.owner = argument.lower()
            self._event(case, "assigned", {"owner": case.owner})
            return f"owner: {case.owner}"
        if action == Action.CREDIT:
            case.credit_name = argument
            case.credit_consent = True
            self._event(case, "credit", {"consent": True, "by": "staff"})
            return f"credit recorded: {argument}"
        if action == Action.CREDIT_WITHDRAW:
            case.credit_name = None
            case.credit_consent = False
            self._event(case, "credit", {"consent": False, "by": "staff"})
            return "credit withdrawn"
        if action == Action.LANG:
            return self._set_language(case, argument)
        if action in (Action.HOLD, Action.RELEASE):
            case.legal_hold = action == Action.HOLD
            self._event(case, "legal-hold", {"held": case.legal_hold})
            return "legal hold: on" if case.legal_hold else "legal hold: released"
        return f"state: {step.before} -> {step.after}"

    def _set_language(self, case: Case, language: str) -> str:
        """`#lang nl|en`: staff know the reporter's language better than a word count; the
        choice stands against later guesses from the reporter's mail."""
        before = case.language
        case.language = language
        self._event(case, "language", {"from": before, "to": language, "by": "staff"})
        return f"language: {language} (was {before}); the reporter gets mail in it from now on"

    def _next_update(self, now: dt.datetime) -> dt.datetime:
        tz = self.config.deadlines.tz
        today = now.astimezone(tz).date()
        day = self.calendar.add_workdays(today, self.config.deadlines.update_interval_workdays)
        return end_of_day(day, tz)

    def _event(self, case: Case, kind: str, detail: dict[str, object]) -> None:
        case.events.append(CaseEvent(at=self.clock(), kind=kind, detail=detail))


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


def _in_domains(address: str, domains: tuple[str, ...]) -> bool:
    domain = address.rpartition("@")[2].lower()
    return domain in domains


def _first_lines(text: str) -> list[str]:
    return text.split("\n")[:MAX_QUOTED_LINES] if text else []


def _more_lines(text: str) -> int:
    return max(0, len(text.split("\n")) - MAX_QUOTED_LINES) if text else 0
