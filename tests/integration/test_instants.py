"""The desk behaves the same at any instant: a working-day evening, a weekend, a holiday, the
night the clocks change, the hour it is already next year in Amsterdam but not in UTC.

The suite once passed only because it ran on a weekend: on a Dutch working day after the
digest time, the first pass also sent the staff digest and every test counting staff mail
failed. Here each instant is chosen on purpose, through the desk's clock, and what a reporter
and the staff receive at that instant is checked: one acknowledgement with the due date the
Dutch calendar gives, one notification of the new case, and a digest exactly when one is owed
— once per working day, however many passes run.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pytest

from mailtriage.outgoing.dates import format_date
from tests.support.clock import (
    CHRISTMAS,
    DST_END_NIGHT,
    DST_START_NIGHT,
    NEW_YEAR_IN_AMSTERDAM,
    SATURDAY,
    WORKDAY_EVENING,
    local,
)
from tests.support.desk import STAFF_NOTIFY, Desk, body_text
from tests.support.dovecot import Dovecot
from tests.support.mails import make_mail
from tests.support.smtp import Received, SmtpServer

pytestmark = pytest.mark.integration

REPORTER = "Ilse Jansen <ilse.jansen@example.test>"
REPORTER_ADDRESS = "ilse.jansen@example.test"
REPORT = (
    "Beste beveiligingsteam,\n\nOp https://portaal.example.nl/login is het wachtwoordveld "
    "vatbaar voor SQL-injectie. Gevonden op 20 november om 14:00.\n\nGroet,\nIlse\n"
)


@dataclass(frozen=True)
class Instant:
    at: dt.datetime
    due: str  # the first-assessment due moment the acknowledgement must promise
    year: int  # the year in the case reference: Amsterdam's year, not UTC's
    digest: bool  # whether the pass at this instant owes staff the day's digest


INSTANTS = {
    # Monday 18:30, past the 08:00 digest; due five working days on, Monday 30 November.
    "workday-evening": Instant(WORKDAY_EVENING, "2026-11-30T23:59:59+01:00", 2026, True),
    # Saturday is day 0; Monday to Friday of the next week are the five working days.
    "saturday": Instant(SATURDAY, "2026-12-04T23:59:59+01:00", 2026, False),
    # Christmas, Boxing Day and New Year's Day are closed: due Monday 5 January.
    "christmas": Instant(CHRISTMAS, "2026-01-05T23:59:59+01:00", 2025, False),
    # 02:30 CEST on the night summer time ends; due Friday 31 October, already in CET.
    "dst-end-night": Instant(DST_END_NIGHT, "2025-10-31T23:59:59+01:00", 2025, False),
    # 03:30 CEST on the night summer time starts; Good Friday and Easter Monday are closed.
    "dst-start-night": Instant(DST_START_NIGHT, "2026-04-07T23:59:59+02:00", 2026, False),
    # 23:30 UTC on 31 December is 00:30 on New Year's Day in Amsterdam: a 2026 case.
    "new-year-in-amsterdam": Instant(
        NEW_YEAR_IN_AMSTERDAM, "2026-01-08T23:59:59+01:00", 2026, False
    ),
}


def digests(mails: list[Received]) -> list[Received]:
    return [m for m in mails if str(m.message["Subject"]).startswith("Security desk digest")]


@pytest.mark.parametrize("instant", INSTANTS.values(), ids=INSTANTS.keys())
def test_a_report_at_any_instant_gets_the_mail_that_instant_calls_for(
    tmp_path: Path, dovecot: Dovecot, smtp: SmtpServer, instant: Instant
) -> None:
    desk = Desk(tmp_path, dovecot, smtp, now=instant.at)
    desk.deliver(make_mail(sender=REPORTER, subject="SQL-injectie in het portaal", body=REPORT))
    desk.run_once()

    case = desk.case_of(REPORTER_ADDRESS)
    assert case["ref"] == f"PZEM-SEC-{instant.year}-0001"
    assert dt.datetime.fromisoformat(case["received_at"]) == instant.at
    assert case["first_response_due"] == instant.due

    (ack,) = desk.sent_to(REPORTER_ADDRESS)
    due_day = dt.date.fromisoformat(instant.due[:10])
    assert f"uiterlijk {format_date(due_day, 'nl')}" in " ".join(body_text(ack.raw).split())

    to_staff = desk.sent_to(STAFF_NOTIFY)
    new_case = [m for m in to_staff if str(m.message["Subject"]).startswith(f"[{case['ref']}]")]
    assert len(new_case) == 1, "one notification of the new case"
    assert len(digests(to_staff)) == (1 if instant.digest else 0)
    assert len(to_staff) == len(new_case) + len(digests(to_staff)), "nothing else to staff"

    # An hour later, a second pass: nothing is sent again, the digest included.
    desk.clock.advance(dt.timedelta(hours=1))
    desk.run_once()
    assert desk.sent_to(REPORTER_ADDRESS) == [ack]
    assert desk.sent_to(STAFF_NOTIFY) == to_staff


def test_the_digest_goes_once_each_working_day_and_never_on_a_weekend(
    tmp_path: Path, dovecot: Dovecot, smtp: SmtpServer
) -> None:
    desk = Desk(tmp_path, dovecot, smtp, now=local(2026, 11, 20, 7, 0))  # Friday, before 08:00
    desk.deliver(make_mail(sender=REPORTER, subject="SQL-injectie in het portaal", body=REPORT))
    desk.run_once()
    assert digests(desk.sent_to(STAFF_NOTIFY)) == [], "not before the digest time"

    seen: list[str] = []
    for moment in (
        local(2026, 11, 20, 8, 0),  # Friday at the digest time
        local(2026, 11, 20, 17, 45),  # Friday evening: already sent today
        local(2026, 11, 21, 9, 0),  # Saturday
        local(2026, 11, 22, 9, 0),  # Sunday
        local(2026, 11, 23, 6, 0),  # Monday, early
        local(2026, 11, 23, 8, 5),  # Monday after the digest time
        local(2026, 11, 23, 22, 0),  # Monday evening: the instant that once broke the suite
    ):
        desk.clock.set(moment)
        desk.run_once()
        seen = [str(m.message["Subject"]) for m in digests(desk.sent_to(STAFF_NOTIFY))]

    assert len(seen) == 2, seen
    assert format_date(dt.date(2026, 11, 20), "en") in seen[0]
    assert format_date(dt.date(2026, 11, 23), "en") in seen[1]
    (ack,) = desk.sent_to(REPORTER_ADDRESS)
    sent_at = ack.message["Date"].datetime
    assert sent_at == local(2026, 11, 20, 7, 0), "the Date header is the desk's time"
