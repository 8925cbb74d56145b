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

from sqlalchemy.orm import Session

from mailtriage.clock import Clock
from mailtriage.config import Config
from mailtriage.desk.replies import Replies
from mailtriage.desk.staffcommands import REGISTRY, Precheck, StepContext
from mailtriage.inbound.message import InboundMail
from mailtriage.policy.commands import Command
from mailtriage.policy.staffmail import NOTIFICATION_OPENINGS, StaffReading, read_staff_mail
from mailtriage.policy.states import Action, IllegalTransition, Step, walk, with_relay
from mailtriage.policy.workdays import Calendar, end_of_day
from mailtriage.store.models import Case, CaseEvent, StoredMessage

__all__ = ["NOTIFICATION_OPENINGS", "StaffDesk", "StaffOutcome"]

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
        reading = read_staff_mail(
            mail.text, REGISTRY, staff_domains=self.config.cases.assign_domains
        )
        parsed = reading.parsed
        outcome = StaffOutcome(results=[], unprocessed=[], ignored=[])
        outcome.unprocessed.extend(f"{line}: {reason}" for line, reason in parsed.unknown)
        outcome.unprocessed.extend(self._refusals(session, case, parsed.commands))
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

    def _refusals(
        self, session: Session, case: Case, commands: tuple[Command, ...]
    ) -> list[str]:
        """What the installation's config or the case refuses among well-formed commands (an
        `#assign` outside the staff domains, a `#duplicate` of an unknown case): each command
        module says for itself."""
        check = Precheck(session=session, case=case, config=self.config, now=self.clock())
        refusals = (REGISTRY[c.name].refusal_on(c.argument, check) for c in commands)
        return [r for r in refusals if r is not None]

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
        """One step the state table allowed: the state change, then the command's own
        effect (its module in `mailtriage.desk.staffcommands`), or the relay."""
        if step.after != step.before:
            case.state = step.after
            self._event(
                case, "state", {"from": step.before, "to": step.after, "by": str(step.action)}
            )
        if command is None:
            return self._relay(session, message, case, reading, together)
        context = StepContext(
            session=session,
            message=message,
            case=case,
            step=step,
            argument=command.argument,
            reading=reading,
            replies=self.replies,
            now=self.clock(),
            together=together,
            event=lambda kind, detail: self._event(case, kind, detail),
        )
        return REGISTRY[command.name].apply(context)

    def _relay(
        self,
        session: Session,
        message: StoredMessage,
        case: Case,
        reading: StaffReading,
        together: str,
    ) -> str:
        """The staff text to the reporter: not a command but the mail's own body, so it lives
        here. With a `#close` in the same mail the closing sends it (`together`)."""
        now = self.clock()
        if not together:
            self.replies.relay(session, case, reading.relay, message)
        if case.first_response_at is None:
            case.first_response_at = now
            self._event(case, "first-response", {"message": message.id})
        case.next_update_due = self._next_update(now)
        if together:
            return "your text goes to the reporter from the team address, in the closing mail"
        return "your text was sent to the reporter from the team address"

    def _next_update(self, now: dt.datetime) -> dt.datetime:
        tz = self.config.deadlines.tz
        today = now.astimezone(tz).date()
        day = self.calendar.add_workdays(today, self.config.deadlines.update_interval_workdays)
        return end_of_day(day, tz)

    def _event(self, case: Case, kind: str, detail: dict[str, object]) -> None:
        case.events.append(CaseEvent(at=self.clock(), kind=kind, detail=detail))


def _first_lines(text: str) -> list[str]:
    return text.split("\n")[:MAX_QUOTED_LINES] if text else []


def _more_lines(text: str) -> int:
    return max(0, len(text.split("\n")) - MAX_QUOTED_LINES) if text else 0
