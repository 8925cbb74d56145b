"""The promises the scheduled jobs keep, watched over weeks of fake time (issue 4).

The policy promises a first assessment within five Dutch working days and that the reporter
is kept informed. Nobody is meant to remember either: the jobs remind staff the working day
before a due day, escalate on every working day after it, send the reporter a progress update
when a case under investigation has been silent for the configured interval, and send staff a
digest each working-day morning. Whether they do so on the right days, exactly once, across
weekends, Christmas and a restart, is only visible by living through those days. So these
tests drive the real code (a real SQLite store, the real outbox, a real SMTP server on
loopback) with a clock that is an aware datetime the test moves forward: days pass in
milliseconds, nothing sleeps, and the mail is read as staff and reporters would receive it.
They also pin the other half of the promise: a date once written to a reporter never moves,
whatever the calendar config later says.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, Literal

import pytest
from sqlalchemy import select

from mailtriage.config import load_config
from mailtriage.outgoing.dates import format_date
from mailtriage.policy.cases import State
from mailtriage.service.cli import main
from mailtriage.service.wiring import build
from mailtriage.store.models import Case
from tests.support.clock import AMSTERDAM, FakeClock, local
from tests.support.config import write_config
from tests.support.desk import body_text
from tests.support.mails import make_mail
from tests.support.smtp import Received, SmtpServer

pytestmark = pytest.mark.integration

STAFF_NOTIFY = "security-team@example.nl"
TAG = re.compile(r"\[(PZEM-SEC-\d{4}-\d{4})\]")

# When the test "looks at the clock" on each day: early, office hours, evening, just before
# midnight. Enough to catch a job that fires twice a day or on the wrong side of midnight.
STEP_TIMES = (dt.time(7, 0), dt.time(9, 30), dt.time(13, 0), dt.time(18, 0), dt.time(23, 30))

PIETER = "Pieter Jansen <pieter.jansen@example.test>"
EMMA = "Emma Clarke <emma.clarke@example.test>"
SANNE = "Sanne de Wit <sanne.dewit@example.test>"
JOOST = "Joost Bakker <joost.bakker@example.test>"
LINDA = "Linda Smit <linda.smit@example.test>"

DUTCH_REPORT = (
    "Hallo,\n\nOp https://portal.example.nl/zoek wordt wat je in het zoekveld typt zonder "
    "codering in de pagina gezet, zodat een link script kan uitvoeren in de browser van "
    "iedereen die hem opent. Ik zag dit vandaag om 13:40.\n\nMet vriendelijke groet,\n{name}\n"
)
ENGLISH_REPORT = (
    "Hello,\n\nThe password reset form at https://mijn.example.nl/reset tells an attacker "
    "whether an account exists, and it has no rate limit, so customer addresses can be "
    "enumerated. I tested this today at 08:55.\n\nKind regards,\n{name}\n"
)


def address(person: str) -> str:
    return person.split("<", 1)[1].rstrip(">")


def name(person: str) -> str:
    return person.split("<", 1)[0].strip()


def moments(
    first: dt.date, last: dt.date, times: Sequence[dt.time] = STEP_TIMES
) -> Iterator[dt.datetime]:
    """Every `times` of every day from `first` to `last` inclusive, in Amsterdam time."""
    day = first
    while day <= last:
        for at in times:
            yield dt.datetime.combine(day, at, tzinfo=AMSTERDAM)
        day += dt.timedelta(days=1)


def squeeze(text: str) -> str:
    """Text with every run of whitespace made one space, so line wrapping does not matter."""
    return " ".join(text.split())


@dataclass(frozen=True)
class Arrival:
    """A mail the SMTP server accepted, and the fake (local) time of the step that sent it."""

    at: dt.datetime
    mail: Received

    @property
    def subject(self) -> str:
        return str(self.mail.message["Subject"])

    @property
    def text(self) -> str:
        """The decoded body, with the wire's CRLF line ends made plain newlines."""
        return body_text(self.mail.raw).replace("\r\n", "\n")


class Process:
    """What `mailtriage run` holds in memory. A new one over the same files is a restart."""

    def __init__(self, config_path: Path, clock: FakeClock) -> None:
        self.app = build(load_config(config_path), clock)
        self.store = self.app.store
        self.intake = self.app.intake
        self.sender = self.app.sender
        self.jobs = self.app.jobs

    def stop(self) -> None:
        self.app.close()


