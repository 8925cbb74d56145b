"""The working-day calendar and the first-assessment deadline over 2025-2030.

A wrong deadline is a broken promise to a reporter, so the contract's examples are checked as
exact ISO strings, every Dutch public holiday of six years is checked against dates worked out
here independently of the `holidays` package (from the Easter dates), and a loop over every
day of those years checks the definition itself: the due day is the Nth working day after the
day of receipt.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from mailtriage.config import WEEKDAYS, DeadlinesConfig
from mailtriage.dutch_holidays import (
    known_holiday_names,
    normalise_holiday_name,
    unknown_holiday_names,
)
from mailtriage.policy.workdays import (
    END_OF_DAY,
    Calendar,
    due_moment,
    end_of_day,
    first_response_due,
    local_day,
)

AMS = ZoneInfo("Europe/Amsterdam")
YEARS = range(2025, 2031)
D = dt.date

# Western Easter Sundays, from a printed table rather than the package under test.
EASTER = {
    2025: D(2025, 4, 20),
    2026: D(2026, 4, 5),
    2027: D(2027, 3, 28),
    2028: D(2028, 4, 16),
    2029: D(2029, 4, 1),
    2030: D(2030, 4, 21),
}


def due(received: str, **deadlines: object) -> str:
    """The contract's `deadline DATETIME`: ISO in, ISO with offset out."""
    config = DeadlinesConfig(**deadlines)  # type: ignore[arg-type]
    return first_response_due(dt.datetime.fromisoformat(received), config).isoformat()


def calendar(**deadlines: object) -> Calendar:
    return Calendar.from_config(DeadlinesConfig(**deadlines))  # type: ignore[arg-type]


def every_day(years: range = YEARS) -> list[dt.date]:
    first, last = D(years[0], 1, 1), D(years[-1], 12, 31)
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]


# --- the acceptance cases -----------------------------------------------------------


@pytest.mark.parametrize(
    ("received", "expected"),
    [
        # Christmas, a weekend and New Year's Day in between.
        ("2026-12-24T10:00:00+01:00", "2027-01-04T23:59:59+01:00"),
        # The contract's own example.
        ("2026-11-27T14:00:00", "2026-12-04T23:59:59+01:00"),
        ("2026-11-27T14:00:00+01:00", "2026-12-04T23:59:59+01:00"),
    ],
)
def test_contract_examples(received: str, expected: str) -> None:
    assert due(received) == expected


def test_kings_day_2027_is_skipped() -> None:
    # Thu 22 Apr: Fri 23 (1), Mon 26 (2), Tue 27 Koningsdag, Wed 28 (3), Thu 29 (4), Fri 30 (5).
    assert due("2027-04-22T09:00:00+02:00") == "2027-04-30T23:59:59+02:00"


def test_ascension_2027_is_skipped() -> None:
    # Fri 30 Apr: Mon 3 (1), Tue 4 (2), Wed 5 (3), Thu 6 Hemelvaartsdag, Fri 7 (4), Mon 10 (5).
    assert due("2027-04-30T09:00:00+02:00") == "2027-05-10T23:59:59+02:00"


@pytest.mark.parametrize(
    "received",
    ["2026-11-28T10:00:00", "2026-11-28T00:00:00", "2026-11-29T23:59:59"],
    ids=["saturday", "saturday-midnight", "sunday-last-second"],
)
def test_weekend_receipt_is_day_zero(received: str) -> None:
    # Day 0 is the day of receipt even when it is not a working day, so a Saturday and a
    # Sunday report are due on the same Friday as one from the Friday before.
    assert due(received) == "2026-12-04T23:59:59+01:00"


def test_receipt_on_a_holiday() -> None:
    # Easter Monday 2026: Tue 7 (1) ... Mon 13 (5).
    assert due("2026-04-06T11:00:00+02:00") == "2026-04-13T23:59:59+02:00"


def test_receipt_on_kings_day_2026() -> None:
    # Mon 27 Apr 2026: Tue 28 (1), Wed 29 (2), Thu 30 (3), Fri 1 May (4), Mon 4 (5).
    assert due("2026-04-27T11:00:00+02:00") == "2026-05-04T23:59:59+02:00"


