"""`#incident`: a significant incident; starts the NIS2 (Cyberbeveiligingswet) clock.

Early warning 24 h, notification 72 h, final report one month (durations in
`[obligations]`). See `policy/obligations.py`.
"""

from __future__ import annotations

from typing import ClassVar

from mailtriage.desk.staffcommands._clock import start_clock
from mailtriage.desk.staffcommands.base import StaffCommand, StepContext
from mailtriage.policy.states import Action


class Incident(StaffCommand):
    NAME = "incident"
    USAGE = "#incident"
    ACTIONS: ClassVar[tuple[Action, ...]] = (Action.INCIDENT,)

    def apply(self, context: StepContext) -> str:
        return start_clock(context, "incident", "NIS2 art. 23")
