"""The automatic progress update to the reporter, and staff's copy saying it went.

One family: both tell the same state and the same next date, so they share a payload.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from mailtriage.outgoing.mailkinds._base import MailKind, Payload, Source


@dataclass(frozen=True)
class ProgressPayload(Payload):
    ref: str
    state: str
    next_update_date: dt.date
    update_interval_workdays: int


class _Progress(MailKind[ProgressPayload]):
    def build(self, source: Source) -> ProgressPayload:
        case = source.case()
        return ProgressPayload(
            ref=case.ref,
            state=case.state,
            next_update_date=dt.date.fromisoformat(source.saved["next_update_date"]),
            update_interval_workdays=source.config.deadlines.update_interval_workdays,
        )


class ProgressUpdate(_Progress):
    name = "progress_update"
    audience = "reporter"
    guard = "automatic"
    forms = ("nl", "en")


class StaffUpdateSent(_Progress):
    name = "staff_update_sent"
    audience = "staff"
    guard = "none"
    forms = ("en",)


KINDS = (ProgressUpdate, StaffUpdateSent)
