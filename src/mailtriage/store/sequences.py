"""Case sequence numbers, handed out from a per-year counter row.

The writer locks the row by updating it first, so two processes opening cases at once (the
daemon and an MTA pipe) never collide.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from mailtriage.store.models import CaseSequence


def next_sequence(session: Session, prefix: str, year: int) -> int:
    """Reserve the next sequence number for `year` inside the caller's transaction."""
    bumped = session.execute(
        update(CaseSequence)
        .where(CaseSequence.prefix == prefix, CaseSequence.year == year)
        .values(last=CaseSequence.last + 1)
        .returning(CaseSequence.last)
    ).scalar_one_or_none()
    if bumped is not None:
        return bumped
    session.add(CaseSequence(prefix=prefix, year=year, last=1))
    session.flush()
    return session.execute(
        select(CaseSequence.last).where(CaseSequence.prefix == prefix, CaseSequence.year == year)
    ).scalar_one()


def store_sequence(session: Session, prefix: str, year: int, last: int) -> None:
    """Record `last` as the latest number handed out (after `next_sequence` reserved the row)."""
    session.execute(
        update(CaseSequence)
        .where(CaseSequence.prefix == prefix, CaseSequence.year == year, CaseSequence.last < last)
        .values(last=last)
    )
