"""`#credit NAME` / `#credit withdraw`: record or withdraw the reporter's consent to be named.

Staff confirm what the reporter asked for (the reporter's own request may be kept for staff
to confirm, see README "Credit"). Withdrawal is its own table action because it is the one
thing still honoured on a purged case: withdrawing consent must always be possible.
"""

from __future__ import annotations

from typing import ClassVar

from mailtriage.desk.staffcommands.base import ArgumentError, StaffCommand, StepContext
from mailtriage.policy.states import Action

MAX_CREDIT_NAME = 100
WITHDRAW = "withdraw"


class Credit(StaffCommand):
    NAME = "credit"
    USAGE = "#credit NAME|withdraw"
    TAKES_ARGUMENT = True
    ACTIONS: ClassVar[tuple[Action, ...]] = (Action.CREDIT, Action.CREDIT_WITHDRAW)

    def parse(self, argument: str) -> str:
        # A name that reads "withdraw" is the withdrawal, in any case.
        if argument.lower() == WITHDRAW:
            return WITHDRAW
        problem = _credit_problem(argument)
        if problem:
            raise ArgumentError(f"#credit takes the name to credit, or 'withdraw': {problem}")
        return argument

    def action(self, argument: str) -> Action:
        return Action.CREDIT_WITHDRAW if argument == WITHDRAW else Action.CREDIT

    def apply(self, context: StepContext) -> str:
        case = context.case
        if context.step.action == Action.CREDIT_WITHDRAW:
            case.credit_name = None
            case.credit_consent = False
            context.event("credit", {"consent": False, "by": "staff"})
            return "credit withdrawn"
        case.credit_name = context.argument
        case.credit_consent = True
        context.event("credit", {"consent": True, "by": "staff"})
        return f"credit recorded: {context.argument}"


def _credit_problem(name: str) -> str | None:
    if not name:
        return "no name given"
    if len(name) > MAX_CREDIT_NAME:
        return f"longer than {MAX_CREDIT_NAME} characters"
    if not all(c.isprintable() for c in name):
        return "it contains control or invisible characters"
    return None
