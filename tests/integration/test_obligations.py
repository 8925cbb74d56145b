"""Reporting clocks for exploited vulnerabilities and incidents, through real mail (issue 17).

A significant incident must be reported to the authority within 24 hours, whatever the day:
the clock started by `#incident` on a Friday evening runs out on Saturday evening, and staff
must hear about it then, by night and at the weekend, not on Monday morning. This drives the
whole desk (real Dovecot, real SMTP on loopback, `mailtriage run --once`) on a clock the test
moves, and reads what staff_notify and the case's owner received and what `case --json` says.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from tests.support.clients import authenticated, mx_pass
from tests.support.clock import local
from tests.support.desk import STAFF_NOTIFY, Desk, body_text
from tests.support.dovecot import Dovecot
from tests.support.mails import make_mail
from tests.support.smtp import Received, SmtpServer

pytestmark = pytest.mark.integration

ANALYST = "Jan Visser <analyst@example.nl>"
LEAD = "lead@example.nl"
PIETER = "Pieter Jansen <pieter.jansen@example.test>"
EMMA = "Emma Clarke <emma.clarke@example.test>"

FRIDAY_17 = local(2026, 11, 27, 17, 0)


@pytest.fixture
def desk(tmp_path: Path, dovecot: Dovecot, smtp: SmtpServer) -> Desk:
    return Desk(
        tmp_path,
        dovecot,
        smtp,
        now=local(2026, 11, 27, 16, 0),
        cases={
            "staff": ["analyst@example.nl", LEAD],
            "staff_notify": STAFF_NOTIFY,
            "trusted_authserv_ids": ["mx.example.nl"],
        },
    )


def at(desk: Desk, moment: dt.datetime, *raws: bytes) -> list[Received]:
    """Move the desk's clock to `moment`, deliver `raws` arriving then, run one pass: the
    mail that pass sent."""
    desk.clock.set(moment)
    mark = len(desk.smtp.received)
    if raws:
        desk.deliver(*raws, received=moment)
    desk.run_once()
    return desk.smtp.received[mark:]


def staff_mail(ref: str, body: str) -> bytes:
    raw = make_mail(sender=ANALYST, subject=f"Re: [{ref}] New report", body=body)
    return authenticated(raw, mx_pass("analyst@example.nl"))


def duty_mail(mails: list[Received], recipient: str) -> list[str]:
    """The reporting-duty subjects `recipient` got, in order."""
    return [
        str(m.message["Subject"])
        for m in mails
        if recipient in m.recipients and "eporting duty" in str(m.message["Subject"])
    ]


def test_an_incident_on_friday_evening_escalates_on_saturday_evening_until_reported(
    desk: Desk,
) -> None:
    desk.deliver(
        make_mail(sender=PIETER, subject="Storing: klantportaal gekaapt"),
        make_mail(sender=EMMA, subject="Defacement of the customer portal"),
    )
    desk.run_once()
    late = desk.case_of("pieter.jansen@example.test")["ref"]  # nobody files its early warning
    filed = desk.case_of("emma.clarke@example.test")["ref"]  # its early warning is filed

    started = at(
        desk,
        FRIDAY_17,
        staff_mail(late, f"#incident\n#assign {LEAD}\n#note\nPortal defaced, outage.\n"),
        staff_mail(filed, "#incident\n#note\nSame attack.\n"),
    )
    assert not duty_mail(started, STAFF_NOTIFY)
    steps = desk.case(late)["obligations"]
    assert steps == [
        {"kind": "incident", "step": "early-warning", "due": "2026-11-28T17:00:00+01:00",
         "reported_at": None},
        {"kind": "incident", "step": "notification", "due": "2026-11-30T17:00:00+01:00",
         "reported_at": None},
        {"kind": "incident", "step": "final", "due": "2026-12-27T17:00:00+01:00",
         "reported_at": None},
    ]  # fmt: skip

    # Half time of the early warning falls in the night: staff hear of it in the night, the
    # owner too.
    night = at(desk, local(2026, 11, 28, 5, 30))
    assert len(duty_mail(night, STAFF_NOTIFY)) == 2
    assert duty_mail(night, LEAD) == [
        f"[{late}] Reporting duty: early-warning due Saturday 28 November 2026 17:00 (incident)"
    ]

    at(desk, local(2026, 11, 28, 10, 0), staff_mail(filed, "#reported early-warning\n"))
    assert desk.case(filed)["obligations"][0]["reported_at"] == "2026-11-28T10:00:00+01:00"

    soon = at(desk, local(2026, 11, 28, 15, 30))
    assert duty_mail(soon, STAFF_NOTIFY) == [
        f"[{late}] Reporting duty: early-warning due Saturday 28 November 2026 17:00 (incident)"
    ]
    assert "in less than 2 hours" in body_text(soon[0].raw)

    assert not duty_mail(at(desk, local(2026, 11, 28, 16, 59)), STAFF_NOTIFY)

    escalated = at(desk, local(2026, 11, 28, 17, 0))
    overdue = (
        f"[{late}] OVERDUE reporting duty: early-warning was due Saturday 28 November 2026 "
        "17:00 (incident)"
    )
    assert duty_mail(escalated, STAFF_NOTIFY) == [overdue]
    assert duty_mail(escalated, LEAD) == [overdue]
    code, out = desk.cli("status", "--json")
    assert code == 0
    unfiled = {(s["ref"], s["step"]): s["late"] for s in json.loads(out)["obligations"]}
    assert unfiled[(late, "early-warning")] is True, "status shows the overdue step"
    assert (filed, "early-warning") not in unfiled, "a filed step is no longer listed"
    assert unfiled[(filed, "notification")] is False
    assert not duty_mail(at(desk, local(2026, 11, 28, 23, 0)), STAFF_NOTIFY)  # once

    # The filed case's other steps keep running: its notification's half time still comes.
    sunday = at(desk, local(2026, 11, 29, 17, 0))
    notification = [s for s in duty_mail(sunday, STAFF_NOTIFY) if "notification" in s]
    assert sorted(notification) == sorted(
        f"[{ref}] Reporting duty: notification due Monday 30 November 2026 17:00 (incident)"
        for ref in (late, filed)
    )
    filed_steps = {s["step"]: s for s in desk.case(filed)["obligations"]}
    assert filed_steps["notification"]["reported_at"] is None
    assert filed_steps["early-warning"]["reported_at"] is not None

    # Monday morning's digest lists what is still to be filed, the overdue step first.
    monday = at(desk, local(2026, 11, 30, 8, 30))
    (digest,) = [m for m in monday if "digest" in str(m.message["Subject"])]
    text = " ".join(body_text(digest.raw).split())
    assert f"{late} incident early-warning OVERDUE, was due Saturday 28 November 2026 17:00" in text
    assert f"{filed} incident early-warning" not in text
    assert f"{filed} incident notification due Monday 30 November 2026 17:00" in text