JobName = Literal["first_response_reminders", "progress_updates", "digest", "run_all"]


class Rig:
    """A security desk on a fake clock: config file, store, a running process, real SMTP."""

    def __init__(self, root: Path, smtp: SmtpServer, deadlines: dict[str, Any]) -> None:
        self.root = root
        self.smtp = smtp
        self.clock = FakeClock(local(2026, 1, 1))
        self.arrivals: list[Arrival] = []
        self.config_path = self.write_config(deadlines)
        self.process = Process(self.config_path, self.clock)

    def write_config(self, deadlines: dict[str, Any]) -> Path:
        return write_config(
            self.root,
            {
                "smtp": {**self.smtp.smtp_config(), "timeout_seconds": 5},
                "cases": {"staff_notify": STAFF_NOTIFY},
                "deadlines": deadlines,
            },
        )

    def restart(self) -> None:
        """Stop the process and start a new one on the same store and (current) config file."""
        self.process.stop()
        self.process = Process(self.config_path, self.clock)

    def stop(self) -> None:
        self.process.stop()

    # -- time and work ---------------------------------------------------------------------

    def report(self, person: str, at: dt.datetime, body: str = DUTCH_REPORT) -> str:
        """A report from `person` arrives at `at`, is ingested and answered; its reference."""
        self.clock.set(at)
        raw = make_mail(
            sender=person,
            subject="Kwetsbaarheid gevonden / vulnerability found",
            body=body.format(name=name(person)),
            date=at,
        )
        report = self.process.intake.ingest_raw(raw)
        assert report.cases_opened == 1, report
        self.deliver()
        return report.opened_refs[0]

    def step(self, at: dt.datetime, *jobs: JobName) -> list[Arrival]:
        """Move the clock to `at`, run `jobs` in order, deliver the outbox; what arrived."""
        self.clock.set(at)
        for job in jobs:
            run: Callable[[], object] = getattr(self.process.jobs, job)
            run()
        return self.deliver()

    def deliver(self) -> list[Arrival]:
        seen = len(self.smtp.received)
        report = self.process.sender.deliver_due()
        assert report.failed == 0 and report.deferred == 0, report
        new = [Arrival(self.clock.now, mail) for mail in self.smtp.received[seen:]]
        self.arrivals.extend(new)
        return new

    def set_case(self, ref: str, **values: Any) -> None:
        with self.process.store.session() as session:
            case = session.scalars(select(Case).where(Case.ref == ref)).one()
            for key, value in values.items():
                setattr(case, key, value)

    # -- what came out ---------------------------------------------------------------------

    def to(self, person_or_address: str) -> list[Arrival]:
        wanted = address(person_or_address) if "<" in person_or_address else person_or_address
        return [a for a in self.arrivals if wanted in a.mail.recipients]

    def staff(self, subject_part: str, ref: str | None = None) -> list[Arrival]:
        return [
            a
            for a in self.to(STAFF_NOTIFY)
            if subject_part in a.subject and (ref is None or f"[{ref}]" in a.subject)
        ]

    def cli(self, *args: str) -> str:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = main(["--config", str(self.config_path), *args])
        assert code == 0, f"mailtriage {' '.join(args)} exited {code}"
        return out.getvalue()

    def case(self, ref: str) -> dict[str, Any]:
        result: dict[str, Any] = json.loads(self.cli("case", ref, "--json"))
        return result


@pytest.fixture
def make_rig(tmp_path: Path, smtp: SmtpServer) -> Iterator[Callable[..., Rig]]:
    rigs: list[Rig] = []

    def make(**deadlines: Any) -> Rig:
        rig = Rig(tmp_path, smtp, deadlines)
        rigs.append(rig)
        return rig

    yield make
    for rig in rigs:
        rig.stop()


def days_of(arrivals: list[Arrival]) -> list[dt.date]:
    return [a.at.date() for a in arrivals]


def assert_no_reporter_in(arrivals: list[Arrival], *people: str) -> None:
    """Staff copies outlive the purge: they must not carry the reporter's address or name."""
    for arrival in arrivals:
        for person in people:
            for secret in (address(person), name(person)):
                assert secret.lower().encode() not in arrival.mail.raw.lower(), arrival.subject
                assert secret.lower() not in arrival.text.lower(), arrival.subject


