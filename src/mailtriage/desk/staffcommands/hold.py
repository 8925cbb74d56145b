"""`#hold` / `#release`: a legal hold; the case is not purged while held.

Two commands, one module: they set the same flag and read as a pair.
"""

from __future__ import annotations

from typing import ClassVar

from mailtriage.desk.staffcommands.base import StaffCommand, StepContext
from mailtriage.policy.states import Action


class Hold(StaffCommand):
    NAME = "hold"
    USAGE = "#hold"
    ACTIONS: ClassVar[tuple[Action, ...]] = (Action.HOLD,)
    HELD = True

    def apply(self, context: StepContext) -> str:
        context.case.legal_hold = self.HELD
        context.event("legal-hold", {"held": self.HELD})
        return "legal hold: on" if self.HELD else "legal hold: released"


class Release(Hold):
    NAME = "release"
    USAGE = "#release"
    ACTIONS: ClassVar[tuple[Action, ...]] = (Action.RELEASE,)
    HELD = False
