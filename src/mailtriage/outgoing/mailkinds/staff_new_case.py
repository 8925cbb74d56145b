"""Staff's notice of a new case: the report itself, masked, and what it points at.

Every field taken from the report gets the reporter-aware mask, URLs too: they carry the
reporter percent-encoded in a query string.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select

from mailtriage.outgoing.mailkinds._base import MailKind, Payload, Source
from mailtriage.outgoing.mailkinds._shared import AttachmentLine, masked_subject, masker, pgp_note
from mailtriage.store.models import Case


@dataclass(frozen=True)
class MaskedIndicators:
    """What the report points at, each item masked; the template lists them by label."""

    urls: tuple[str, ...]
    hosts: tuple[str, ...]
    ipv4: tuple[str, ...]
    ipv6: tuple[str, ...]
    datetimes: tuple[str, ...]


@dataclass(frozen=True)
class EarlierCase:
    """Another open case of the same sender, which staff are asked to compare."""

    ref: str
    state: str
    subject: str


@dataclass(frozen=True)
class NewCasePayload(Payload):
    ref: str
    due_date: dt.datetime
    category: str
    language: str
    subject: str
    text: str
    indicators: MaskedIndicators
    attachments: tuple[AttachmentLine, ...]
    earlier_cases: tuple[EarlierCase, ...]
    encryption: str = ""  # what OpenPGP made of the report, for staff ("" when not encrypted)


class StaffNewCase(MailKind[NewCasePayload]):
    name = "staff_new_case"
    audience = "staff"
    guard = "none"
    forms = ("en",)

    def build(self, source: Source) -> NewCasePayload:
        case, saved = source.case(), source.saved
        message = source.message(saved["message"])
        masked = masker(case)
        found = message.indicators or {}

        def items(kind: str) -> tuple[str, ...]:
            return tuple(masked(str(item)) for item in found.get(kind) or [])

        due = case.first_response_due or case.received_at
        return NewCasePayload(
            ref=case.ref,
            due_date=due.astimezone(source.tz),
            category=case.category,
            language=case.language,
            subject=masked(message.subject),
            text=masked(message.text_body),
            indicators=MaskedIndicators(
                urls=items("urls"),
                hosts=items("hosts"),
                ipv4=items("ipv4"),
                ipv6=items("ipv6"),
                datetimes=items("datetimes"),
            ),
            attachments=tuple(AttachmentLine.of(a, case) for a in message.attachments),
            earlier_cases=_earlier_cases(source, saved.get("earlier") or []),
            encryption=pgp_note(message.pgp),
        )


def _earlier_cases(source: Source, refs: list[str]) -> tuple[EarlierCase, ...]:
    if not refs:
        return ()
    found = source.session.scalars(
        select(Case).where(Case.ref.in_(refs)).order_by(Case.received_at)
    )
    return tuple(EarlierCase(c.ref, c.state, masked_subject(c)) for c in found)


KINDS = (StaffNewCase,)
