"""Staff's notice that someone other than the reporter wrote about a case: a new case was
opened for them rather than letting them into the reporter's."""

from __future__ import annotations

from dataclasses import dataclass

from mailtriage.outgoing.mailkinds._base import MailKind, Payload, Source


@dataclass(frozen=True)
class StrangerPayload(Payload):
    ref: str  # the case they wrote about
    new_ref: str  # the case opened for them


class StaffStrangerOnCase(MailKind[StrangerPayload]):
    name = "staff_stranger_on_case"
    audience = "staff"
    guard = "none"
    forms = ("en",)

    def build(self, source: Source) -> StrangerPayload:
        return StrangerPayload(ref=source.saved["ref"], new_ref=source.case().ref)


KINDS = (StaffStrangerOnCase,)
