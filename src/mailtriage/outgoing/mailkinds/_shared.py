"""Pieces more than one kind's payload uses: the reporter-aware mask for staff mail and the
line describing an attachment.

Staff mailboxes keep what they get beyond the purge, so every field taken from a report is
masked with the reporter's own address and name before it reaches a staff template.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from mailtriage.outgoing.masking import mask_personal
from mailtriage.store.models import Attachment, Case


def masker(case: Case) -> Callable[[str | None], str]:
    """A function masking text for staff: personal data in general and this reporter's."""

    def masked(text: str | None) -> str:
        return mask_personal(text or "", address=case.reporter_address, name=case.reporter_name)

    return masked


def masked_subject(case: Case) -> str:
    return masker(case)(case.subject)


@dataclass(frozen=True)
class AttachmentLine:
    """An attachment as staff see it listed: never the file, a masked name."""

    filename: str
    size: int
    content_type: str

    @classmethod
    def of(cls, attachment: Attachment, case: Case) -> AttachmentLine:
        return cls(masker(case)(attachment.filename), attachment.size, attachment.content_type)
