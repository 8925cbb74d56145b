"""`#reported early-warning|notification|final`: a step of a reporting clock was filed.

It stops that step's reminders and escalation, and only that step's: the other steps of the
clock keep running. On a case with both clocks, the step is recorded on both (one filing
with the authority covers the case).
"""

from __future__ import annotations

from typing import ClassVar

from mailtriage.desk import obligations
from mailtriage.desk.staffcommands.base import StaffCommand, StepContext
from mailtriage.policy.obligations import STEPS
from mailtriage.policy.states import Action


class Reported(StaffCommand):
    NAME = "reported"
    USAGE = "#reported " + "|".join(STEPS)
    CHOICES = STEPS
    ACTIONS: ClassVar[tuple[Action, ...]] = (Action.REPORTED,)

    def apply(self, context: StepContext) -> str:
        at = context.message.arrived_at
        rows = obligations.report(context.session, context.case, context.argument, at)
        if not rows:
            return f"{context.argument}: no reporting clock on this case waits for it"
        kinds = ", ".join(sorted(r.kind for r in rows))
        context.event("obligation-reported", {"step": context.argument, "kind": kinds})
        return f"{context.argument} recorded as reported ({kinds})"