# ------------------------------------------------- 2. a promise does not move with the calendar


def test_a_calendar_change_after_the_acknowledgement_leaves_the_promised_date_alone(
    make_rig: Callable[..., Rig],
) -> None:
    rig = make_rig()
    received = local(2026, 11, 27, 14, 0)
    ref = rig.report(PIETER, received)
    (ack,) = rig.to(PIETER)
    before = rig.case(ref)
    assert before["first_response_due"] == "2026-12-04T23:59:59+01:00"
    assert "uiterlijk vrijdag 4 december 2026" in squeeze(ack.text)
    assert rig.cli("deadline", "2026-11-27T14:00").strip() == "2026-12-04T23:59:59+01:00"

    # The operator closes the office Monday to Thursday of the following week and opens it
    # on Christmas and New Year; the daemon is restarted with that config.
    rig.write_config(
        {
            "extra_closed_days": ["2026-11-30", "2026-12-01", "2026-12-02", "2026-12-03"],
            "holidays_exclude": ["Eerste kerstdag", "Tweede kerstdag", "Nieuwjaarsdag"],
        }
    )
    rig.restart()
    for at in (
        local(2026, 11, 27, 18, 0),
        local(2026, 11, 30, 10, 0),
        local(2026, 12, 3, 10, 0),
        local(2026, 12, 4, 10, 0),
        local(2026, 12, 7, 10, 0),
    ):
        rig.step(at, "run_all")

    after = rig.case(ref)
    assert after["first_response_due"] == before["first_response_due"]
    assert after["received_at"] == before["received_at"]
    assert rig.to(PIETER) == [ack], "no second acknowledgement, no corrected date"
    assert "uiterlijk vrijdag 4 december 2026" in squeeze(ack.text)
    # The jobs too work from the stored due moment; the new calendar only decides which days
    # are working days: with Mon-Thu closed, the working day before Friday 4th is today.
    reminders = rig.staff("Reminder:", ref)
    escalations = rig.staff("OVERDUE:", ref)
    assert [a.at for a in reminders] == [local(2026, 11, 27, 18, 0)]
    assert [a.at for a in escalations] == [local(2026, 12, 7, 10, 0)]
    for arrival in reminders + escalations:
        assert "Friday 4 December 2026" in arrival.subject
    assert "now 1 working day overdue" in squeeze(escalations[0].text)
    # The same receipt time, asked now, gets the new calendar's (later) answer.
    assert rig.cli("deadline", "2026-11-27T14:00").strip() == "2026-12-10T23:59:59+01:00"


def test_an_acknowledgement_still_in_the_outbox_when_the_calendar_changes_keeps_its_date(
    make_rig: Callable[..., Rig], smtp: SmtpServer
) -> None:
    rig = make_rig()
    smtp.stop()  # the SMTP server is down when the report comes in: the ack has to wait
    received = local(2026, 12, 24, 10, 0)
    rig.clock.set(received)
    raw = make_mail(sender=SANNE, body=DUTCH_REPORT.format(name=name(SANNE)), date=received)
    ref = rig.process.intake.ingest_raw(raw).opened_refs[0]
    assert rig.process.sender.deliver_due().deferred == 1
    assert rig.case(ref)["first_response_due"] == "2027-01-04T23:59:59+01:00"

    rig.write_config({"holidays_exclude": ["Christmas Day", "Second Day of Christmas"]})
    rig.restart()
    smtp.start()
    rig.step(local(2026, 12, 24, 11, 0))  # the retry is due by now

    (ack,) = rig.to(SANNE)
    assert "uiterlijk maandag 4 januari 2027" in squeeze(ack.text)
    assert rig.case(ref)["first_response_due"] == "2027-01-04T23:59:59+01:00"
    # With Christmas a working day the same receipt would now be due four days earlier.
    assert rig.cli("deadline", "2026-12-24T10:00").strip() == "2026-12-31T23:59:59+01:00"


# ------------------------------------------------- 3a. reminders and escalations


