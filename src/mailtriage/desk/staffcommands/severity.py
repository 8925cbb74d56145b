"""`#severity low|medium|high|critical`: staff's assessment, shown in digests and reminders."""

from __future__ import annotations

from typing import ClassVar

from mailtriage.desk.staffcommands.base import StaffCommand, StepContext
from mailtriage.policy.states import Action

SEVERITIES: tuple[str, ...] = ("low", "medium", "high", "critical")


class Severity(StaffCommand):
    NAME = "severity"
    USAGE = "#severity " + "|".join(SEVERITIES)
    CHOICES = SEVERITIES
    ACTIONS: ClassVar[tuple[Action, ...]] = (Action.SEVERITY,)

    def apply(self, context: StepContext) -> str:
        context.case.severity = context.argument
        context.event("severity", {"severity": context.argument})
        return f"severity: {context.argument}"
