"""Staff's daily digest: overdue, soon due and all open cases.

The rows were written (and masked) when the digest was queued; here they get the desk's time
zone and a line saying what is due or late.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from mailtriage.outgoing.dates import format_date
from mailtriage.outgoing.mailkinds._base import MailKind, Payload, Source


@dataclass(frozen=True)
class DigestLine:
    ref: str
    state: str
    subject: str
    severity: str | None
    owner: str | None
    due: dt.datetime | None  # None once the first assessment was given
    next_update: dt.datetime | None
    what: str  # what is due or late, in words


@dataclass(frozen=True)
class EmbargoLine:
    ref: str
    until: dt.datetime  # local end of the embargo day
    state: str


@dataclass(frozen=True)
class ObligationLine:
    """A reporting step (`#exploited`, `#incident`) not yet filed."""

    ref: str
    kind: str
    step: str
    due: dt.datetime | None  # None: an exploited final report waiting for `resolved`
    late: bool


@dataclass(frozen=True)
class DigestPayload(Payload):
    today: dt.date
    overdue: tuple[DigestLine, ...]
    due_soon: tuple[DigestLine, ...]
    open: tuple[DigestLine, ...]
    embargoes: tuple[EmbargoLine, ...] = ()  # every embargo not yet over, soonest first
    obligations: tuple[ObligationLine, ...] = ()


class StaffDigest(MailKind[DigestPayload]):
    name = "staff_digest"
    audience = "staff"
    guard = "none"
    forms = ("en",)

    def build(self, source: Source) -> DigestPayload:
        saved = source.saved

        def when(value: str | None) -> dt.datetime | None:
            return source.local(value) if value else None

        def lines(name: str) -> tuple[DigestLine, ...]:
            return tuple(
                DigestLine(
                    ref=r["ref"],
                    state=r["state"],
                    subject=r.get("subject") or "",
                    severity=r.get("severity"),
                    owner=r.get("owner"),
                    due=when(r["due"]) if not r.get("answered") else None,
                    next_update=when(r["next_update"]),
                    what=_what(r, source),
                )
                for r in saved.get(name, [])
            )

        return DigestPayload(
            today=dt.date.fromisoformat(saved["today"]),
            overdue=lines("overdue"),
            due_soon=lines("due_soon"),
            open=lines("open"),
            embargoes=tuple(
                EmbargoLine(e["ref"], source.local(e["until"]), e["state"])
                for e in saved.get("embargoes", [])
            ),
            obligations=tuple(
                ObligationLine(
                    ref=o["ref"],
                    kind=o["kind"],
                    step=o["step"],
                    due=when(o["due"]),
                    late=bool(o["due"]) and source.local(o["due"]) < source.now,
                )
                for o in saved.get("obligations", [])
            ),
        )


def _what(row: dict[str, Any], source: Source) -> str:
    """What is due or late for one case, in words. An answered case (first assessment given)
    is never "due" for it: only its next progress update can be."""
    if not row.get("answered") and row.get("due"):
        due = source.local(row["due"])
        late = "LATE, was due" if due < source.now else "due"
        return f"first assessment {late} {format_date(due, 'en')}"
    answered = "first assessment given" if row.get("answered") else "no first assessment due"
    if row.get("next_update"):
        update = source.local(row["next_update"])
        late = "LATE, was due" if update < source.now else "due"
        return f"{answered}; next update to the reporter {late} {format_date(update, 'en')}"
    return answered


KINDS = (StaffDigest,)