def test_an_unanswered_report_gets_one_reminder_and_one_escalation_per_working_day(
    make_rig: Callable[..., Rig],
) -> None:
    rig = make_rig()
    received = local(2026, 11, 27, 14, 0)  # a Friday
    ref = rig.report(PIETER, received)
    assert rig.case(ref)["first_response_due"] == "2026-12-04T23:59:59+01:00"

    # One restart the morning after the reminder went out, one the afternoon after an
    # escalation: a new process must not repeat either.
    restarts = {local(2026, 12, 3, 9, 30), local(2026, 12, 8, 13, 0)}
    for at in moments(dt.date(2026, 11, 27), dt.date(2026, 12, 10)):
        if at < received:
            continue
        if at in restarts:
            rig.restart()
        rig.step(at, "first_response_reminders")

    reminders = rig.staff("Reminder:", ref)
    # Thursday, the working day before the due Friday; the first look at the clock that day.
    assert [r.at for r in reminders] == [local(2026, 12, 3, 7, 0)]
    assert "Friday 4 December 2026" in reminders[0].subject

    escalations = rig.staff("OVERDUE:", ref)
    # None on Friday before the end of the day, none at the weekend, one on each working day.
    assert days_of(escalations) == [
        dt.date(2026, 12, 7),
        dt.date(2026, 12, 8),
        dt.date(2026, 12, 9),
        dt.date(2026, 12, 10),
    ]
    for overdue, escalation in enumerate(escalations, start=1):
        plural = "" if overdue == 1 else "s"
        assert f"now {overdue} working day{plural} overdue" in squeeze(escalation.text)

    # Nothing else reached staff, and the reporter only ever got the acknowledgement.
    staff_kinds = [a.subject for a in rig.to(STAFF_NOTIFY)]
    assert len(staff_kinds) == 1 + len(reminders) + len(escalations), staff_kinds
    assert len(rig.to(PIETER)) == 1
    assert_no_reporter_in(reminders + escalations, PIETER)

    timeline = [e["kind"] for e in rig.case(ref)["timeline"]]
    assert timeline.count("reminder") == 1
    assert timeline.count("escalation") == 4


def test_a_report_received_before_christmas_is_reminded_the_working_day_before_it_is_due(
    make_rig: Callable[..., Rig],
) -> None:
    rig = make_rig()
    received = local(2026, 12, 24, 10, 0)  # Thursday before Christmas
    ref = rig.report(JOOST, received)
    # Christmas (Fri, Sat), the weekend and New Year's Day (Fri) do not count.
    assert rig.case(ref)["first_response_due"] == "2027-01-04T23:59:59+01:00"

    # Staff finally answer on Wednesday 6 January at noon (set in the store: the relay that
    # does this by mail comes in a later issue); escalations must stop there.
    answered = local(2027, 1, 6, 12, 0)
    for at in moments(dt.date(2026, 12, 24), dt.date(2027, 1, 8)):
        if at < received:
            continue
        if at > answered and rig.case(ref)["first_response_at"] is None:
            rig.set_case(ref, state=State.TRIAGED, first_response_at=answered)
        rig.step(at, "first_response_reminders")

    reminders = rig.staff("Reminder:", ref)
    assert days_of(reminders) == [dt.date(2026, 12, 31)]
    assert "Monday 4 January 2027" in reminders[0].subject
    escalations = rig.staff("OVERDUE:", ref)
    assert days_of(escalations) == [dt.date(2027, 1, 5), dt.date(2027, 1, 6)]
    holidays = {dt.date(2026, 12, 25), dt.date(2026, 12, 26), dt.date(2027, 1, 1)}
    assert not holidays & set(days_of(reminders + escalations))


# ------------------------------------------------- 3b. progress updates


