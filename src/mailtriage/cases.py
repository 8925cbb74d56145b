"""Case references, subject tags and the case states, as plain values.

A reference is handed out from a per-year counter row that the writer locks by updating it
first, so two processes opening cases at once (the daemon and an MTA pipe) never collide.
"""

from __future__ import annotations

import re

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from mailtriage.store.models import CaseSequence


class State:
    NEW = "new"
    ACKNOWLEDGED = "acknowledged"
    TRIAGED = "triaged"
    NEEDS_INFO = "needs-info"
    FIXING = "fixing"
    RESOLVED = "resolved"
    CLOSED = "closed"

    ALL = (NEW, ACKNOWLEDGED, TRIAGED, NEEDS_INFO, FIXING, RESOLVED, CLOSED)
    OPEN = (NEW, ACKNOWLEDGED, TRIAGED, NEEDS_INFO, FIXING, RESOLVED)


def format_ref(prefix: str, year: int, seq: int) -> str:
    return f"{prefix}-{year}-{seq:04d}"


def tag_pattern(prefix: str) -> re.Pattern[str]:
    """Matches `[PREFIX-2026-0007]` in a subject; group 1 is the reference."""
    return re.compile(r"\[(" + re.escape(prefix) + r"-\d{4}-\d{4,6})\]", re.IGNORECASE)


def refs_in_subject(subject: str, prefix: str) -> list[str]:
    return [m.upper() for m in tag_pattern(prefix).findall(subject[:2000])]


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
