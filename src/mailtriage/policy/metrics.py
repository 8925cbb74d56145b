"""The desk's own figures per calendar month of receipt: what `mailtriage report` prints.

Computed from timestamps the purge keeps (receipt, acknowledgement sent, first assessment,
closing, the promised due moment, category, close reason): no personal data is needed, so
the figures of a month stay the same after its cases are purged.

Definitions (per month in which the case, or the automated mail, was received, local time):

- `reports`: cases of category `report`; `redirected`: cases of category `redirect`;
  `automated`: automated mail (auto-replies, bounces, lists, spam) that arrived.
- time to acknowledgement, in minutes: from receipt to the moment the acknowledgement was
  sent, for reports that got one;
- time to first assessment and to close, in working days (`policy/workdays.Calendar`): the
  day of receipt is day 0, so an answer on the next working day counts 1, like the promise;
- `first_assessment_within_promise`: of the reports whose promise is decided (the first
  assessment was given, or its due moment has passed without one), the share answered by the
  promised due moment. An overdue unanswered report counts against the share: leaving it out
  would make a desk look better the less it answers. None when no promise is decided yet;
- `open`: reports not closed now; `overdue`: of those, the ones whose first assessment is
  past due and not given.

Percentiles: the median is the middle value, or the mean of the two middle values of an even
count (`statistics.median`); the 90th percentile is the nearest rank, the smallest value with
at least 90 % of the values at or below it: the value at 1-based rank ceil(0.9 * n) of the
sorted values. Both are None for a month without values.

Pure: the store query that feeds this lives in `store/figures.py`.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TextIO

from mailtriage.policy.workdays import Calendar

CLOSE_OUTCOMES: tuple[str, ...] = (
    "fixed",
    "duplicate",
    "not-applicable",
    "informative",
    "spam",
)
OUTCOMES: tuple[str, ...] = ("open", *CLOSE_OUTCOMES)


@dataclass(frozen=True)
class CaseTimes:
    """The kept timestamps of one case (times aware)."""

    category: str  # report | redirect
    received_at: dt.datetime
    acknowledged_at: dt.datetime | None
    first_response_due: dt.datetime | None
    first_response_at: dt.datetime | None
    closed_at: dt.datetime | None
    close_reason: str | None


@dataclass(frozen=True)
class MonthFigures:
    """One month's row. `as_dict` gives the JSON and CSV field names."""

    month: str  # YYYY-MM
    reports: int = 0
    redirected: int = 0
    automated: int = 0
    acknowledgement_minutes_median: float | None = None
    acknowledgement_minutes_p90: float | None = None
    first_assessment_workdays_median: float | None = None
    first_assessment_workdays_p90: float | None = None
    close_workdays_median: float | None = None
    close_workdays_p90: float | None = None
    first_assessment_within_promise: float | None = None
    open: int = 0
    overdue: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return {
            "month": self.month,
            "reports": self.reports,
            "redirected": self.redirected,
            "automated": self.automated,
            "acknowledgement_minutes_median": self.acknowledgement_minutes_median,
            "acknowledgement_minutes_p90": self.acknowledgement_minutes_p90,
            "first_assessment_workdays_median": self.first_assessment_workdays_median,
            "first_assessment_workdays_p90": self.first_assessment_workdays_p90,
            "close_workdays_median": self.close_workdays_median,
            "close_workdays_p90": self.close_workdays_p90,
            "first_assessment_within_promise": self.first_assessment_within_promise,
            "open": self.open,
            "overdue": self.overdue,
            "outcomes": dict(self.outcomes),
        }


def median(values: Sequence[float]) -> float | None:
    """The middle value; the mean of the two middle ones for an even count."""
    return float(statistics.median(values)) if values else None


def p90(values: Sequence[float]) -> float | None:
    """The nearest-rank 90th percentile: the value at rank ceil(0.9 n) of the sorted values."""
    if not values:
        return None
    ordered = sorted(values)
    return float(ordered[math.ceil(0.9 * len(ordered)) - 1])


def month_of(moment: dt.datetime, tz: dt.tzinfo) -> str:
    return moment.astimezone(tz).strftime("%Y-%m")


