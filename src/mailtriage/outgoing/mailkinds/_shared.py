"""Pieces more than one kind's payload uses: the reporter-aware mask for staff mail and the
line describing an attachment.

Staff mailboxes keep what they get beyond the purge, so every field taken from a report is
masked with the reporter's own address and name before it reaches a staff template.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

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


_PGP_PROBLEMS = {
    "not-for-our-key": "it was not encrypted to the desk's key",
    "corrupt": "the encrypted data is damaged or not OpenPGP",
    "no-desk-key": "the desk has no OpenPGP key ([pgp] key_file)",
    "too-large": "it decrypts to more than cases.max_message_bytes (a compression bomb?)",
}
_PGP_SIGNATURES = {
    "good": "signed, signature good",
    "unverified": "signed, but the signature could not be verified (unknown key or invalid)",
    "unchecked": "signed, but in a form the desk cannot check (compressed, as gpg writes)",
    "none": "not signed",
}


def pgp_note(record: dict[str, Any] | None) -> str:
    """One line for staff on what OpenPGP made of a mail (`messages.pgp`), "" when nothing."""
    if not record:
        return ""
    if record.get("form") in (None, "none"):
        signature = record.get("signature")
        if signature in (None, "none"):
            return ""
        return f"Not encrypted; {_PGP_SIGNATURES.get(str(signature), 'signed')}."
    form = "PGP/MIME" if record.get("form") == "pgp-mime" else "inline PGP"
    if not record.get("decrypted"):
        why = _PGP_PROBLEMS.get(str(record.get("problem")), "it could not be decrypted")
        return (
            f"Encrypted ({form}) and NOT decrypted: {why}. Nothing of it was read; the "
            "reporter was asked to send it again. The encrypted original is kept with the case."
        )
    signature = _PGP_SIGNATURES.get(str(record.get("signature")), "")
    return f"Encrypted ({form}) and decrypted; {signature}."