def test_good_friday_closed_by_default_open_when_excluded() -> None:
    # Thu 2 Apr 2026; Good Friday 3 Apr and Easter Monday 6 Apr.
    assert due("2026-04-02T10:00:00") == "2026-04-13T23:59:59+02:00"
    assert (
        due("2026-04-02T10:00:00", holidays_exclude=("Goede Vrijdag",))
        == "2026-04-10T23:59:59+02:00"
    )


def test_extra_closed_day() -> None:
    # The office closes between Christmas and New Year: one working day more to wait.
    assert (
        due("2026-12-24T10:00:00", extra_closed_days=(D(2026, 12, 31),))
        == "2027-01-05T23:59:59+01:00"
    )


def test_due_moment_across_october_dst_change() -> None:
    # Summer time ends Sun 25 Oct 2026: the receipt is +02:00, the due moment +01:00.
    received = dt.datetime(2026, 10, 19, 10, 0, tzinfo=AMS)
    assert received.utcoffset() == dt.timedelta(hours=2)
    result = first_response_due(received, DeadlinesConfig())
    assert result.isoformat() == "2026-10-26T23:59:59+01:00"
    assert result.utcoffset() == dt.timedelta(hours=1)
    assert result == dt.datetime(2026, 10, 26, 22, 59, 59, tzinfo=dt.UTC)


# --- holidays, 2025-2030 --------------------------------------------------------------------


def dutch_holidays(year: int) -> dict[str, dt.date]:
    """The days every Dutch employer is closed, worked out without the package."""
    easter = EASTER[year]
    kings_day = D(year, 4, 27)
    if kings_day.weekday() == 6:  # moved to Saturday when the 27th is a Sunday
        kings_day = D(year, 4, 26)
    return {
        "Nieuwjaarsdag": D(year, 1, 1),
        "Tweede paasdag": easter + dt.timedelta(days=1),
        "Koningsdag": kings_day,
        "Hemelvaartsdag": easter + dt.timedelta(days=39),
        "Tweede pinksterdag": easter + dt.timedelta(days=50),
        "Eerste kerstdag": D(year, 12, 25),
        "Tweede kerstdag": D(year, 12, 26),
    }


@pytest.mark.parametrize("year", YEARS)
def test_public_holidays_are_closed(year: int) -> None:
    cal = calendar()
    for name, day in dutch_holidays(year).items():
        assert cal.closed_reason(day) == name, (name, day)
        assert not cal.is_workday(day)


@pytest.mark.parametrize("year", YEARS)
def test_good_friday_is_a_package_holiday_unless_excluded(year: int) -> None:
    good_friday = EASTER[year] - dt.timedelta(days=2)
    assert good_friday.weekday() == 4
    assert calendar().closed_reason(good_friday) == "Goede vrijdag"
    for spelling in ("Goede Vrijdag", "goede vrijdag", "Good Friday", "GOOD  FRIDAY"):
        assert calendar(holidays_exclude=(spelling,)).is_workday(good_friday), spelling


def test_kings_day_2025_moves_to_saturday_26_april() -> None:
    cal = calendar()
    assert D(2025, 4, 27).weekday() == 6
    assert cal.closed_reason(D(2025, 4, 26)) == "Koningsdag"
    assert cal.closed_reason(D(2025, 4, 27)) == "weekend"
    assert cal.is_workday(D(2025, 4, 28))


def test_kings_day_on_saturday_is_not_moved() -> None:
    # Only a Sunday moves it; 27 Apr 2030 is a Saturday and stays.
    assert calendar().closed_reason(D(2030, 4, 27)) == "Koningsdag"
    assert calendar().is_workday(D(2030, 4, 26))


def test_the_only_closed_weekdays_are_the_holidays() -> None:
    # Nothing else, 2025-2030, is closed on a weekday: no unexpected package holiday.
    expected: set[dt.date] = set()
    for year in YEARS:
        expected |= set(dutch_holidays(year).values())
        expected.add(EASTER[year] - dt.timedelta(days=2))  # Good Friday
    expected |= {D(2025, 5, 5), D(2030, 5, 5)}  # lustrum Liberation Days
    cal = calendar()
    closed_weekdays = {d for d in every_day() if d.weekday() < 5 and not cal.is_workday(d)}
    assert closed_weekdays == {d for d in expected if d.weekday() < 5}


