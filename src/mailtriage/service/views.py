"""How cases and quarantined mail look to people and scripts: JSON objects and text tables.

The JSON field names are part of the external contract; the text tables are for operators
at a terminal, so anything taken from a mail is stripped of control characters first (a
subject must not be able to move the cursor or rewrite the screen).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mailtriage.store.models import Case, CaseEvent, Obligation, StoredMessage


def iso(value: dt.datetime | None, tz: dt.tzinfo | None = None) -> str | None:
    if value is None:
        return None
    return value.astimezone(tz).isoformat() if tz else value.isoformat()


def printable(text: str | None, limit: int = 60) -> str:
    if not text:
        return ""
    cleaned = "".join(ch if ch.isprintable() else " " for ch in text)
    cleaned = " ".join(cleaned.split())
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"


def message_counts(session: Session, case_ids: list[int]) -> dict[int, int]:
    if not case_ids:
        return {}
    rows = session.execute(
        select(StoredMessage.case_id, func.count())
        .where(StoredMessage.case_id.in_(case_ids))
        .group_by(StoredMessage.case_id)
    )
    return {case_id: count for case_id, count in rows}


def case_object(case: Case, messages: int, tz: dt.tzinfo) -> dict[str, Any]:
    return {
        "ref": case.ref,
        "state": case.state,
        "close_reason": case.close_reason,
        "category": case.category,
        "language": case.language,
        "reporter": case.reporter_address if case.purged_at is None else None,
        "reporter_name": case.reporter_name if case.purged_at is None else None,
        "subject": case.subject,
        "received_at": iso(case.received_at, tz),
        "first_response_due": iso(case.first_response_due, tz),
        "first_response_at": iso(case.first_response_at, tz),
        "next_update_due": iso(case.next_update_due, tz),
        "closed_at": iso(case.closed_at, tz),
        "purged_at": iso(case.purged_at, tz),
        "severity": case.severity,
        "owner": case.owner,
        "credit_name": case.credit_name if case.credit_consent else None,
        "legal_hold": case.legal_hold,
        "messages": messages,
        **finding_object(case, tz),
    }


def finding_object(case: Case, tz: dt.tzinfo) -> dict[str, Any]:
    """Issue 16: what the case says about the finding (kept after the purge)."""
    return {
        "duplicate_of": case.duplicate_of.ref if case.duplicate_of else None,
        "duplicates": [d.ref for d in case.duplicates],
        "cvss_vector": case.cvss_vector,
        "cvss_score": case.cvss_score,
        "cvss_rating": case.cvss_rating,
        "cwe": case.cwe,
        "cve": case.cve,
        "embargo_until": iso(case.embargo_until, tz),
    }


def obligation_object(row: Obligation, tz: dt.tzinfo) -> dict[str, Any]:
    """One step of a reporting clock, as the contract names it."""
    return {
        "kind": row.kind,
        "step": row.step,
        "due": iso(row.due, tz),
        "reported_at": iso(row.reported_at, tz),
    }


def event_object(event: CaseEvent, tz: dt.tzinfo) -> dict[str, Any]:
    return {"at": iso(event.at, tz), "kind": event.kind, "detail": event.detail or {}}


def message_summary(message: StoredMessage, tz: dt.tzinfo) -> dict[str, Any]:
    return {
        "id": message.id,
        "status": message.status,
        "category": message.category,
        "from": message.from_address,
        "subject": message.subject,
        "arrived_at": iso(message.arrived_at, tz),
        "size": message.size,
        "attachments": [
            {"filename": a.filename, "content_type": a.content_type, "size": a.size}
            for a in message.attachments
        ],
    }


CASES_HEADER = (
    "REF", "STATE", "SEV", "OWNER", "LANG", "RECEIVED", "DUE", "EMBARGO", "MSGS", "SUBJECT",
)  # fmt: skip


def case_row(c: Case, messages: int, tz: dt.tzinfo) -> tuple[str, ...]:
    """One line of the `cases` table."""
    return (
        c.ref,
        c.state if c.close_reason is None else f"{c.state}:{c.close_reason}",
        c.severity or "-",
        printable(c.owner.split("@")[0], 16) if c.owner else "-",
        c.language,
        c.received_at.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
        c.first_response_due.astimezone(tz).strftime("%Y-%m-%d") if c.first_response_due else "-",
        c.embargo_until.astimezone(tz).strftime("%Y-%m-%d") if c.embargo_until else "-",
        str(messages),
        printable(c.subject) if c.purged_at is None else "(purged)",
    )


def cases_table(cases: list[Case], counts: dict[int, int], tz: dt.tzinfo) -> str:
    rows = [case_row(c, counts.get(c.id, 0), tz) for c in cases]
    return format_table(CASES_HEADER, rows, empty="no cases")


def format_table(header: tuple[str, ...], rows: list[tuple[str, ...]], empty: str) -> str:
    if not rows:
        return empty
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in (header, *rows)
    ]
    return "\n".join(lines)


def credit_list(session: Session) -> list[dict[str, str]]:
    """The hall of fame: every consenting finder, under the reference of the finding they
    found — a duplicate's finder under the original case, after its own reporter, so one
    finding lists all who found it (each by their own consent). Names and references only."""
    cases = session.scalars(
        select(Case)
        .where(Case.credit_consent.is_(True), Case.credit_name.is_not(None))
        .order_by(Case.year, Case.seq)
    ).all()

    def finding(case: Case) -> Case:
        return case.duplicate_of or case  # links are kept flat (duplicates.root_of)

    ordered = sorted(
        cases, key=lambda c: (finding(c).year, finding(c).seq, c.duplicate_of is not None, c.seq)
    )
    items: list[dict[str, str]] = []
    for case in ordered:
        item = {"name": case.credit_name or "", "ref": finding(case).ref}
        if item not in items:
            items.append(item)
    return items
