"""Staff's notice that a mail to a reporter could not be delivered."""

from __future__ import annotations

from dataclasses import dataclass

from mailtriage.outgoing.mailkinds._base import MailKind, Payload, Source
from mailtriage.store.models import OutboxMail


@dataclass(frozen=True)
class DeliveryFailedPayload(Payload):
    ref: str
    permanent: bool  # refused for good, not just given up on for now
    reason: str  # the server's answer, masked by the template


class StaffDeliveryFailed(MailKind[DeliveryFailedPayload]):
    name = "staff_delivery_failed"
    audience = "staff"
    guard = "none"
    forms = ("en",)

    def build(self, source: Source) -> DeliveryFailedPayload:
        case, saved = source.case(), source.saved
        failed = source.session.get(OutboxMail, saved["outbox"])
        return DeliveryFailedPayload(
            ref=case.ref,
            permanent=bool(saved.get("permanent")),
            reason=(failed.last_error if failed else None) or "unknown",
        )


KINDS = (StaffDeliveryFailed,)
