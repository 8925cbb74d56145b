"""`#close REASON`: close the case and send the reporter the closing message.

Text and `#close` in one staff mail reach the reporter as one mail: the text, then the
closing notice (`StepContext.together`). If the closing notice may not go, the words a person
wrote still do, as a plain relay.
"""

from __future__ import annotations

from typing import ClassVar

from mailtriage.desk.staffcommands.base import StaffCommand, StepContext
from mailtriage.desk.staffcommands.status import told_duplicates
from mailtriage.policy.states import STAFF_CLOSE_REASONS, Action

CLOSE_REASONS: tuple[str, ...] = STAFF_CLOSE_REASONS


class Close(StaffCommand):
    NAME = "close"
    USAGE = "#close " + "|".join(CLOSE_REASONS)
    CHOICES = CLOSE_REASONS
    ACTIONS: ClassVar[tuple[Action, ...]] = (Action.CLOSE,)

    def apply(self, context: StepContext) -> str:
        case, together = context.case, context.together
        case.close_reason = context.argument
        case.closed_at = context.now
        case.next_update_due = None
        refusal = context.replies.closing(context.session, case, together, context.message)
        if refusal is not None and together:
            # The closing notice may not go (the guard said no); the words a person wrote
            # still do, as a relay does without a closing.
            context.replies.relay(context.session, case, together, context.message)
        told = (
            "the reporter was sent the closing message"
            if refusal is None
            else (f"no closing message was sent ({refusal})")
        )
        line = f"closed ({context.argument}); {told}"
        return line + (told_duplicates(context) if context.argument == "fixed" else "")
