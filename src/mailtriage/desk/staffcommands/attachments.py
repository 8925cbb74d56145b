"""`#attachments`: the case's files to the staff member who asked, and to nobody else.

One AES-encrypted ZIP (`cases.attachment_zip_password`, default `infected`) holding the
reporter's attachments byte for byte and the report text, masked, as `report.txt`; a set
larger than `cases.attachment_mail_max_bytes` is split over several mails. The ZIP itself is
built when the mail is sent (`mailkinds/staff_attachments.py`); here the parts are decided
and queued, to the sender only, and only when the sender is in `cases.staff`.
"""

from __future__ import annotations

from typing import ClassVar

from mailtriage.desk.staffcommands.base import StaffCommand, StepContext
from mailtriage.inbound.openpgp import desk_key_material
from mailtriage.outgoing.casefiles import case_files, split
from mailtriage.policy.states import Action


class Attachments(StaffCommand):
    NAME = "attachments"
    USAGE = "#attachments"
    ACTIONS: ClassVar[tuple[Action, ...]] = (Action.ATTACHMENTS,)

    def apply(self, context: StepContext) -> str:
        config = context.replies.config
        sender = (context.message.from_address or "").lower()
        staff = frozenset(a.lower() for a in config.cases.staff)
        if sender not in staff:
            # Authenticated staff mail always comes from `cases.staff`; fail closed anyway.
            return "#attachments: not sent: your address is not in cases.staff"
        desk = desk_key_material(config.pgp.key_file, config.pgp.passphrase_file)
        files = case_files(context.session, context.case, staff, desk)
        parts = split([len(f.data) for f in files], config.cases.attachment_mail_max_bytes)
        for number, indices in enumerate(parts, start=1):
            context.replies.to_staff_member(
                context.session,
                context.case,
                sender,
                "staff_attachments",
                {"part": number, "parts": len(parts), "files": indices},
            )
        context.event("attachments-sent", {"to": "staff", "files": len(files), "parts": len(parts)})
        mails = "1 mail" if len(parts) == 1 else f"{len(parts)} mails"
        count = "1 attachment" if len(files) == 1 else f"{len(files)} attachments"
        return (
            f"{count} and report.txt sent to you only, AES-encrypted ZIP in {mails} "
            "(password: cases.attachment_zip_password)"
        )
