"""To the reporter: the public-disclosure day agreed with them (`#embargo`), or that it was
lifted. The moment is written out with its zone by name (see `dates.format_moment`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from mailtriage.outgoing.mailkinds._base import LetterError, MailKind, Payload, Source


@dataclass(frozen=True)
class EmbargoNoticePayload(Payload):
    ref: str
    until: dt.datetime | None  # local end of the embargo day; None: lifted


class EmbargoNotice(MailKind[EmbargoNoticePayload]):
    name = "embargo_notice"
    audience = "reporter"
    guard = "recipient"  # once per decision by staff
    forms = ("nl", "en")

    def build(self, source: Source) -> EmbargoNoticePayload:
        case = source.case()
        if source.saved.get("lifted"):
            return EmbargoNoticePayload(ref=case.ref, until=None)
        if case.embargo_until is None:
            # Lifted before this mail went out: the newer notice says so; this one must not
            # promise a day that no longer holds.
            raise LetterError("embargo_notice: the embargo was lifted meanwhile")
        return EmbargoNoticePayload(ref=case.ref, until=case.embargo_until.astimezone(source.tz))


KINDS = (EmbargoNotice,)
