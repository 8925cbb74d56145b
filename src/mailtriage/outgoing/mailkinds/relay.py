"""A staff member's words to the reporter, sent from the team address.

It has its own bilingual file: a person wrote one text, which must appear once, not in a
Dutch and an English half.
"""

from __future__ import annotations

from dataclasses import dataclass

from mailtriage.outgoing.mailkinds._base import MailKind, Payload, Source


@dataclass(frozen=True)
class RelayPayload(Payload):
    ref: str
    text: str  # the staff member's words, already cut from their quote and signature


class Relay(MailKind[RelayPayload]):
    name = "relay"
    audience = "reporter"
    guard = "none"  # a person wrote it, for this reporter
    forms = ("nl", "en", "unsure")

    def build(self, source: Source) -> RelayPayload:
        return RelayPayload(ref=source.case().ref, text=source.saved["text"])

    def carries_staff_words(self, payload: RelayPayload) -> bool:
        return True


KINDS = (Relay,)
