"""What every staff command is: the contract a `#command` module fills in.

A staff command used to be spread over four places (the parser's vocabulary, the state
table's action, a branch in the desk, the README). Here one class holds everything about
one command except *whether it is allowed now*: that stays `mailtriage.policy.states.TRANSITIONS`'
call alone. A command only names the `Action`s it asks for (`ACTIONS`, `action`); the desk
walks those through the table before any `apply` runs, so an `apply` never has to check.

Parsing is pure (no case, no sender); `apply` is the effect on an already-permitted case.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from mailtriage.policy.commands import ArgumentError, echo
from mailtriage.policy.states import Action, Step

__all__ = ["ArgumentError", "Precheck", "StaffCommand", "StepContext", "echo"]

if TYPE_CHECKING:  # only for the type of `StepContext`: these import the parser back
    from sqlalchemy.orm import Session

    from mailtriage.config import Config
    from mailtriage.desk.replies import Replies
    from mailtriage.policy.staffmail import StaffReading
    from mailtriage.store.models import Case, StoredMessage


@dataclass
class StepContext:
    """Everything one command's `apply` may touch, for one permitted step of a staff mail.

    `together` is the relayed text when the mail also closes the case (text and `#close` go
    to the reporter as one mail), else empty."""

    session: Session
    message: StoredMessage
    case: Case
    step: Step
    argument: str
    reading: StaffReading
    replies: Replies
    now: dt.datetime
    together: str
    event: Callable[[str, dict[str, object]], None]  # appends a timeline event to `case`


@dataclass(frozen=True)
class Precheck:
    """What a command may read when deciding, before anything of the mail is applied, whether
    its argument is refused on this case (an unknown REF2, an embargo day already past)."""

    session: Session
    case: Case
    config: Config
    now: dt.datetime


class StaffCommand:
    """One `#command`. Subclasses set the class attributes and override what differs.

    The default parsing covers the two common shapes: a command without an argument
    (`CHOICES` empty, `TAKES_ARGUMENT` false) and one with a fixed set of values (`CHOICES`,
    matched case-insensitively and stored lower-case)."""

    NAME: ClassVar[str]  # lower-case, without '#'
    USAGE: ClassVar[str]  # how the confirmation shows it: "#close fixed|duplicate|..."
    ACTIONS: ClassVar[tuple[Action, ...]]  # every state-table action this command may ask for
    CHOICES: ClassVar[tuple[str, ...]] = ()
    TAKES_ARGUMENT: ClassVar[bool] = False

    def parse(self, argument: str) -> str:
        """The argument as stored (stripped; lower-case for `CHOICES`), or `ArgumentError`."""
        if self.CHOICES:
            value = argument.lower()
            if value not in self.CHOICES:
                what = f"'{echo(argument, 40)}'" if argument else "nothing"
                raise ArgumentError(
                    f"#{self.NAME} takes one of: {', '.join(self.CHOICES)} (got {what})"
                )
            return value
        if not self.TAKES_ARGUMENT and argument:
            raise ArgumentError(f"#{self.NAME} takes no argument")
        return argument

    def refusal(self, argument: str, config: Config) -> str | None:
        """Why this (well-formed) argument is refused under this installation's config, or
        None. Checked with the rest of the mail before anything is applied."""
        return None

    def refusal_on(self, argument: str, check: Precheck) -> str | None:
        """Why this argument is refused on this case now (the store and the clock may be
        read, nothing written), or None. By default only the config's say (`refusal`)."""
        return self.refusal(argument, check.config)

    def action(self, argument: str) -> Action:
        """The state-table action this command asks for with `argument`."""
        return self.ACTIONS[0]

    def apply(self, context: StepContext) -> str:
        """Change the case for a step the state table allowed; the line for Results."""
        raise NotImplementedError
