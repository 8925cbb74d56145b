"""The acknowledgement: a report arrived, here is its reference and when we answer."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from mailtriage.outgoing.mailkinds._base import LetterError, MailKind, Payload, Source


@dataclass(frozen=True)
class AcknowledgementPayload(Payload):
    ref: str
    due_date: dt.datetime  # end of the first-response day, in the desk's time zone
    missing_target: bool  # the report names no system: ask for one
    missing_time: bool  # nor a moment: ask for one
    first_response_workdays: int
    # Why an encrypted report could not be read ("not-for-our-key", "corrupt",
    # "no-desk-key"); None for a report that was read.
    undecryptable: str | None = None


class Acknowledgement(MailKind[AcknowledgementPayload]):
    name = "acknowledgement"
    audience = "reporter"
    guard = "automatic"
    forms = ("nl", "en")

    def build(self, source: Source) -> AcknowledgementPayload:
        case, saved = source.case(), source.saved
        if case.first_response_due is None:
            raise LetterError("acknowledgement: the case has no due date")
        return AcknowledgementPayload(
            ref=case.ref,
            due_date=case.first_response_due.astimezone(source.tz),
            missing_target=bool(saved.get("missing_target")),
            missing_time=bool(saved.get("missing_time")),
            first_response_workdays=source.config.deadlines.first_response_workdays,
            undecryptable=saved.get("undecryptable"),
        )


KINDS = (Acknowledgement,)
