"""`#status triaged|needs-info|fixing|resolved`: move an open case to a working state.

The value names the target state; `states.STATUS_ACTIONS` maps it to the table's action, and
the table (not this module) decides from which states that is allowed.
"""

from __future__ import annotations

from typing import ClassVar

from mailtriage.desk.staffcommands.base import StaffCommand, StepContext
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
        return f"state: {context.step.before} -> {context.step.after}"
