"""Staff's warning that erased data may still sit in the store's write-ahead log."""

from __future__ import annotations

from dataclasses import dataclass

from mailtriage.outgoing.mailkinds._base import MailKind, Payload, Source


@dataclass(frozen=True)
class PurgeIncompletePayload(Payload):
    wal_bytes: int
    attempts: int | None


class StaffPurgeIncomplete(MailKind[PurgeIncompletePayload]):
    name = "staff_purge_incomplete"
    audience = "staff"
    guard = "none"
    forms = ("en",)

    def build(self, source: Source) -> PurgeIncompletePayload:
        saved = source.saved
        return PurgeIncompletePayload(
            wal_bytes=int(saved.get("wal_bytes", 0)), attempts=saved.get("attempts")
        )


KINDS = (StaffPurgeIncomplete,)
