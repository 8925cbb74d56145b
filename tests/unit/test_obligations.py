"""The reporting clocks' arithmetic (issue 17): calendar hours, not working days; a month is
a calendar month in the desk's time zone; each notice owed once, the latest first."""

from __future__ import annotations

import datetime as dt

import pytest

from mailtriage.config import ObligationsConfig
from mailtriage.policy.obligations import Notice, add_months, owed_notice, step_start_and_due
from tests.support.clock import AMSTERDAM, local

FRIDAY_17 = local(2026, 11, 27, 17, 0)
DEFAULTS = ObligationsConfig()


def test_an_incident_on_friday_evening_is_due_on_saturday_monday_and_a_month_later() -> None:
    dues = {
        step: step_start_and_due("incident", step, FRIDAY_17, DEFAULTS, AMSTERDAM)[1]
        for step in ("early-warning", "notification", "final")
    }
    assert dues == {
        "early-warning": local(2026, 11, 28, 17, 0),  # Saturday: weekends count
        "notification": local(2026, 11, 30, 17, 0),
        "final": local(2026, 12, 27, 17, 0),
    }


def test_hours_are_elapsed_hours_across_the_end_of_summer_time() -> None:
    # Saturday 24 October 2026 12:00 CEST + 24 h = Sunday 11:00 CET (the night had 25 hours).
    start = local(2026, 10, 24, 12, 0)
    _, due = step_start_and_due("incident", "early-warning", start, DEFAULTS, AMSTERDAM)
    assert due is not None
    assert due.astimezone(dt.UTC) - start.astimezone(dt.UTC) == dt.timedelta(hours=24)
    assert due == local(2026, 10, 25, 11, 0)


def test_a_month_keeps_the_local_time_and_ends_on_the_last_day_of_a_short_month() -> None:
    assert add_months(local(2027, 1, 31, 9, 30), 1, AMSTERDAM) == local(2027, 2, 28, 9, 30)
    assert add_months(local(2026, 12, 15, 8, 0), 1, AMSTERDAM) == local(2027, 1, 15, 8, 0)
    # Across the start of summer time: 09:30 stays 09:30 local.
    assert add_months(local(2027, 3, 10, 9, 30), 1, AMSTERDAM) == local(2027, 4, 10, 9, 30)


def test_an_exploited_final_report_waits_for_resolved_then_runs_14_days() -> None:
    assert step_start_and_due("exploited", "final", FRIDAY_17, DEFAULTS, AMSTERDAM) == (None, None)
    resolved = local(2026, 12, 3, 10, 0)
    begins, due = step_start_and_due(
        "exploited", "final", FRIDAY_17, DEFAULTS, AMSTERDAM, resolved=resolved
    )
    assert (begins, due) == (resolved, local(2026, 12, 17, 10, 0))
    # Resolved before the clock started: the 14 days run from the start.
    earlier = local(2026, 11, 20, 10, 0)
    begins, due = step_start_and_due(
        "exploited", "final", FRIDAY_17, DEFAULTS, AMSTERDAM, resolved=earlier
    )
    assert (begins, due) == (FRIDAY_17, FRIDAY_17 + dt.timedelta(days=14))


def test_configured_durations_are_used() -> None:
    short = ObligationsConfig(early_warning_hours=4, notification_hours=10)
    _, due = step_start_and_due("exploited", "early-warning", FRIDAY_17, short, AMSTERDAM)
    assert due == FRIDAY_17 + dt.timedelta(hours=4)


@pytest.mark.parametrize(
    ("hours_after_start", "sent", "owed"),
    [
        (11.9, set(), None),
        (12, set(), Notice.HALF),  # half of 24 h
        (13, {Notice.HALF}, None),
        (22, {Notice.HALF}, Notice.SOON),  # 2 h before
        (22, set(), Notice.SOON),  # the desk was down at half time: only the later one
        (23.9, {Notice.SOON}, None),
        (24, {Notice.HALF, Notice.SOON}, Notice.ESCALATION),
        (30, set(), Notice.ESCALATION),
        (48, {Notice.ESCALATION}, None),  # escalated once
        (12, {Notice.SOON}, None),  # never a stale reminder after a later one
    ],
)
def test_each_notice_is_owed_once_and_only_the_latest(
    hours_after_start: float, sent: set[Notice], owed: Notice | None
) -> None:
    due = FRIDAY_17 + dt.timedelta(hours=24)
    now = FRIDAY_17 + dt.timedelta(hours=hours_after_start)
    assert owed_notice(FRIDAY_17, due, now, frozenset(sent)) == owed


def test_the_daemon_looks_at_the_clocks_every_few_minutes() -> None:
    # A "2 hours before" reminder that comes an hour late is worth little: the scheduler
    # runs the obligation job far more often than the working-day jobs.
    from mailtriage.service.daemon import SCHEDULE

    assert dict(SCHEDULE)["obligations"] <= 300
