"""The desk's time in tests: a clock that moves only when told, and the instants tests name.

The desk reads time only through the clock it is built with (`mailtriage.service.wiring.build`,
`mailtriage.service.cli.main(..., clock=...)`). Tests hand it one of these, so what a test sees does
not depend on the day, hour or year the suite happens to run — `make test` also runs the
integration tests under libfaketime to prove it.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    """An aware datetime in the desk's time zone."""
    return dt.datetime(year, month, day, hour, minute, tzinfo=AMSTERDAM)


# The Desk helper's default: a working day (Tuesday) before the 08:00 digest, so a pass sends
# exactly the mail the test is about. Received then, a report is due Tuesday 1 December.
QUIET_WORKDAY_MORNING = local(2026, 11, 24, 7, 30)

# The Date header test mail carries unless a test gives one: what the sender's client wrote.
MAIL_DATE = QUIET_WORKDAY_MORNING

# Instants at which the suite once broke, or could: each names what makes it hard. All lie in
# the past, because an IMAP server files mail delivered "in the future" at its own now.
WORKDAY_EVENING = local(2026, 11, 23, 18, 30)  # Monday after the digest time: one is owed
SATURDAY = local(2026, 11, 28, 14, 0)
CHRISTMAS = local(2025, 12, 25, 10, 0)  # a Dutch public holiday, on a Thursday
DST_END_NIGHT = dt.datetime(2025, 10, 26, 0, 30, tzinfo=dt.UTC)  # 02:30 CEST, the first time
DST_START_NIGHT = dt.datetime(2026, 3, 29, 1, 30, tzinfo=dt.UTC)  # 03:30 CEST, an hour skipped
NEW_YEAR_IN_AMSTERDAM = dt.datetime(2025, 12, 31, 23, 30, tzinfo=dt.UTC)  # 00:30 on 1 January


class FakeClock:
    """What the desk believes the time is: an aware datetime that moves only when told."""

    def __init__(self, start: dt.datetime) -> None:
        self.set(start)

    def __call__(self) -> dt.datetime:
        return self.now

    def set(self, moment: dt.datetime) -> None:
        assert moment.tzinfo is not None, "the desk's clock is timezone-aware"
        self.now = moment

    def advance(self, delta: dt.timedelta) -> None:
        self.now += delta
