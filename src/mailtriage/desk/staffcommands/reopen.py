"""`#reopen`: a closed case is worked again (the table allows it only from `closed`)."""

from __future__ import annotations

from typing import ClassVar

from mailtriage.desk.staffcommands.base import StaffCommand, StepContext
from mailtriage.policy.states import Action


class Reopen(StaffCommand):
    NAME = "reopen"
    USAGE = "#reopen"
    ACTIONS: ClassVar[tuple[Action, ...]] = (Action.REOPEN,)

    def apply(self, context: StepContext) -> str:
        context.case.close_reason = None
        context.case.closed_at = None
        return f"reopened: {context.step.before} -> {context.step.after}"
