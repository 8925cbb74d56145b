"""What every outgoing mail kind declares, and what its payload builder gets to read.

A kind is one class: its name, who receives it, which guard it passes, which template files
it has, and a typed builder turning a stored outbox row into a frozen payload. The payload is
rebuilt at delivery (see `letters.py`) from the case and the stored message, so a mail queued
before a fix is sent with the fix; the row itself keeps only the few facts that are not in the
store.
"""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from dataclasses import dataclass, fields
from typing import Any, ClassVar, Generic, Literal, TypeVar, cast

from sqlalchemy.orm import Session

from mailtriage.config import Config
from mailtriage.outgoing.compose import OutgoingFile
from mailtriage.outgoing.render import RenderedMail, Renderer
from mailtriage.store.models import Case, OutboxMail, StoredMessage

Audience = Literal["reporter", "staff"]
# Which part of `guard.py` a kind passes before it is queued:
#   "automatic": the whole automatic-reply guard (loops, bulk senders, daily cap, age);
#   "recipient": only whether the address may get mail from us at all (no daily cap: the
#                mail is sent once per case, on a person's decision);
#   "none":      a person's words to the reporter, or a notice to staff.
Guard = Literal["automatic", "recipient", "none"]
TemplateForm = Literal["nl", "en", "unsure"]

REPORTER_FORMS: tuple[TemplateForm, ...] = ("nl", "en", "unsure")


class LetterError(Exception):
    """The row cannot be made into a mail (a missing case or message, a broken template)."""


@dataclass(frozen=True)
class Payload:
    """The typed facts one template renders. Subclasses are frozen dataclasses."""

    def context(self) -> dict[str, object]:
        # Shallow on purpose: nested frozen dataclasses stay objects, which Jinja reads
        # with `a.b` like it reads dicts.
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class Source:
    """Everything a builder may read: the row, the store, the configuration and the moment
    of sending (`clock.py` gave it; builders never read the wall clock). `command_help` is
    the reminder of the staff command language, from the desk's command modules."""

    session: Session
    row: OutboxMail
    config: Config
    now: dt.datetime
    command_help: tuple[str, ...] = ()

    @property
    def saved(self) -> dict[str, Any]:
        """The facts stored in the row at queue time."""
        return dict(self.row.context or {})

    @property
    def tz(self) -> dt.tzinfo:
        return self.config.deadlines.tz

    @property
    def maybe_case(self) -> Case | None:
        return self.row.case

    def case(self) -> Case:
        case = self.row.case
        if case is None:
            raise LetterError(f"{self.row.kind}: the case is gone")
        return case

    def message(self, message_id: int) -> StoredMessage:
        message = self.session.get(StoredMessage, message_id)
        if message is None:
            raise LetterError("the stored message is gone")
        return message

    def local(self, value: str) -> dt.datetime:
        """An ISO time saved in the row, in the desk's time zone."""
        return dt.datetime.fromisoformat(value).astimezone(self.tz)


P = TypeVar("P", bound=Payload)


class MailKind(ABC, Generic[P]):
    """One kind of mail the desk sends. Subclass it in a module of this package and list the
    class in that module's `KINDS`; the registry finds it there."""

    name: ClassVar[str]
    audience: ClassVar[Audience]
    guard: ClassVar[Guard]
    # The template files `{name}.{form}.txt` this kind ships. Staff read English only;
    # reporter kinds have Dutch and English, and "unsure" when the kind writes its own
    # bilingual mail instead of the renderer's Dutch-then-English frame.
    forms: ClassVar[tuple[TemplateForm, ...]]

    @abstractmethod
    def build(self, source: Source) -> P:
        """The payload for the row in `source`. Raises LetterError when the store lacks it."""

    def carries_staff_words(self, payload: P) -> bool:
        """Whether a staff member's text (and so their attachments) goes along."""
        return False

    def attachments(self, source: Source, payload: P) -> list[OutgoingFile]:
        """Files the kind itself makes to go along (the monthly figures' charts). A kind that
        carries a person's words sends their attachments instead (`letters.py`)."""
        return []

    def render(self, renderer: Renderer, language: str, payload: P) -> RenderedMail:
        return renderer.render(self.name, cast(TemplateForm, language), payload.context())

    @classmethod
    def template_files(cls) -> tuple[str, ...]:
        return tuple(f"{cls.name}.{form}.txt" for form in cls.forms)

    @classmethod
    def languages(cls) -> tuple[TemplateForm, ...]:
        """The languages a row of this kind may ask for."""
        return REPORTER_FORMS if cls.audience == "reporter" else ("en",)
