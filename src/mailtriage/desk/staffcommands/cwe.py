"""`#cwe CWE-N`: the weakness class (MITRE CWE) of the finding; kept after the purge."""

from __future__ import annotations

from typing import ClassVar

from mailtriage.desk.staffcommands.base import ArgumentError, StaffCommand, StepContext
from mailtriage.policy.findings import FindingError, parse_cwe
from mailtriage.policy.states import Action


class Cwe(StaffCommand):
    NAME = "cwe"
    USAGE = "#cwe CWE-N"
    TAKES_ARGUMENT = True
    ACTIONS: ClassVar[tuple[Action, ...]] = (Action.CWE,)

    def parse(self, argument: str) -> str:
        try:
            return parse_cwe(argument)
        except FindingError as exc:
            raise ArgumentError(str(exc)) from None

    def apply(self, context: StepContext) -> str:
        context.case.cwe = context.argument
        context.event("cwe", {"cwe": context.argument})
        return f"weakness: {context.argument}"
