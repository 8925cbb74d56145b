"""The Dutch working-day calendar and the deadlines built on it, as pure functions.

The policy promises a first assessment within N working days. The day of receipt is day 0 and
the answer is due at 23:59:59 local time on the Nth working day after it. The due moment is
computed once, stored with the case and never recomputed, so a later calendar change cannot
move a promise already made.

A working day is a configured weekday (Mon-Fri by default) that is neither a Dutch public
holiday of the `holidays` package (unless excluded by name in `holidays_exclude`) nor one of
`extra_closed_days`. Liberation Day (5 May) is a holiday in the package only in lustrum years
(2025, 2030, ...); `liberation_day_every_year` closes it every year, as many collective labour
agreements do.

Nothing here reads files, clocks or the network: every function gets the moment or day it
reasons about, so the reminder, escalation and progress-update jobs can ask the same questions
about any date and the tests need no fakes. Holiday tables are computed once per year and
cached for the life of the process.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mailtriage.dutch_holidays import (
    LIBERATION_DAY_KEYS,
    LIBERATION_DAY_NL,
    holidays_in,
    normalise_holiday_name,
)

if TYPE_CHECKING:
    from mailtriage.config import DeadlinesConfig

END_OF_DAY = dt.time(23, 59, 59)

# The contract's weekday names (config.WEEKDAYS; a unit test keeps the two in step).
_WEEKDAY_NUMBERS = {
    name: number for number, name in enumerate(("mon", "tue", "wed", "thu", "fri", "sat", "sun"))
}


@dataclass(frozen=True)
class Calendar:
    """Which days are working days. Hashable, so it can key caches of its own."""

    workdays: frozenset[int]  # Monday = 0, as date.weekday()
    holidays_exclude: frozenset[str] = frozenset()  # any spelling; normalised on creation
    extra_closed_days: frozenset[dt.date] = frozenset()
    liberation_day_every_year: bool = False

    def __post_init__(self) -> None:
        # No working weekday would make add_workdays loop forever and hang the daemon.
        if not self.workdays:
            raise ValueError("a calendar needs at least one working weekday")
        if not self.workdays <= set(range(7)):
            raise ValueError(f"weekday numbers must be 0-6, not {sorted(self.workdays)}")
        # Frozen, so normalise through object.__setattr__: a Calendar built by hand with
        # "Goede Vrijdag" must behave like one built from the config.
        object.__setattr__(
            self,
            "holidays_exclude",
            frozenset(normalise_holiday_name(n) for n in self.holidays_exclude),
        )

    @classmethod
    def from_config(cls, config: DeadlinesConfig) -> Calendar:
        return cls(
            workdays=frozenset(_WEEKDAY_NUMBERS[day] for day in config.workdays),
            holidays_exclude=frozenset(config.holidays_exclude),
            extra_closed_days=frozenset(config.extra_closed_days),
            liberation_day_every_year=config.liberation_day_every_year,
        )

    def closed_reason(self, day: dt.date) -> str | None:
        """Why `day` is not a working day, or None when it is one.

        The most specific reason wins: an operator-closed day, then the holiday's Dutch name,
        then the weekday, so a digest can say "Koningsdag" rather than "weekend".
        """
        if day in self.extra_closed_days:
            return "closed"
        for holiday in holidays_in(day.year).get(day, ()):
            if not holiday.keys & self.holidays_exclude:
                return holiday.name
        if (
            self.liberation_day_every_year
            and (day.month, day.day) == (5, 5)
            # Excluding Bevrijdingsdag by name is the more specific wish; it wins.
            and not LIBERATION_DAY_KEYS & self.holidays_exclude
        ):
            return LIBERATION_DAY_NL
        if day.weekday() not in self.workdays:
            return "weekend" if day.weekday() >= 5 else "non-working weekday"
        return None

    def is_workday(self, day: dt.date) -> bool:
        return self.closed_reason(day) is None

    def add_workdays(self, start: dt.date, count: int) -> dt.date:
        """The `count`th working day after `start`; `start` itself is day 0 and need not be one.

        `add_workdays(d, 0)` is `d`, working day or not.
        """
        if count < 0:
            raise ValueError(f"count must not be negative, not {count}")
        day = start
        remaining = count
        while remaining > 0:
            day += dt.timedelta(days=1)
            if self.is_workday(day):
                remaining -= 1
        return day

    def workdays_between(self, start_day: dt.date, end_day: dt.date) -> int:
        """How many working days lie after `start_day`, up to and including `end_day`.

        The progress-update question "have N working days passed since the last mail?" is
        `workdays_between(last_mail_day, today) >= N`. It is the inverse of add_workdays:
        `workdays_between(d, add_workdays(d, n)) == n`. 0 when `end_day` is not after
        `start_day` (a clock step back must not produce a negative count).
        """
        count = 0
        day = start_day + dt.timedelta(days=1)
        while day <= end_day:
            if self.is_workday(day):
                count += 1
            day += dt.timedelta(days=1)
        return count

    def previous_workday(self, day: dt.date) -> dt.date:
        """The last working day strictly before `day`.

        The reminder question "is today the working day before the due day?" is
        `previous_workday(due_day) == today`.
        """
        day -= dt.timedelta(days=1)
        while not self.is_workday(day):
            day -= dt.timedelta(days=1)
        return day


def local_day(moment: dt.datetime, tz: dt.tzinfo) -> dt.date:
    """The calendar day of `moment` in `tz`; a naive `moment` is taken to be in `tz` already.

    A report arriving 23:30 UTC in winter arrived 00:30 the next day in Amsterdam, and it is
    the Amsterdam day that counts as day 0.
    """
    if moment.tzinfo is None:
        return moment.date()
    return moment.astimezone(tz).date()


def end_of_day(day: dt.date, tz: dt.tzinfo) -> dt.datetime:
    """23:59:59 local on `day`, with the offset in force on that day.

    Combining with the tzinfo (instead of adding a timedelta to an aware time) lets zoneinfo
    pick the offset of the due day itself, so a deadline after the October change is +01:00
    even though the receipt was +02:00.
    """
    return dt.datetime.combine(day, END_OF_DAY, tzinfo=tz)


def due_moment(
    received_at: dt.datetime, workdays: int, calendar: Calendar, tz: dt.tzinfo
) -> dt.datetime:
    """End of the `workdays`th working day after the local day of `received_at`."""
    return end_of_day(calendar.add_workdays(local_day(received_at, tz), workdays), tz)


def first_response_due(received_at: dt.datetime, config: DeadlinesConfig) -> dt.datetime:
    """The promised first-assessment moment for a report received at `received_at`."""
    return due_moment(
        received_at, config.first_response_workdays, Calendar.from_config(config), config.tz
    )