def test_a_triaged_case_silent_for_the_interval_gets_one_progress_update_at_a_time(
    make_rig: Callable[..., Rig],
) -> None:
    rig = make_rig(update_interval_workdays=3)
    triaged = rig.report(EMMA, local(2026, 12, 2, 9, 0), ENGLISH_REPORT)  # a Wednesday
    waiting = rig.report(LINDA, local(2026, 12, 2, 9, 10), ENGLISH_REPORT)
    closed = rig.report(SANNE, local(2026, 12, 2, 9, 20))
    assert rig.case(triaged)["language"] == "en"

    # Staff give the first assessment the same afternoon. The staff commands that do this
    # by mail (#status, the relayed answer) come in a later issue, so the test sets the
    # state in the store the way they will; the last mail to the reporter stays the ack.
    answered = local(2026, 12, 2, 15, 0)
    rig.set_case(triaged, state=State.TRIAGED, first_response_at=answered)
    rig.set_case(
        closed,
        state=State.CLOSED,
        close_reason="fixed",
        first_response_at=answered,
        closed_at=answered,
    )

    for at in moments(dt.date(2026, 12, 2), dt.date(2026, 12, 16), (dt.time(10), dt.time(16))):
        if at > answered:
            rig.step(at, "progress_updates")

    updates = [a for a in rig.to(EMMA) if "Progress on your report" in a.subject]
    # Wed 2 Dec ack -> 3 working days -> Mon 7 Dec (the weekend skipped) -> Thu 10 -> Tue 15.
    assert [u.at for u in updates] == [
        local(2026, 12, 7, 10),
        local(2026, 12, 10, 10),
        local(2026, 12, 15, 10),
    ]
    promised = [dt.date(2026, 12, 10), dt.date(2026, 12, 15), dt.date(2026, 12, 18)]
    for update, next_day in zip(updates, promised, strict=True):
        assert f"[{triaged}]" in update.subject
        assert update.mail.message["Auto-Submitted"] == "auto-generated"
        assert f"You will hear from us again by {format_date(next_day, 'en')}." in squeeze(
            update.text
        )
    assert len(rig.to(EMMA)) == 1 + len(updates), "the acknowledgement and the updates only"

    told = rig.staff("Automatic progress update sent", triaged)
    assert [t.at for t in told] == [u.at for u in updates]
    for notice, next_day in zip(told, promised, strict=True):
        assert f"Next update due: {format_date(next_day, 'en')}" in squeeze(notice.text)
    assert_no_reporter_in(told, EMMA)
    assert rig.case(triaged)["next_update_due"] == "2026-12-18T23:59:59+01:00"

    # Not yet assessed, or closed: no progress updates.
    assert len(rig.to(LINDA)) == 1 and "Progress" not in rig.to(LINDA)[0].subject
    assert len(rig.to(SANNE)) == 1 and "Stand van zaken" not in rig.to(SANNE)[0].subject
    assert rig.staff("Automatic progress update sent", waiting) == []
    assert rig.staff("Automatic progress update sent", closed) == []


def test_a_progress_update_the_guard_refuses_is_not_recorded_again_on_every_run(
    make_rig: Callable[..., Rig],
) -> None:
    """An anonymous reporter may write from an address no reply may go to. The job then
    cannot send the update; it should say so once, not on every run of the scheduler
    (`daemon.SCHEDULE` runs it every 15 minutes: 96 timeline lines a working day)."""
    rig = make_rig(update_interval_workdays=3)
    anonymous = "Anoniem <noreply@example.test>"
    ref = rig.report(anonymous, local(2026, 12, 2, 9, 0))
    assert rig.to(anonymous) == [], "the guard refused the acknowledgement"
    rig.set_case(ref, state=State.TRIAGED, first_response_at=local(2026, 12, 2, 15, 0))

    quarter_hours = [dt.time(h, m) for h in range(24) for m in (0, 15, 30, 45)]
    for at in moments(dt.date(2026, 12, 7), dt.date(2026, 12, 8), quarter_hours):
        rig.step(at, "progress_updates")

    assert rig.to(anonymous) == []
    suppressed = [
        e
        for e in rig.case(ref)["timeline"]
        if e["kind"] == "reply-suppressed" and e["detail"].get("kind") == "progress_update"
    ]
    assert suppressed, "the refusal is on record"
    assert len(suppressed) <= 2, (
        f"{len(suppressed)} 'reply-suppressed' events in two working days: one per run"
    )


# ------------------------------------------------- 3c. the digest


