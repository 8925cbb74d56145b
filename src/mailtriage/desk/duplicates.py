"""Two reports of one vulnerability: the link between a duplicate and the case it duplicates.

A duplicate is closed (`duplicate`) at once, but its reporter was promised to hear when the
vulnerability is resolved (CONTRACT.md, `#duplicate`). So the link is a column on the
duplicate (`Case.duplicate_of`, read back as `Case.duplicates` on the original), and:

- links always point at the root of a chain: a duplicate of a duplicate is linked to the
  original, and a case that had duplicates hands them on when it becomes one itself, so
  "every linked reporter" is always one query on the original;
- when the original reaches `resolved` or is closed `fixed`, every linked reporter who was not
  told yet gets the closing notice, with `fixed` as the reason (`tell_linked`), once;
- the purge of a duplicate waits until its reporter was told (or the original was closed for
  another reason: then there is nothing left to tell), and counts its days from then, so the
  erasure date in that closing notice is the one kept (`purge_start`).

The link, like CVSS, CWE and CVE, describes the finding, not the finder: the purge keeps it.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailtriage.desk.replies import Replies
from mailtriage.policy.cases import State
from mailtriage.store.models import Case, CaseEvent

__all__ = ["find_case", "is_fixed", "purge_start", "root_of", "tell_linked"]

MAX_CHAIN = 50  # links are kept flat (see `root_of`), so a longer chain is a broken store


def find_case(session: Session, ref: str) -> Case | None:
    return session.scalars(select(Case).where(Case.ref == ref.upper())).first()


def root_of(case: Case) -> Case:
    """The case at the end of `case`'s duplicate links (itself when it has none)."""
    seen = {case.id}
    while case.duplicate_of is not None and len(seen) < MAX_CHAIN:
        case = case.duplicate_of
        if case.id in seen:
            break  # a loop cannot be made through the command; never follow one
        seen.add(case.id)
    return case


def is_fixed(case: Case) -> bool:
    """Whether the vulnerability `case` tracks counts as resolved for its duplicates."""
    return case.state == State.RESOLVED or (
        case.state == State.CLOSED and case.close_reason == "fixed"
    )


def tell_linked(
    session: Session,
    original: Case,
    replies: Replies,
    now: dt.datetime,
    only: Case | None = None,
) -> int:
    """Send the closing notice (`fixed`) to every duplicate's reporter not told yet (or only
    to `only`); the number queued."""
    told = 0
    for duplicate in [only] if only is not None else list(original.duplicates):
        if duplicate.resolved_notice_at is not None or duplicate.purged_at is not None:
            continue
        refusal = replies.reporter_notice(
            session,
            duplicate,
            "closing",
            {"close_reason": "fixed", "purge_from": now.isoformat()},
        )
        duplicate.resolved_notice_at = now
        duplicate.events.append(
            CaseEvent(
                at=now,
                kind="duplicate-resolved",
                detail={"of": original.ref, "told": refusal is None},
            )
        )
        told += refusal is None
    return told


def purge_start(case: Case) -> dt.datetime | None:
    """From when the purge counts a closed case's retention days; None while it must wait
    (a duplicate whose reporter still waits to hear that the original was resolved)."""
    if case.closed_at is None:
        return None
    original = case.duplicate_of
    if original is None:
        return case.closed_at
    if case.resolved_notice_at is not None:
        return max(case.closed_at, case.resolved_notice_at)
    if original.state == State.CLOSED and original.closed_at is not None:
        # Closed for another reason than `fixed`: nothing will come to tell.
        return max(case.closed_at, original.closed_at)
    return None
