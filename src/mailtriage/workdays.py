"""The Dutch working-day calendar and the first-assessment deadline, as pure functions.

The policy promises a first assessment within N working days. The day of receipt is day 0 and
the answer is due at 23:59:59 local time on the Nth working day after it. The due moment is
computed once, stored with the case and never recomputed, so a later calendar change cannot
move a promise already made.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache

import holidays

from mailtriage.config import WEEKDAYS, DeadlinesConfig

END_OF_DAY = dt.time(23, 59, 59)


@dataclass(frozen=True)
class Calendar:
    workdays: frozenset[int]  # Monday = 0
    holidays_exclude: frozenset[str]
    extra_closed_days: frozenset[dt.date]
    liberation_day_every_year: bool

    @classmethod
    def from_config(cls, config: DeadlinesConfig) -> Calendar:
        return cls(
            workdays=frozenset(WEEKDAYS.index(day) for day in config.workdays),
            holidays_exclude=frozenset(name.casefold() for name in config.holidays_exclude),
            extra_closed_days=frozenset(config.extra_closed_days),
            liberation_day_every_year=config.liberation_day_every_year,
        )

    def closed_reason(self, day: dt.date) -> str | None:
        """Why `day` is not a working day, or None when it is one."""
        if day.weekday() not in self.workdays:
            return "weekend"
        if day in self.extra_closed_days:
            return "closed"
        for name in _dutch_holidays(day.year).get_list(day):
            if name.casefold() not in self.holidays_exclude:
                return name
        if self.liberation_day_every_year and (day.month, day.day) == (5, 5):
            return "Bevrijdingsdag"
        return None

    def is_workday(self, day: dt.date) -> bool:
        return self.closed_reason(day) is None

    def add_workdays(self, start: dt.date, count: int) -> dt.date:
        """The `count`th working day after `start` (start itself is day 0)."""
        day = start
        remaining = count
        while remaining > 0:
            day += dt.timedelta(days=1)
            if self.is_workday(day):
                remaining -= 1
        return day


@cache
def _dutch_holidays(year: int) -> holidays.HolidayBase:
    return holidays.country_holidays("NL", years=year, language="nl")


def due_moment(
    received_at: dt.datetime, workdays: int, calendar: Calendar, tz: dt.tzinfo
) -> dt.datetime:
    """End of the `workdays`th working day after the local day of `received_at`."""
    if received_at.tzinfo is None:
        received_at = received_at.replace(tzinfo=tz)
    local_day = received_at.astimezone(tz).date()
    due_day = calendar.add_workdays(local_day, workdays)
    return dt.datetime.combine(due_day, END_OF_DAY, tzinfo=tz)


def first_response_due(received_at: dt.datetime, config: DeadlinesConfig) -> dt.datetime:
    return due_moment(
        received_at, config.first_response_workdays, Calendar.from_config(config), config.tz
    )
