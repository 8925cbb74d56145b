"""The staff commands, one module each, and the registry the rest of the code reads.

Adding a command: write its module (a `StaffCommand` subclass: name, usage, argument
parsing, the `states.Action` it asks for, `apply`), list the class in `COMMANDS` below, give
it a line in README's command block, and, if it needs a new `Action`, add that to
`states.py`'s table. The parser, the desk, the confirmation's command list and the tests
that hold README and the state table to this registry follow from here.

The order of `COMMANDS` is the order staff see them in ("known commands: ...", the
confirmation's list).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType

from mailtriage.desk.staffcommands.assign import Assign
from mailtriage.desk.staffcommands.attachments import Attachments
from mailtriage.desk.staffcommands.base import ArgumentError, Precheck, StaffCommand, StepContext
from mailtriage.desk.staffcommands.close import Close
from mailtriage.desk.staffcommands.credit import Credit
from mailtriage.desk.staffcommands.cve import Cve
from mailtriage.desk.staffcommands.cwe import Cwe
from mailtriage.desk.staffcommands.duplicate import Duplicate
from mailtriage.desk.staffcommands.embargo import Embargo
from mailtriage.desk.staffcommands.exploited import Exploited
from mailtriage.desk.staffcommands.hold import Hold, Release
from mailtriage.desk.staffcommands.incident import Incident
from mailtriage.desk.staffcommands.lang import Lang
from mailtriage.desk.staffcommands.note import Note
from mailtriage.desk.staffcommands.reopen import Reopen
from mailtriage.desk.staffcommands.reported import Reported
from mailtriage.desk.staffcommands.severity import Severity
from mailtriage.desk.staffcommands.show import Show
from mailtriage.desk.staffcommands.status import Status

__all__ = [
    "COMMANDS",
    "REGISTRY",
    "ArgumentError",
    "Precheck",
    "StaffCommand",
    "StepContext",
    "build_registry",
    "help_lines",
]

COMMANDS: tuple[type[StaffCommand], ...] = (
    Note,
    Status,
    Close,
    Reopen,
    Severity,
    Assign,
    Credit,
    Hold,
    Release,
    Lang,
    Duplicate,
    Cwe,
    Cve,
    Embargo,
    Attachments,
    Show,
    Exploited,
    Incident,
    Reported,
)


def build_registry(classes: Iterable[type[StaffCommand]]) -> Mapping[str, StaffCommand]:
    """`NAME -> command`, in the given order. Two commands with one name is a programming
    error, refused at import: the parser could only ever reach one of them."""
    registry: dict[str, StaffCommand] = {}
    for cls in classes:
        if cls.NAME in registry:
            raise ValueError(f"two staff commands are named #{cls.NAME}")
        registry[cls.NAME] = cls()
    return MappingProxyType(registry)


REGISTRY: Mapping[str, StaffCommand] = build_registry(COMMANDS)

HELP_WIDTH = 75
HELP_TRAILER = "One per line, at the top of the mail."


def help_lines(width: int = HELP_WIDTH) -> list[str]:
    """The confirmation's reminder of every command, wrapped to `width`: a command's usage is
    never split over two lines (staff copy them)."""
    usages = [c.USAGE for c in REGISTRY.values()]
    units = ["Commands:", *(u + "," for u in usages[:-1]), usages[-1] + "."]
    units += HELP_TRAILER.split()
    lines: list[str] = []
    for unit in units:
        if lines and len(lines[-1]) + 1 + len(unit) <= width:
            lines[-1] += " " + unit
        else:
            lines.append(unit)
    return lines