def test_the_digest_comes_once_each_working_day_at_eight_naming_cases_by_reference_only(
    make_rig: Callable[..., Rig],
) -> None:
    rig = make_rig(digest_time="08:00")
    overdue = rig.report(PIETER, local(2026, 12, 11, 10, 0))  # due Fri 18 Dec
    soon = rig.report(EMMA, local(2026, 12, 18, 10, 0), ENGLISH_REPORT)  # due Mon 28 Dec
    assert rig.case(soon)["first_response_due"] == "2026-12-28T23:59:59+01:00"

    half_hours = [dt.time(h, m) for h in range(24) for m in (0, 30)]
    restart_at = local(2026, 12, 23, 8, 30)  # just after that day's digest
    for at in moments(dt.date(2026, 12, 21), dt.date(2026, 12, 28), half_hours):
        if at == restart_at:
            rig.restart()
        rig.step(at, "digest")

    digests = rig.staff("digest")
    # Christmas Friday, Boxing Day Saturday and Sunday: none.
    assert [d.at for d in digests] == [local(2026, 12, day, 8, 0) for day in (21, 22, 23, 24, 28)]
    for digest in digests:
        assert parsedate_to_datetime(str(digest.mail.message["Date"])) == digest.at
        assert f"digest for {format_date(digest.at.date(), 'en')}" in squeeze(digest.subject)
        text = digest.text
        overdue_block = text.split("OVERDUE first assessments", 1)[1].split("\n\n", 1)[0]
        assert overdue in overdue_block and soon not in overdue_block
        assert soon in text
    assert_no_reporter_in(digests, PIETER, EMMA)

    # On Christmas Eve the next working day is Monday 28th, when Emma's case is due.
    christmas_eve = digests[3].text
    due_block = christmas_eve.split("due by the end of the next working day", 1)[1]
    assert soon in due_block.split("\n\n", 1)[0]
    assert "due by the end of the next working day" not in digests[2].text


def test_fifty_overdue_cases_give_each_recipient_one_list_a_working_day(
    make_rig: Callable[..., Rig],
) -> None:
    """A desk that fell behind: fifty reports, none answered. Each recipient (the owner of a
    case, else staff_notify) gets one reminder and then one escalation mail per working day
    listing its cases, not fifty."""
    owner = "anna.bakker@example.nl"
    rig = make_rig()
    refs = []
    for i in range(50):
        person = f"Onderzoeker Nummer{i} <onderzoeker{i}@example.test>"
        refs.append(rig.report(person, local(2026, 11, 27, 14, 0) + dt.timedelta(minutes=i)))
    owned = set(refs[:10])
    for ref in owned:
        rig.set_case(ref, owner=owner, severity="high")
    for at in moments(dt.date(2026, 12, 3), dt.date(2026, 12, 8)):
        if at == local(2026, 12, 7, 13, 0):
            rig.restart()  # a new process the same day must not send the list again
        rig.step(at, "first_response_reminders")

    def listed(arrival: Arrival) -> set[str]:
        return set(TAG.findall(arrival.text))

    def kinds(address: str, subject_part: str) -> list[Arrival]:
        return [a for a in rig.to(address) if subject_part in a.subject]

    staff_reminders, owner_reminders = kinds(STAFF_NOTIFY, "Reminder:"), kinds(owner, "Reminder:")
    assert days_of(staff_reminders) == [dt.date(2026, 12, 3)]
    assert days_of(owner_reminders) == [dt.date(2026, 12, 3)]
    assert listed(staff_reminders[0]) == set(refs) - owned
    assert listed(owner_reminders[0]) == owned

    staff_escalations, owner_escalations = kinds(STAFF_NOTIFY, "OVERDUE"), kinds(owner, "OVERDUE")
    assert days_of(staff_escalations) == [dt.date(2026, 12, 7), dt.date(2026, 12, 8)]
    assert days_of(owner_escalations) == [dt.date(2026, 12, 7), dt.date(2026, 12, 8)]
    for arrival in staff_escalations:
        assert listed(arrival) == set(refs) - owned
        assert "OVERDUE: 40 first assessments" in arrival.subject
    for arrival in owner_escalations:
        assert listed(arrival) == owned
    monday, tuesday = owner_escalations
    assert squeeze(monday.text).count("1 working day late") == 10
    assert squeeze(tuesday.text).count("2 working days late") == 10
    assert squeeze(monday.text).count(f"severity high, owner {owner}") == 10
    # Subjects are masked as in every staff copy: no reporter's name in any list.
    for arrival in staff_escalations + owner_escalations:
        assert "Nummer" not in arrival.text

    # Every case's timeline still says it was reminded once and escalated on each day.
    timeline = [e["kind"] for e in rig.case(refs[0])["timeline"]]
    assert timeline.count("reminder") == 1
    assert timeline.count("escalation") == 2
