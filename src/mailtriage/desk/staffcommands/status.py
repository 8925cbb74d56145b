"""`#status triaged|needs-info|fixing|resolved`: move an open case to a working state.

The value names the target state; `states.STATUS_ACTIONS` maps it to the table's action, and
the table (not this module) decides from which states that is allowed.
"""

from __future__ import annotations

from typing import ClassVar

from mailtriage.desk.duplicates import tell_linked
from mailtriage.desk.staffcommands.base import StaffCommand, StepContext
from mailtriage.policy.cases import State
from mailtriage.policy.states import STATUS_ACTIONS, Action

STATUSES: tuple[str, ...] = tuple(STATUS_ACTIONS)


class Status(StaffCommand):
    NAME = "status"
    USAGE = "#status " + "|".join(STATUSES)
    CHOICES = STATUSES
    ACTIONS: ClassVar[tuple[Action, ...]] = tuple(STATUS_ACTIONS.values())

    def action(self, argument: str) -> Action:
        return STATUS_ACTIONS[argument]

    def apply(self, context: StepContext) -> str:
        # The state itself was set (and its event written) by the desk for every step.
        line = f"state: {context.step.before} -> {context.step.after}"
        if context.step.after == State.RESOLVED and context.step.before != State.RESOLVED:
            return line + told_duplicates(context)
        return line


def told_duplicates(context: StepContext) -> str:
    """Resolved (or closed fixed): every linked duplicate's reporter gets the closing notice."""
    told = tell_linked(context.session, context.case, context.replies, context.now)
    if not told:
        return ""
    if told == 1:
        return "; the reporter of 1 duplicate case was sent the closing message"
    return f"; the reporters of {told} duplicate cases were sent the closing message"