@pytest.mark.parametrize(
    ("spelling", "day"),
    [
        ("Koningsdag", D(2026, 4, 27)),
        ("King's Day", D(2026, 4, 27)),
        ("king’s day", D(2026, 4, 27)),
        ("Hemelvaartsdag", D(2027, 5, 6)),
        ("Ascension Day", D(2027, 5, 6)),
        ("Tweede pinksterdag", D(2027, 5, 17)),
        ("Pentecost Monday", D(2027, 5, 17)),
        ("Whit Monday", D(2027, 5, 17)),
        ("Tweede kerstdag", D(2029, 12, 26)),
        ("Second Day of Christmas", D(2029, 12, 26)),
        ("Boxing Day", D(2029, 12, 26)),
        ("Nieuwjaarsdag", D(2027, 1, 1)),
        ("New Year's Day", D(2027, 1, 1)),
    ],
)
def test_holidays_exclude_matches_dutch_and_english_names(spelling: str, day: dt.date) -> None:
    assert not calendar().is_workday(day)
    assert calendar(holidays_exclude=(spelling,)).is_workday(day)


def test_holidays_exclude_affects_only_the_named_holiday() -> None:
    cal = calendar(holidays_exclude=("Good Friday",))
    assert cal.is_workday(D(2026, 4, 3))
    assert not cal.is_workday(D(2026, 4, 6))  # Easter Monday stays closed


# --- Liberation Day -------------------------------------------------------------------------


def test_liberation_day_lustrum_2025_closed_by_default() -> None:
    assert calendar().closed_reason(D(2025, 5, 5)) == "Bevrijdingsdag"


def test_liberation_day_2026_open_by_default_closed_every_year_when_configured() -> None:
    assert calendar().is_workday(D(2026, 5, 5))
    assert calendar(liberation_day_every_year=True).closed_reason(D(2026, 5, 5)) == (
        "Bevrijdingsdag"
    )


@pytest.mark.parametrize("year", YEARS)
def test_liberation_day_every_year(year: int) -> None:
    liberation = D(year, 5, 5)
    assert not calendar(liberation_day_every_year=True).is_workday(liberation)
    if liberation.weekday() < 5:
        assert calendar().is_workday(liberation) == (year % 5 != 0)


def test_liberation_day_every_year_moves_a_deadline() -> None:
    # Fri 30 Apr 2027 with Wed 5 May closed too: Mon 3, Tue 4, Fri 7, Mon 10, Tue 11.
    assert due("2027-04-30T09:00:00", liberation_day_every_year=True) == "2027-05-11T23:59:59+02:00"


@pytest.mark.parametrize("spelling", ["Bevrijdingsdag", "Liberation Day"])
def test_excluding_liberation_day_wins(spelling: str) -> None:
    assert calendar(holidays_exclude=(spelling,)).is_workday(D(2025, 5, 5))
    cal = calendar(holidays_exclude=(spelling,), liberation_day_every_year=True)
    assert cal.is_workday(D(2026, 5, 5))


# --- time zones and daylight-saving time ----------------------------------------------------


@pytest.mark.parametrize(
    "received",
    [
        "2026-11-26T23:30:00+00:00",  # 00:30 on Friday in Amsterdam
        "2026-11-26T23:30:00Z",
        "2026-11-26T18:30:00-05:00",  # New York, same instant
        "2026-11-27T00:30:00",  # naive: already Amsterdam time
    ],
)
def test_the_local_day_counts_not_the_utc_day(received: str) -> None:
    # Taken as Thursday the report would be due on Thursday 3 December.
    assert due(received) == "2026-12-04T23:59:59+01:00"


def test_late_utc_evening_in_summer_is_already_tomorrow() -> None:
    # 22:30 UTC is 00:30 CEST on Sat 13 Jun 2026, so day 0 is Saturday.
    assert due("2026-06-12T22:30:00+00:00") == "2026-06-19T23:59:59+02:00"
    assert due("2026-06-12T21:59:59+00:00") == "2026-06-19T23:59:59+02:00"  # Friday 23:59:59


def test_last_second_of_the_day_is_still_that_day() -> None:
    assert due("2026-11-26T23:59:59") == "2026-12-03T23:59:59+01:00"
    assert due("2026-11-27T00:00:00") == "2026-12-04T23:59:59+01:00"


