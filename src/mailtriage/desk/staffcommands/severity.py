"""`#severity low|medium|high|critical` or `#severity CVSS:3.1/…|CVSS:4.0/…`: staff's
assessment, shown in digests and reminders.

A CVSS vector is validated and scored by `mailtriage.policy.findings` (the `cvss` library); the
vector, its base score and rating are stored, and the rating becomes the severity. A vector
rated None (score 0.0) is refused: the desk has no severity below low. A severity given by
name later leaves the stored vector as it was (it is still the scored assessment).
"""

from __future__ import annotations

from typing import ClassVar

from mailtriage.desk.staffcommands.base import ArgumentError, StaffCommand, StepContext
from mailtriage.policy.findings import FindingError, parse_cvss
from mailtriage.policy.states import Action

SEVERITIES: tuple[str, ...] = ("low", "medium", "high", "critical")
CVSS_PREFIX = "cvss:"


class Severity(StaffCommand):
    NAME = "severity"
    USAGE = "#severity " + "|".join(SEVERITIES) + "|CVSS:3.1/…|CVSS:4.0/…"
    CHOICES = SEVERITIES
    ACTIONS: ClassVar[tuple[Action, ...]] = (Action.SEVERITY,)

    def parse(self, argument: str) -> str:
        if argument.lower().startswith(CVSS_PREFIX):
            try:
                return parse_cvss(argument).vector
            except FindingError as exc:
                raise ArgumentError(f"#severity: {exc}") from None
        return super().parse(argument)

    def apply(self, context: StepContext) -> str:
        case = context.case
        if context.argument.lower().startswith(CVSS_PREFIX):
            score = parse_cvss(context.argument)
            case.cvss_vector = score.vector
            case.cvss_score = score.score
            case.cvss_rating = score.rating
            case.severity = score.severity
            context.event(
                "severity",
                {"severity": score.severity, "cvss": score.vector, "score": score.score},
            )
            return (
                f"severity: {score.severity} (CVSS {score.version} base score {score.score}, "
                f"{score.rating}: {score.vector})"
            )
        case.severity = context.argument
        context.event("severity", {"severity": context.argument})
        return f"severity: {context.argument}"
