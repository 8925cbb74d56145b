"""`#show`: the case as staff need it — state, owner, severity, deadlines, embargo, links, the
timeline with internal notes — mailed to the staff member who asked (and nobody else).

Also on a purged case (`states.ALLOWED_WHEN_PURGED`): it only reads what is left.
"""

from __future__ import annotations

from typing import ClassVar

from mailtriage.desk.staffcommands.base import StaffCommand, StepContext
from mailtriage.policy.states import Action


class Show(StaffCommand):
    NAME = "show"
    USAGE = "#show"
    ACTIONS: ClassVar[tuple[Action, ...]] = (Action.SHOW,)

    def apply(self, context: StepContext) -> str:
        sender = (context.message.from_address or "").lower()
        queued = context.replies.to_staff_member(
            context.session, context.case, sender, "staff_case_view", {}
        )
        if queued is None:
            return "#show: not sent: your address is not in cases.staff"
        return "the case view was sent to you"
