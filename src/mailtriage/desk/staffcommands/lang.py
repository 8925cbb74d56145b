"""`#lang nl|en`: the language the reporter is written to.

Staff know the reporter's language better than a word count; the choice is recorded as a
staff `language` event, and `language.settled_language` lets it stand against later guesses
from the reporter's mail.
"""

from __future__ import annotations

from typing import ClassVar

from mailtriage.desk.staffcommands.base import StaffCommand, StepContext
from mailtriage.inbound.language import LANGUAGES
from mailtriage.policy.states import Action


class Lang(StaffCommand):
    NAME = "lang"
    USAGE = "#lang " + "|".join(LANGUAGES)
    CHOICES = LANGUAGES
    ACTIONS: ClassVar[tuple[Action, ...]] = (Action.LANG,)

    def apply(self, context: StepContext) -> str:
        case, language = context.case, context.argument
        before = case.language
        case.language = language
        context.event("language", {"from": before, "to": language, "by": "staff"})
        return f"language: {language} (was {before}); the reporter gets mail in it from now on"
