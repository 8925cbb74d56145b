"""`#embargo YYYY-MM-DD` / `#embargo none`: the agreed public-disclosure day.

The embargo ends at the end of that day (23:59:59) in the desk's time zone, and every mail
writes it out with the zone by name ("donderdag 31 december 2026 23:59 (Europe/Amsterdam)"):
CERT/CC's VINCE users asked which midnight was meant. A day already over is refused. The
reporter is told (and told again when it is lifted); staff are reminded 10 and 2 working days
before (`embargoes.py`).
"""

from __future__ import annotations

from typing import ClassVar

from mailtriage.desk.staffcommands.base import ArgumentError, Precheck, StaffCommand, StepContext
from mailtriage.outgoing.dates import format_moment
from mailtriage.policy.findings import FindingError, parse_day
from mailtriage.policy.states import Action
from mailtriage.policy.workdays import end_of_day

NONE = "none"


class Embargo(StaffCommand):
    NAME = "embargo"
    USAGE = "#embargo YYYY-MM-DD|none"
    TAKES_ARGUMENT = True
    ACTIONS: ClassVar[tuple[Action, ...]] = (Action.EMBARGO,)

    def parse(self, argument: str) -> str:
        if argument.strip().lower() == NONE:
            return NONE
        try:
            return parse_day(argument).isoformat()
        except FindingError as exc:
            raise ArgumentError(f"#embargo: {exc}, or 'none' to lift it") from None

    def refusal_on(self, argument: str, check: Precheck) -> str | None:
        if argument == NONE:
            if check.case.embargo_until is None:
                return "#embargo none: this case has no embargo to lift"
            return None
        tz = check.config.deadlines.tz
        until = end_of_day(parse_day(argument), tz)
        if until <= check.now:
            return (
                f"#embargo {argument}: that day is over (it ended "
                f"{format_moment(until, 'en')}); give a day still to come"
            )
        return None

    def apply(self, context: StepContext) -> str:
        case, config = context.case, context.replies.config
        if context.argument == NONE:
            case.embargo_until = None
            context.event("embargo", {"until": None})
            line = "embargo lifted"
        else:
            until = end_of_day(parse_day(context.argument), config.deadlines.tz)
            case.embargo_until = until
            context.event("embargo", {"until": until.isoformat()})
            line = f"embargo until {format_moment(until, 'en')}"
        refusal = context.replies.reporter_notice(
            context.session, case, "embargo_notice", {"lifted": context.argument == NONE}
        )
        told = (
            "the reporter was told" if refusal is None else f"the reporter was not told ({refusal})"
        )
        return f"{line}; {told}"
