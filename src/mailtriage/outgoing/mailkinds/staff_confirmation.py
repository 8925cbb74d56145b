"""The answer to a staff member who mailed the desk: what was done, what was not, and why.

Sent also when no case was found (then it says "no case"), so staff never wonder whether
their mail arrived.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mailtriage.outgoing.mailkinds._base import MailKind, Payload, Source

SUMMARY_LENGTH = 120  # the summary goes into the subject line


@dataclass(frozen=True)
class ConfirmationPayload(Payload):
    ref: str  # "no case" when the mail named none
    results: tuple[str, ...]
    unprocessed: tuple[str, ...]
    ignored: tuple[str, ...]
    not_applied: tuple[str, ...]
    relayed: tuple[str, ...]  # the first lines of what went to the reporter
    relayed_more: int  # how many lines of it are not shown
    returned: tuple[str, ...]  # the text of a refused mail, given back
    summary: str
    state: str
    close_reason: str | None
    severity: str | None
    owner: str | None
    commands: tuple[str, ...]  # the reminder of the command language


class StaffConfirmation(MailKind[ConfirmationPayload]):
    name = "staff_confirmation"
    audience = "staff"
    guard = "none"
    forms = ("en",)

    def build(self, source: Source) -> ConfirmationPayload:
        saved, case = source.saved, source.maybe_case

        def lines(name: str) -> tuple[str, ...]:
            return tuple(saved.get(name, []))

        return ConfirmationPayload(
            ref=case.ref if case else "no case",
            results=lines("results"),
            unprocessed=lines("unprocessed"),
            ignored=lines("ignored"),
            not_applied=lines("not_applied"),
            relayed=lines("relayed"),
            relayed_more=saved.get("relayed_more", 0),
            returned=lines("returned"),
            summary=_summary(saved),
            state=case.state if case else "-",
            close_reason=case.close_reason if case else None,
            severity=case.severity if case else None,
            owner=case.owner if case else None,
            # From the command modules themselves (handed in by the composition root), so
            # the reminder never drifts from them.
            commands=source.command_help,
        )


def _summary(saved: dict[str, Any]) -> str:
    if saved.get("unprocessed"):
        return "nothing changed, see Unprocessed"
    results = saved.get("results") or []
    return "; ".join(results)[:SUMMARY_LENGTH] if results else "no changes"


KINDS = (StaffConfirmation,)
