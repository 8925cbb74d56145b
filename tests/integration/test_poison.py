"""No poison mail (issue 10): a mail that hangs, breaks or kills the parser costs itself
attempts, ends in quarantine with its reason, and never holds up the mail around it.

Before: a 2 MB HTML mail of `<a<a<a…` held the main loop for minutes with the write lock; the
watchdog killed the daemon, the attempt counter rolled back with the transaction, and after
every restart the same mail came first again. Here three poison mails arrive among fifty good
reports in a real Dovecot inbox; the desk runs pass after pass as `run --once`, and a real
SMTP server shows who got an acknowledgement.
"""

from __future__ import annotations

import json
import os
from email.message import EmailMessage
from pathlib import Path

import pytest

from tests.support.desk import STAFF_NOTIFY, Desk
from tests.support.dovecot import Dovecot
from tests.support.mails import make_mail
from tests.support.processes import WorkerKiller
from tests.support.smtp import SmtpServer

pytestmark = pytest.mark.integration

GOOD = [f"onderzoeker{i}@example.test" for i in range(50)]
HTML_SENDER = "html@example.test"
KILLER_SENDER = "zwaar@example.test"


@pytest.fixture
def desk(tmp_path: Path, dovecot: Dovecot, smtp: SmtpServer) -> Desk:
    return Desk(tmp_path, dovecot, smtp, cases={"max_attempts": 3})


def good_report(address: str) -> bytes:
    return make_mail(sender=f"Onderzoeker <{address}>", subject=f"Kwetsbaarheid ({address})")


def quadratic_html() -> bytes:
    """HTML that made html.parser quadratic: 200 kB took 16 s, 2 MB minutes."""
    msg = EmailMessage()
    msg["From"] = f"Henk Html <{HTML_SENDER}>"
    msg["To"] = "security@example.nl"
    msg["Subject"] = "XSS in het portaal"
    msg.set_content(
        "<p>Ik vond XSS op https://portal.example.nl/zoek op 27-11-2026.</p>" + "<a" * 400_000,
        subtype="html",
    )
    return msg.as_bytes()


# Nothing but white space: the parser refuses it (ParseError "empty message").
PARSER_RAISES = b" \r\n\t\r\n \r\n"


def killer_mail() -> bytes:
    """Big enough (15 MB) that its worker's memory gives it away; the test kills that worker
    whenever it holds this mail, as an OOM killer would."""
    msg = EmailMessage()
    msg["From"] = f"Zware Bijlage <{KILLER_SENDER}>"
    msg["To"] = "security@example.nl"
    msg["Subject"] = "Logbestanden"
    msg.set_content("Zie de bijlage.")
    msg.add_attachment(os.urandom(15_000_000), "application", "octet-stream", filename="log.bin")
    return msg.as_bytes()


def quarantine(desk: Desk) -> dict[str, dict[str, object]]:
    code, out = desk.cli("quarantine", "--json")
    assert code == 0
    by_reason: dict[str, dict[str, object]] = {}
    for item in json.loads(out):
        by_reason[str(item["reason"])] = item
    return by_reason


def killer_row(desk: Desk) -> tuple[str, int]:
    with desk.db() as db:
        row = db.execute("select status, attempts from messages where size > 1000000").fetchone()
    assert row is not None
    return row[0], row[1]


@pytest.mark.timed_waits  # the worker killer polls with Event.wait: stalls under libfaketime
def test_poison_mails_end_in_quarantine_and_fifty_good_reports_flow(desk: Desk) -> None:
    desk.deliver(*(good_report(a) for a in GOOD[:25]))
    desk.deliver(quadratic_html(), PARSER_RAISES, killer_mail())
    desk.deliver(*(good_report(a) for a in GOOD[25:]))

    with WorkerKiller(rss_over_kb=40_000) as killer:
        desk.run_once()
        first_kills = killer.kills
        # The same pass: every good report acknowledged, the HTML one read as the report it is.
        for address in [*GOOD, HTML_SENDER]:
            assert len(desk.sent_to(address)) == 1, address
        assert desk.case_of(HTML_SENDER)["state"] == "acknowledged"
        reasons = quarantine(desk)
        assert "ParseError: empty message" in reasons
        # The worker died on the killer: an attempt counted, no verdict, tried again later.
        assert first_kills >= 1
        assert killer_row(desk) == ("received", 1)

        desk.run_once()
        assert killer_row(desk) == ("received", 2)
        desk.run_once()
        assert killer.kills >= first_kills + 2

    assert killer_row(desk) == ("quarantined", 3)
    reasons = quarantine(desk)
    gave_up = "AttemptsExhausted: gave up after 3 attempts: the parse worker died on it"
    assert gave_up in reasons and reasons[gave_up]["attempts"] == 3
    assert len(reasons) == 2
    # Staff are told about each, and both are in the quarantine folder, out of the inbox.
    told = [m for m in desk.sent_to(STAFF_NOTIFY) if "Quarantine:" in str(m.message["Subject"])]
    assert len(told) == 2
    with desk.dovecot.client() as client:
        assert client.select_folder("Quarantine")[b"EXISTS"] == 2
        assert client.select_folder("INBOX")[b"EXISTS"] == 0
    # Nothing was left for a later pass, and no good report was answered twice.
    desk.run_once()
    for address in GOOD:
        assert len(desk.sent_to(address)) == 1