def test_timezone_comes_from_the_config() -> None:
    assert due("2026-11-26T23:30:00+00:00", timezone="UTC") == "2026-12-03T23:59:59+00:00"
    assert due("2026-11-26T23:30:00", timezone="UTC") == "2026-12-03T23:59:59+00:00"


def test_due_moment_across_march_dst_change() -> None:
    # Summer time starts Sun 29 Mar 2026: the receipt is +01:00, the due moment +02:00.
    assert due("2026-03-23T10:00:00") == "2026-03-30T23:59:59+02:00"


def test_due_day_on_the_dst_day_itself() -> None:
    # With every day a working day the due day can be the 25-hour or the 23-hour day.
    every = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    assert due("2026-10-24T12:00:00", workdays=every, first_response_workdays=1) == (
        "2026-10-25T23:59:59+01:00"
    )
    assert due("2026-03-28T12:00:00", workdays=every, first_response_workdays=1) == (
        "2026-03-29T23:59:59+02:00"
    )


def test_receipt_in_the_repeated_hour_of_october() -> None:
    # 02:30 happens twice on Sun 25 Oct 2026; either way day 0 is Sunday: Mon 26 (1) .. Fri 30.
    for fold in (0, 1):
        received = dt.datetime(2026, 10, 25, 2, 30, fold=fold, tzinfo=AMS)
        assert first_response_due(received, DeadlinesConfig()).isoformat() == (
            "2026-10-30T23:59:59+01:00"
        )


# --- other configurations -------------------------------------------------------------------


def test_custom_workdays_monday_to_thursday() -> None:
    mon_thu = ("mon", "tue", "wed", "thu")
    # Thu 26 Nov 2026: Mon 30 (1), Tue 1 (2), Wed 2 (3), Thu 3 (4), Mon 7 (5).
    assert due("2026-11-26T10:00:00", workdays=mon_thu) == "2026-12-07T23:59:59+01:00"
    assert calendar(workdays=mon_thu).closed_reason(D(2026, 11, 27)) == "non-working weekday"


@pytest.mark.parametrize(
    ("workdays", "expected"),
    [
        (1, "2026-11-30T23:59:59+01:00"),
        (3, "2026-12-02T23:59:59+01:00"),
        (10, "2026-12-11T23:59:59+01:00"),
        # 15: Fri 27 Nov + 15 crosses Christmas (Fri 25 Dec, Sat 26 Dec).
        (15, "2026-12-18T23:59:59+01:00"),
        (20, "2026-12-28T23:59:59+01:00"),
    ],
)
def test_first_response_workdays_other_than_five(workdays: int, expected: str) -> None:
    assert due("2026-11-27T14:00:00", first_response_workdays=workdays) == expected


def test_due_moment_takes_any_calendar_and_zone() -> None:
    cal = Calendar(workdays=frozenset(range(5)), holidays_exclude=frozenset({"Goede Vrijdag"}))
    received = dt.datetime(2026, 4, 2, 10, tzinfo=AMS)
    assert due_moment(received, 5, cal, AMS).isoformat() == "2026-04-10T23:59:59+02:00"


# --- helpers for the reminder and progress-update jobs --------------------------------------


def test_previous_workday() -> None:
    cal = calendar()
    assert cal.previous_workday(D(2026, 12, 4)) == D(2026, 12, 3)
    assert cal.previous_workday(D(2026, 11, 30)) == D(2026, 11, 27)  # over a weekend
    assert cal.previous_workday(D(2027, 1, 4)) == D(2026, 12, 31)  # over New Year's Day
    assert cal.previous_workday(D(2026, 4, 7)) == D(2026, 4, 2)  # over Easter
    assert cal.previous_workday(D(2026, 11, 29)) == D(2026, 11, 27)  # from a Sunday


def test_workdays_between() -> None:
    cal = calendar()
    assert cal.workdays_between(D(2026, 11, 27), D(2026, 12, 4)) == 5
    assert cal.workdays_between(D(2026, 11, 27), D(2026, 11, 29)) == 0  # the weekend only
    assert cal.workdays_between(D(2026, 11, 27), D(2026, 11, 27)) == 0
    assert cal.workdays_between(D(2026, 12, 4), D(2026, 11, 27)) == 0  # backwards
    assert cal.workdays_between(D(2026, 12, 24), D(2027, 1, 4)) == 5
    assert cal.workdays_between(D(2025, 12, 31), D(2026, 12, 31)) == 254


