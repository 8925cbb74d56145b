"""`#note`: the rest of the mail is an internal note; nothing goes to the reporter.

The parser marks the whole mail as a note (`ParsedCommands.note`), so the relay never
happens; this module only records the staff member's own words on the timeline.
"""

from __future__ import annotations

from typing import ClassVar

from mailtriage.desk.staffcommands.base import ArgumentError, StaffCommand, StepContext
from mailtriage.policy.states import Action

MAX_NOTE_CHARS = 20_000


class Note(StaffCommand):
    NAME = "note"
    USAGE = "#note"
    ACTIONS: ClassVar[tuple[Action, ...]] = (Action.NOTE,)

    def parse(self, argument: str) -> str:
        if argument:
            # "#note the fix is in review" would put the note on the command line, where
            # nobody reads it as the note: say where it goes.
            raise ArgumentError("#note takes no argument; write the note below the command lines")
        return ""

    def apply(self, context: StepContext) -> str:
        # Only the staff member's own words: the quoted notification (masked report,
        # addresses) and their signature have no place in the timeline.
        context.event(
            "note",
            {
                "text": context.reading.own_text[:MAX_NOTE_CHARS],
                "message": context.message.id,
            },
        )
        return "internal note recorded; nothing was sent to the reporter"
