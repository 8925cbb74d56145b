"""Case references, subject tags and the case states, as plain values.

Pure: the numbers themselves are handed out by `store/sequences.py`.
"""

from __future__ import annotations

import re


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
