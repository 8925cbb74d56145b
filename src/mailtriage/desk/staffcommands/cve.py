"""`#cve CVE-YYYY-N`: the CVE id assigned to the finding; kept after the purge.

Allowed on a purged case too (`states.ALLOWED_WHEN_PURGED`): an id is often assigned only
when the advisory is published, after the reporter's data is long gone.
"""

from __future__ import annotations

from typing import ClassVar

from mailtriage.desk.staffcommands.base import ArgumentError, StaffCommand, StepContext
from mailtriage.policy.findings import FindingError, parse_cve
from mailtriage.policy.states import Action


class Cve(StaffCommand):
    NAME = "cve"
    USAGE = "#cve CVE-YYYY-N"
    TAKES_ARGUMENT = True
    ACTIONS: ClassVar[tuple[Action, ...]] = (Action.CVE,)

    def parse(self, argument: str) -> str:
        try:
            return parse_cve(argument)
        except FindingError as exc:
            raise ArgumentError(str(exc)) from None

    def apply(self, context: StepContext) -> str:
        context.case.cve = context.argument
        context.event("cve", {"cve": context.argument})
        return f"CVE: {context.argument}"