def months_between(first: str, last: str) -> list[str]:
    """Every month from `first` to `last` inclusive (YYYY-MM), empty ones included."""
    year, month = map(int, first.split("-"))
    end = tuple(map(int, last.split("-")))
    found = []
    while (year, month) <= end:
        found.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return found


def monthly_figures(
    cases: Iterable[CaseTimes],
    automated: Iterable[dt.datetime],
    months: Sequence[str],
    calendar: Calendar,
    tz: dt.tzinfo,
    now: dt.datetime,
) -> list[MonthFigures]:
    """One row per month in `months`, from the cases and automated arrivals given (those
    received in other months are left out)."""
    by_month: dict[str, list[CaseTimes]] = {m: [] for m in months}
    for case in cases:
        key = month_of(case.received_at, tz)
        if key in by_month:
            by_month[key].append(case)
    auto_count: dict[str, int] = dict.fromkeys(months, 0)
    for arrived in automated:
        key = month_of(arrived, tz)
        if key in auto_count:
            auto_count[key] += 1
    return [
        _figures(month, by_month[month], auto_count[month], calendar, tz, now) for month in months
    ]


def _figures(
    month: str,
    cases: list[CaseTimes],
    automated: int,
    calendar: Calendar,
    tz: dt.tzinfo,
    now: dt.datetime,
) -> MonthFigures:
    reports = [c for c in cases if c.category == "report"]

    def workdays(start: dt.datetime, end: dt.datetime) -> float:
        return float(
            calendar.workdays_between(start.astimezone(tz).date(), end.astimezone(tz).date())
        )

    ack = [
        round((c.acknowledged_at - c.received_at).total_seconds() / 60, 1)
        for c in reports
        if c.acknowledged_at is not None
    ]
    assessed = [
        workdays(c.received_at, c.first_response_at)
        for c in reports
        if c.first_response_at is not None
    ]
    closed = [
        workdays(c.received_at, c.closed_at)
        for c in reports
        if c.closed_at is not None and c.close_reason != "redirected"
    ]
    decided = [
        c
        for c in reports
        if c.first_response_due is not None
        and (c.first_response_at is not None or c.first_response_due < now)
    ]
    kept = [
        c
        for c in decided
        if c.first_response_at is not None
        and c.first_response_due is not None
        and c.first_response_at <= c.first_response_due
    ]
    still_open = [c for c in reports if c.closed_at is None]
    overdue = [
        c
        for c in still_open
        if c.first_response_at is None
        and c.first_response_due is not None
        and c.first_response_due < now
    ]
    outcomes = dict.fromkeys(OUTCOMES, 0)
    for c in reports:
        outcome = "open" if c.closed_at is None else (c.close_reason or "open")
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return MonthFigures(
        month=month,
        reports=len(reports),
        redirected=sum(1 for c in cases if c.category == "redirect"),
        automated=automated,
        acknowledgement_minutes_median=median(ack),
        acknowledgement_minutes_p90=p90(ack),
        first_assessment_workdays_median=median(assessed),
        first_assessment_workdays_p90=p90(assessed),
        close_workdays_median=median(closed),
        close_workdays_p90=p90(closed),
        first_assessment_within_promise=(round(len(kept) / len(decided), 4) if decided else None),
        open=len(still_open),
        overdue=len(overdue),
        outcomes=outcomes,
    )


def csv_row(figures: MonthFigures) -> dict[str, object]:
    """A month as one flat CSV row: the outcomes become `outcome_<name>` columns, and a
    figure without values is an empty cell."""
    row = figures.as_dict()
    outcomes = row.pop("outcomes")
    assert isinstance(outcomes, dict)
    row.update({f"outcome_{name}": outcomes.get(name, 0) for name in OUTCOMES})
    return {key: "" if value is None else value for key, value in row.items()}


def write_csv(out: TextIO, months: Sequence[MonthFigures]) -> None:
    """One header line, then one row per month (RFC 4180 quoting)."""
    header = list(csv_row(MonthFigures(month="")).keys())
    writer = csv.DictWriter(out, fieldnames=header, lineterminator="\r\n")
    writer.writeheader()
    for figures in months:
        writer.writerow(csv_row(figures))
