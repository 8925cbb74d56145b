"""Reporting obligations: the legal clocks an `#exploited` or `#incident` starts.

Two regimes, each with three steps filed with an authority:

- `exploited`, an actively exploited vulnerability in a product the organisation makes (EU
  Cyber Resilience Act art. 14): early warning within 24 h, notification within 72 h, final
  report 14 days after the case reaches `resolved` (a fix is available);
- `incident`, a significant incident at an essential entity (NIS2 art. 23, the Dutch
  Cyberbeveiligingswet): early warning 24 h, notification 72 h, final report one month.

The clocks run in calendar time, not working days: a weekend or a night does not stop the
law. Staff are reminded when half of a step's time has gone and 2 h before it is due, and
escalated once when it has passed, until `#reported STEP` records the filing.

Pure: the dates and the question "which notice is owed now" only; the store keeps the rows
(`desk/obligations.py`) and the jobs send the mail.
"""

from __future__ import annotations

import calendar
import datetime as dt
from enum import StrEnum
from typing import Protocol

KINDS: tuple[str, ...] = ("exploited", "incident")
STEPS: tuple[str, ...] = ("early-warning", "notification", "final")

# The step whose time, for `exploited`, runs from the case reaching `resolved`, not from the
# command: the CRA asks for the final report 14 days after a fix is available.
FINAL = "final"

SOON = dt.timedelta(hours=2)  # the second reminder comes this long before the due moment


class Notice(StrEnum):
    """What staff are sent about one step; the values are the timeline's and the mail's."""

    HALF = "half-time"
    SOON = "due-soon"
    ESCALATION = "escalation"


class Durations(Protocol):
    """How long each step may take: `config.ObligationsConfig` (`[obligations]`)."""

    @property
    def early_warning_hours(self) -> int: ...
    @property
    def notification_hours(self) -> int: ...
    @property
    def exploited_final_days(self) -> int: ...
    @property
    def incident_final_months(self) -> int: ...


def add_months(moment: dt.datetime, months: int, tz: dt.tzinfo) -> dt.datetime:
    """The same local time `months` calendar months later (31 January + 1 month is the last
    day of February), as an aware datetime in `tz`. "Within one month" is counted on the
    calendar of the organisation, so a clock started at 17:00 ends at 17:00 local."""
    local = moment.astimezone(tz)
    index = local.month - 1 + months
    year, month = local.year + index // 12, index % 12 + 1
    day = min(local.day, calendar.monthrange(year, month)[1])
    naive = local.replace(tzinfo=None).replace(year=year, month=month, day=day)
    return naive.replace(tzinfo=tz)


def step_start_and_due(
    kind: str,
    step: str,
    started: dt.datetime,
    durations: Durations,
    tz: dt.tzinfo,
    resolved: dt.datetime | None = None,
) -> tuple[dt.datetime | None, dt.datetime | None]:
    """When the time for `step` starts running and when it is due; (None, None) for an
    `exploited` final report while the case has not yet reached `resolved`.

    Hours are exact elapsed hours (24 h across a DST change is 24 h, as the law counts);
    months keep the local time of day."""
    if kind not in KINDS:
        raise ValueError(f"unknown obligation kind {kind!r}")
    # In UTC: adding hours to a local aware datetime is wall-clock arithmetic in Python, which
    # would make the night summer time ends 25 hours long.
    started = started.astimezone(dt.UTC)
    resolved = resolved.astimezone(dt.UTC) if resolved is not None else None
    if step == "early-warning":
        return started, started + dt.timedelta(hours=durations.early_warning_hours)
    if step == "notification":
        return started, started + dt.timedelta(hours=durations.notification_hours)
    if step != FINAL:
        raise ValueError(f"unknown obligation step {step!r}")
    if kind == "incident":
        return started, add_months(started, durations.incident_final_months, tz)
    if resolved is None:
        return None, None
    begins = max(started, resolved)  # resolved before the clock started: it runs from the start
    return begins, begins + dt.timedelta(days=durations.exploited_final_days)


def owed_notice(
    begins: dt.datetime,
    due: dt.datetime,
    now: dt.datetime,
    sent: frozenset[Notice] | set[Notice],
) -> Notice | None:
    """The one notice owed for an unreported step at `now`, given those already sent.

    Only the latest that applies is owed: a desk that was down past the 2-hour mark sends the
    "due soon" reminder, not a stale half-time one first; past the due moment only the
    escalation is owed. Each notice is sent once, so `sent` holding it means nothing is owed.
    """
    if now >= due:
        return None if Notice.ESCALATION in sent else Notice.ESCALATION
    if Notice.ESCALATION in sent:
        return None
    if now >= due - SOON:
        return None if Notice.SOON in sent else Notice.SOON
    if Notice.SOON in sent:
        return None
    if now >= begins + (due - begins) / 2:
        return None if Notice.HALF in sent else Notice.HALF
    return None
