"""`#assign ADDRESS`: give the case an owner, a colleague in the staff domains.

Two checks: the parser takes one bare, complete address (`parse`); the desk then refuses an
address outside `cases.staff_domains` (`refusal`, by default the domains of `cases.staff`),
not only the few addresses in `cases.staff`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from mailtriage.desk.staffcommands.base import ArgumentError, StaffCommand, StepContext
from mailtriage.policy.states import Action

if TYPE_CHECKING:
    from mailtriage.config import Config

MAX_ADDRESS = 254


class Assign(StaffCommand):
    NAME = "assign"
    USAGE = "#assign ADDRESS"
    TAKES_ARGUMENT = True
    ACTIONS: ClassVar[tuple[Action, ...]] = (Action.ASSIGN,)

    def parse(self, argument: str) -> str:
        address = argument.removeprefix("<").removesuffix(">").strip()
        problem = _address_problem(address)
        if problem:
            raise ArgumentError(
                f"#assign takes one e-mail address, like name@example.nl: {problem}"
            )
        return address

    def refusal(self, argument: str, config: Config) -> str | None:
        domains = config.cases.assign_domains
        if not domains or _in_domains(argument, domains):
            return None
        # Not the address itself: confirmation lines are masked, and "[address] is not…"
        # says nothing; the sender sees the address in their text, given back below.
        return (
            f"#assign: that address is not in the staff domain(s) ({', '.join(domains)}; "
            "cases.staff_domains); give a colleague's address"
        )

    def apply(self, context: StepContext) -> str:
        case = context.case
        case.owner = context.argument.lower()
        context.event("assigned", {"owner": case.owner})
        return f"owner: {case.owner}"


def _address_problem(address: str) -> str | None:
    if not address:
        return "no address given"
    if len(address) > MAX_ADDRESS:
        return f"longer than {MAX_ADDRESS} characters"
    if any(c.isspace() or not c.isprintable() for c in address):
        return "it contains spaces or control characters"
    if any(c in address for c in '<>(),;:"[]\\'):
        return "give the bare address, without a name or brackets"
    local, at, domain = address.partition("@")
    if not at or "@" in domain:
        return "it must contain exactly one '@'"
    if not local or not domain or domain.startswith(".") or domain.endswith(".") or ".." in domain:
        return "it is not a complete address"
    return None


def _in_domains(address: str, domains: tuple[str, ...]) -> bool:
    domain = address.rpartition("@")[2].lower()
    return domain in domains