def test_add_workdays_edges() -> None:
    cal = calendar()
    assert cal.add_workdays(D(2026, 11, 28), 0) == D(2026, 11, 28)
    assert cal.add_workdays(D(2026, 11, 28), 1) == D(2026, 11, 30)
    with pytest.raises(ValueError, match="negative"):
        cal.add_workdays(D(2026, 11, 28), -1)


def test_a_calendar_without_working_weekdays_is_refused() -> None:
    # Otherwise add_workdays would never return and the daemon would hang.
    with pytest.raises(ValueError, match="at least one"):
        calendar(workdays=())
    with pytest.raises(ValueError, match="0-6"):
        Calendar(workdays=frozenset({7}))


def test_extra_closed_day_reason_and_weekend_reason() -> None:
    cal = calendar(extra_closed_days=(D(2026, 12, 31),))
    assert cal.closed_reason(D(2026, 12, 31)) == "closed"
    assert cal.closed_reason(D(2026, 12, 30)) is None
    assert cal.closed_reason(D(2026, 11, 28)) == "weekend"
    assert cal.closed_reason(D(2026, 12, 26)) == "Tweede kerstdag"  # a Saturday holiday


def test_local_day_and_end_of_day() -> None:
    assert local_day(dt.datetime(2026, 11, 26, 23, 30, tzinfo=dt.UTC), AMS) == D(2026, 11, 27)
    assert local_day(dt.datetime(2026, 11, 26, 23, 30), AMS) == D(2026, 11, 26)
    assert end_of_day(D(2026, 10, 24), AMS).isoformat() == "2026-10-24T23:59:59+02:00"
    assert end_of_day(D(2026, 10, 25), AMS).isoformat() == "2026-10-25T23:59:59+01:00"


def test_unknown_holiday_names_for_config_validation() -> None:
    names = ("Goede Vrijdag", "Good Friday", "Koningsdag", "Bevrijdingsdag", "Goede Vrijdg")
    assert unknown_holiday_names(names) == ("Goede Vrijdg",)
    assert {"goede vrijdag", "good friday", "koningsdag", "king's day"} <= known_holiday_names()
    assert normalise_holiday_name("  King’s   DAY ") == "king's day"


def test_weekday_names_agree_with_the_config() -> None:
    for number, name in enumerate(WEEKDAYS):
        cal = calendar(workdays=(name,))
        assert cal.workdays == frozenset({number})


# --- the definition, checked for every day of 2025-2030 -------------------------------------

CALENDARS = {
    "default": {},
    "good-friday-open-liberation-every-year": {
        "holidays_exclude": ("Goede Vrijdag",),
        "liberation_day_every_year": True,
        "extra_closed_days": (D(2026, 12, 31), D(2028, 12, 27)),
    },
    "mon-thu": {"workdays": ("mon", "tue", "wed", "thu")},
}


@pytest.mark.parametrize("n", [1, 5, 10])
@pytest.mark.parametrize("name", list(CALENDARS))
def test_due_day_is_the_nth_working_day_after_receipt(name: str, n: int) -> None:
    config = DeadlinesConfig(first_response_workdays=n, **CALENDARS[name])  # type: ignore[arg-type]
    cal = Calendar.from_config(config)
    for received_day in every_day():
        # Noon local: the hour of receipt must not matter, only its local day.
        received = dt.datetime.combine(received_day, dt.time(12), tzinfo=AMS)
        moment = first_response_due(received, config)
        due_day = moment.date()
        assert moment.timetz() == END_OF_DAY.replace(tzinfo=AMS)
        assert moment.utcoffset() == AMS.utcoffset(dt.datetime.combine(due_day, END_OF_DAY))
        assert due_day > received_day
        assert cal.is_workday(due_day)
        assert cal.workdays_between(received_day, due_day) == n
        # ... and it is the first day to reach n: the day before has one working day fewer.
        assert cal.workdays_between(received_day, due_day - dt.timedelta(days=1)) == n - 1
        if n > 1:
            assert cal.previous_workday(due_day) == cal.add_workdays(received_day, n - 1)
        else:
            assert cal.previous_workday(due_day) <= received_day
