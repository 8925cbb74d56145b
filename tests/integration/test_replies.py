"""The mail the desk sends, as the people at both ends receive it (issue 3).

A reporter must get exactly one acknowledgement, in their language, threaded under their
report, naming the case and the promised date; a customer who wrote to the wrong address must
be pointed to customer service; machines, lists and old mail must get nothing, whatever they
say; a hostile subject must not turn our reply into mail to someone else; an SMTP outage must
delay mail, never lose or double it; and the copies staff keep must not carry the reporter's
identity. These are properties of the bytes on the wire, so the tests deliver mail into a real
Dovecot over IMAP, run the daemon for one pass, and read what a real SMTP server (aiosmtpd on
loopback) received. No mocks.
"""

from __future__ import annotations

import datetime as dt
import re
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any, Literal

import pytest

from mailtriage.outgoing.dates import format_date
from tests.support.clock import MAIL_DATE
from tests.support.desk import (
    STAFF_NOTIFY,
    TEAM_ADDRESS,
    Desk,
    body_text,
    header_names,
)
from tests.support.dovecot import Dovecot
from tests.support.mails import make_mail
from tests.support.smtp import Received, SmtpServer

pytestmark = pytest.mark.integration

TAG = re.compile(r"\[(PZEM-SEC-\d{4}-\d{4})\]")

ACK_HEADERS = {
    "From",
    "To",
    "Reply-To",
    "Subject",
    "Date",
    "Message-ID",
    "In-Reply-To",
    "References",
    "Auto-Submitted",
    "MIME-Version",
    "Content-Type",
    "Content-Transfer-Encoding",
}

DUTCH_REPORT = (
    "Hallo,\n\nIk heb op https://portal.example.nl/zoek een kwetsbaarheid gevonden. Als je in "
    "het zoekveld een script invult, wordt dat in de pagina uitgevoerd. Dat heb ik op "
    "27-11-2026 om 14:05 vastgesteld.\n\nMet vriendelijke groet,\nPieter Jansen\n"
)
ENGLISH_REPORT = (
    "Hello,\n\nI found a reflected cross-site scripting vulnerability on "
    "https://www.example.nl/search. The q parameter is written into the page without "
    "encoding, so a link can run script in the browser of anyone who opens it. I saw this "
    "on 27 November 2026 at 14:05.\n\nBest regards,\nEmma Clarke\n"
)
GERMAN_REPORT = (
    "Sehr geehrte Damen und Herren,\n\nich habe auf https://portal.example.nl/suche eine "
    "Sicherheitslücke gefunden. Wenn man im Suchfeld ein Skript eingibt, wird es auf der "
    "Seite ausgeführt. Ich habe das am 27.11.2026 um 14:05 Uhr festgestellt.\n\n"
    "Mit freundlichen Grüßen\nJonas Weber\n"
)

NL_ACK_SUBJECT = "Ontvangstbevestiging van je melding"
EN_ACK_SUBJECT = "We have received your report"


@pytest.fixture
def desk(tmp_path: Path, dovecot: Dovecot, smtp: SmtpServer) -> Desk:
    return Desk(tmp_path, dovecot, smtp)


def only_mail(desk: Desk, address: str) -> Received:
    mails = desk.sent_to(address)
    assert len(mails) == 1, f"expected exactly one mail to {address}, got {len(mails)}"
    return mails[0]


def ref_in_subject(mail: Received) -> str:
    found = TAG.search(str(mail.message["Subject"]))
    assert found, f"no case tag in subject {mail.message['Subject']!r}"
    return found.group(1)


def due_words(case: dict[str, Any], language: Literal["nl", "en"]) -> str:
    """The promised day as the mail must write it, from the due moment stored on the case."""
    due = dt.datetime.fromisoformat(case["first_response_due"])  # local time, with offset
    return format_date(due.date(), language)


def address_of(mail: Received, header: str) -> str:
    addresses = mail.message[header].addresses
    assert len(addresses) == 1, f"{header}: {mail.message[header]!r}"
    return str(addresses[0].addr_spec)


# --------------------------------------------------------------------- 1. acknowledgements


@pytest.mark.parametrize(
    ("reporter", "body", "language"),
    [
        ("Pieter Jansen <pieter.jansen@example.test>", DUTCH_REPORT, "nl"),
        ("Emma Clarke <emma.clarke@example.test>", ENGLISH_REPORT, "en"),
        ("Jonas Weber <jonas.weber@example.test>", GERMAN_REPORT, "unsure"),
    ],
    ids=["dutch", "english", "german-gets-both"],
)
def test_a_report_gets_one_acknowledgement_in_its_language_threaded_under_it(
    desk: Desk, reporter: str, body: str, language: str
) -> None:
    address = reporter.split("<")[1].rstrip(">")
    report_id = make_msgid("report", domain="example.test")
    desk.deliver(
        make_mail(
            sender=reporter,
            subject="Beveiligingsprobleem / security issue",
            body=body,
            message_id=report_id,
        )
    )
    desk.run_once()

    ack = only_mail(desk, address)
    case = desk.case_of(address)
    assert case["language"] == language
    assert case["state"] == "acknowledged"
    message = ack.message
    subject = str(message["Subject"])
    assert ref_in_subject(ack) == case["ref"]
    assert ack.recipients == (address,)
    assert address_of(ack, "To") == address
    assert address_of(ack, "From") == TEAM_ADDRESS
    assert message["In-Reply-To"] == report_id
    assert report_id in str(message["References"]).split()
    assert message["Auto-Submitted"] == "auto-replied"

    text = body_text(ack.raw)
    assert case["ref"] in text
    dutch_due = f"uiterlijk {due_words(case, 'nl')}"
    english_due = f"by {due_words(case, 'en')}"
    if language == "nl":
        assert NL_ACK_SUBJECT in subject and EN_ACK_SUBJECT not in subject
        assert dutch_due in text
        assert english_due not in text and "Kind regards" not in text
    elif language == "en":
        assert EN_ACK_SUBJECT in subject and NL_ACK_SUBJECT not in subject
        assert english_due in text
        assert dutch_due not in text and "Met vriendelijke groet" not in text
    else:
        assert subject.index(NL_ACK_SUBJECT) < subject.index(EN_ACK_SUBJECT)
        assert dutch_due in text and english_due in text
        assert text.index(dutch_due) < text.index(english_due), "Dutch comes first"

    notice = only_mail(desk, STAFF_NOTIFY)
    assert notice.recipients == (STAFF_NOTIFY,)
    assert f"[{case['ref']}]" in str(notice.message["Subject"])
    assert len(desk.smtp.received) == 2, "one acknowledgement and one staff notification"


# --------------------------------------------------------------------- 2. redirects


def phishing_forward() -> bytes:
    inner = EmailMessage()
    inner["From"] = "PZEM Klantenservice <noreply@pzem-betalingen.example.test>"
    inner["To"] = "j.devos@example.test"
    inner["Subject"] = "Uw betaling is mislukt - actie vereist"
    inner["Date"] = format_datetime(MAIL_DATE - dt.timedelta(hours=2))
    inner["Message-ID"] = make_msgid("phish", domain="pzem-betalingen.example.test")
    inner.set_content(
        "Geachte klant,\n\nWij hebben uw laatste termijnbedrag niet kunnen incasseren. Om "
        "afsluiting van uw energielevering te voorkomen vragen wij u het openstaande bedrag "
        "van EUR 87,40 binnen 24 uur te voldoen via iDEAL:\n\n"
        "https://pzem-betalingen.example.test/ideal?ref=88412\n\n"
        "Met vriendelijke groet,\nPZEM Klantenservice\n"
    )
    outer = EmailMessage()
    outer["From"] = "Jan de Vos <j.devos@example.test>"
    outer["To"] = TEAM_ADDRESS
    outer["Subject"] = "Doorst: Uw betaling is mislukt - actie vereist"
    outer["Date"] = format_datetime(MAIL_DATE)
    outer["Message-ID"] = make_msgid("fwd", domain="example.test")
    outer.set_content(
        "Goedemorgen,\n\nIs deze mail echt van jullie? Ik heb mijn rekening gewoon betaald en "
        "de link ziet er vreemd uit.\n\nGroet,\nJan de Vos\n"
    )
    outer.add_attachment(inner)
    assert any(part.get_content_type() == "message/rfc822" for part in outer.iter_attachments())
    return outer.as_bytes()


INVOICE_COMPLAINT = make_mail(
    sender="Hans Verbeek <hans.verbeek@example.test>",
    subject="Klacht over mijn factuur",
    body=(
        "Geachte heer, mevrouw,\n\nIk heb vandaag mijn factuur over oktober ontvangen en die "
        "is met EUR 312,- meer dan twee keer zo hoog als normaal. Mijn verbruik is niet "
        "veranderd. Ik heb drie keer geprobeerd te bellen maar kom er niet door. Ik wil dat "
        "dit gecorrigeerd wordt en ik ben het niet eens met de incasso.\n\n"
        "Met vriendelijke groet,\nH. Verbeek\n"
    ),
)
FAKE_EMAIL = make_mail(
    sender="Deborah Hughes <deb.hughes@example.test>",
    subject="Fake email",
    body=(
        "Hello,\n\nI received a fake email today claiming to be from PZEM, asking me to "
        "update my bank details because a direct debit had failed. I'm not even a PZEM "
        "customer. I deleted it but wanted to let you know that someone is using your name."
        "\n\nRegards,\nDeborah Hughes\n"
    ),
)
CONTACT_FORM = {"nl": ["contactformulier"], "en": ["contact form"]}
CONTACT_FORM["unsure"] = CONTACT_FORM["nl"] + CONTACT_FORM["en"]


@pytest.mark.parametrize(
    ("address", "raw"),
    [
        ("j.devos@example.test", phishing_forward()),
        ("hans.verbeek@example.test", INVOICE_COMPLAINT),
        ("deb.hughes@example.test", FAKE_EMAIL),
    ],
    ids=["phishing-forward-rfc822", "dutch-invoice-complaint", "english-fake-email"],
)
def test_mail_not_meant_for_the_desk_is_pointed_to_customer_service_and_closed(
    desk: Desk, address: str, raw: bytes
) -> None:
    desk.deliver(raw)
    desk.run_once()

    reply = only_mail(desk, address)
    case = desk.case_of(address)
    assert case["state"] == "closed"
    assert case["close_reason"] == "redirected"
    assert ref_in_subject(reply) == case["ref"]
    assert reply.message["Auto-Submitted"] == "auto-replied"
    text = body_text(reply.raw)
    assert "info@pzem.nl" in text
    assert "088 1346 000" in text
    for words in CONTACT_FORM[case["language"]]:
        assert words in text, f"the {case['language']} redirect names the {words}"
    assert NL_ACK_SUBJECT not in str(reply.message["Subject"])
    assert EN_ACK_SUBJECT not in str(reply.message["Subject"])


def test_a_vulnerability_that_enables_phishing_is_acknowledged_not_redirected(desk: Desk) -> None:
    address = "marta.k@example.test"
    desk.deliver(
        make_mail(
            sender=f"Marta Kowalska <{address}>",
            subject="Open redirect on mijn.example.nl login enables phishing",
            body=(
                "Dear team,\n\nThe login page at "
                "https://mijn.example.nl/login?returnUrl=https://evil.example.test redirects the "
                "user to any external site after a successful login. The returnUrl parameter is "
                "not validated.\n\nWhy this matters: an attacker can send your customers a "
                "phishing e-mail with a genuine mijn.example.nl link. The victim logs in on the "
                "real site and is then sent to a look-alike page that asks them to log in again."
                "\n\nSteps to reproduce:\n1. Visit the URL above\n2. Log in with any valid "
                "account\n3. Observe the 302 to evil.example.test\n\n"
                "Kind regards,\nMarta Kowalska\n"
            ),
        )
    )
    desk.run_once()

    reply = only_mail(desk, address)
    case = desk.case_of(address)
    assert case["category"] == "report"
    assert case["state"] == "acknowledged"
    assert case["close_reason"] is None
    assert EN_ACK_SUBJECT in str(reply.message["Subject"])
    assert "info@pzem.nl" not in body_text(reply.raw)


# --------------------------------------------------------------------- 3. the guard

CONTROL = "Controle Melder <controle@example.test>"


def dsn_bounce() -> bytes:
    when = format_datetime(MAIL_DATE)
    return (
        "From: Mail Delivery System <MAILER-DAEMON@mx.example.test>\r\n"
        f"To: {TEAM_ADDRESS}\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        f"Date: {when}\r\n"
        f"Message-ID: {make_msgid('dsn', domain='mx.example.test')}\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: multipart/report; report-type=delivery-status;\r\n"
        ' boundary="dsn-boundary-1"\r\n'
        "\r\n"
        "--dsn-boundary-1\r\n"
        "Content-Type: text/plain; charset=us-ascii\r\n"
        "\r\n"
        "Your message could not be delivered to one or more recipients.\r\n"
        "\r\n"
        "--dsn-boundary-1\r\n"
        "Content-Type: message/delivery-status\r\n"
        "\r\n"
        "Reporting-MTA: dns; mx.example.test\r\n"
        "\r\n"
        "Final-Recipient: rfc822; gone@example.test\r\n"
        "Action: failed\r\n"
        "Status: 5.1.1\r\n"
        "\r\n"
        "--dsn-boundary-1\r\n"
        "Content-Type: text/rfc822-headers\r\n"
        "\r\n"
        f"From: {TEAM_ADDRESS}\r\n"
        "To: gone@example.test\r\n"
        "Subject: [PZEM-SEC-2026-9999] Ontvangstbevestiging van je melding\r\n"
        "\r\n"
        "--dsn-boundary-1--\r\n"
    ).encode("ascii")


REPORTISH = (
    "Hallo,\n\nOp https://portal.example.nl/login kan ik zonder wachtwoord inloggen als ik het "
    "veld leeg laat. Dat heb ik vandaag om 10:15 gezien.\n\nGroet\n"
)

# (the address that must get nothing, the mail that must not be answered)
MACHINE_MAIL: dict[str, tuple[str, bytes]] = {
    "out-of-office": (
        "femke.vos@example.test",
        make_mail(
            sender="Femke Vos <femke.vos@example.test>",
            subject="Re: Kwetsbaarheid in het klantportaal",
            body="Ik ben tot en met maandag afwezig en lees mijn mail daarna weer.\n",
            headers={"Auto-Submitted": "auto-replied"},
        ),
    ),
    "dsn-bounce": ("mailer-daemon@mx.example.test", dsn_bounce()),
    "list-mail": (
        "digest@lists.example.test",
        make_mail(
            sender="Security Digest <digest@lists.example.test>",
            subject="New XSS found in a popular portal",
            body=REPORTISH,
            headers={"List-Id": "Security Digest <digest.lists.example.test>"},
        ),
    ),
    "spam-flagged": (
        "winst@example.test",
        make_mail(
            sender="Gratis Winst <winst@example.test>",
            subject="Kwetsbaarheid gevonden",
            body=REPORTISH,
            headers={"X-Spam-Flag": "YES"},
        ),
    ),
    "own-address": (
        TEAM_ADDRESS,
        make_mail(
            sender=f"PZEM Security Team <{TEAM_ADDRESS}>", subject="Kwetsbaarheid", body=REPORTISH
        ),
    ),
    "null-sender": (
        "alerts@monitor.example.test",
        make_mail(
            sender="Monitor <alerts@monitor.example.test>",
            subject="Kwetsbaarheid in login",
            body=REPORTISH,
            headers={"Return-Path": "<>"},
        ),
    ),
}


@pytest.mark.parametrize("kind", list(MACHINE_MAIL))
def test_machine_list_spam_and_own_mail_get_no_reply_at_all(desk: Desk, kind: str) -> None:
    silent, raw = MACHINE_MAIL[kind]
    desk.deliver(raw, make_mail(sender=CONTROL, body=REPORTISH))
    desk.run_once()

    assert desk.sent_to(silent) == []
    control = only_mail(desk, "controle@example.test")
    assert ref_in_subject(control)
    only_mail(desk, STAFF_NOTIFY)  # for the control report only: the machine mail opened nothing
    assert len(desk.smtp.received) == 2, [r.recipients for r in desk.smtp.received]
    assert [c["reporter"] for c in desk.cases()] == ["controle@example.test"]
    with desk.db() as db:
        statuses = sorted(s for (s,) in db.execute("select status from messages"))
    assert statuses == ["auto", "case"], "the machine mail is kept, filed as automated"


def test_our_own_acknowledgement_coming_back_twice_is_not_answered(desk: Desk) -> None:
    desk.deliver(make_mail(sender=CONTROL, body=REPORTISH))
    desk.run_once()
    ack = only_mail(desk, "controle@example.test")
    sent_before = len(desk.smtp.received)

    desk.deliver(ack.raw, ack.raw)
    desk.run_once()

    assert len(desk.smtp.received) == sent_before, [r.recipients for r in desk.smtp.received]
    assert len(desk.cases()) == 1


def test_fifty_reports_from_one_sender_get_at_most_the_daily_cap(desk: Desk) -> None:
    sender = "volhouder@example.test"
    reports = [
        make_mail(
            # A few in capitals: the same mailbox, however the sender spells it.
            sender=f"Vol Houder <{sender.upper() if i % 10 == 0 else sender}>",
            subject=f"Bevinding {i}",
            body=f"Bevinding {i}: XSS op https://app{i}.example.nl/zoek, gezien om 09:{i:02d}.\n",
        )
        for i in range(50)
    ]
    desk.deliver(*reports)
    desk.run_once()

    assert len([c for c in desk.cases() if c["reporter"] == sender]) == 50
    acks = desk.sent_to(sender) + desk.sent_to(sender.upper())
    assert len(acks) == 5, "max_autoreplies_per_sender_per_day defaults to 5"

    desk.deliver(
        make_mail(
            sender=sender,
            subject="Bevinding 50",
            body="Bevinding 50: XSS op https://app50.example.nl/zoek.\n",
        )
    )
    desk.run_once()
    assert len(desk.sent_to(sender) + desk.sent_to(sender.upper())) == 5, "the cap holds a day"


def test_mail_older_than_the_age_limit_opens_a_case_but_gets_no_acknowledgement(
    desk: Desk,
) -> None:
    old_reporter = "oud.archief@example.test"
    long_ago = desk.clock.now - dt.timedelta(days=30)
    desk.deliver(
        make_mail(sender=f"Oud Archief <{old_reporter}>", body=REPORTISH, date=long_ago),
        received=long_ago,
    )
    desk.deliver(make_mail(sender=CONTROL, body=REPORTISH))
    desk.run_once()

    assert desk.sent_to(old_reporter) == []
    case = desk.case_of(old_reporter)
    assert case["state"] != "closed"
    assert dt.datetime.fromisoformat(case["received_at"]) == long_ago, (
        "the case keeps the moment the mail arrived"
    )
    only_mail(desk, "controle@example.test")  # a fresh mail in the same pass is answered


# --------------------------------------------------------------------- 4. hostile subjects


# Encoded words that decode to CR LF and a Bcc line, a folded continuation, 10,000 characters
# and, last, a bare CR: the stdlib would turn the first ones into real header lines.
HOSTILE_SUBJECT = (
    "Lék =?utf-8?q?x=0D=0ABcc:_victim2@example.test?= "
    "=?utf-8?b?eA0KQmNjOiB2aWN0aW0zQGV4YW1wbGUudGVzdA==?= "
    "=?utf-8?q?=0ATo:_victim5@example.test=0D?=\r\n"
    "\tTo: victim4@example.test " + "A" * 5_000 + " " + "B" * 5_000 + "\rBcc: victim1@example.test"
).encode("utf-8")
# A bare CR first: whatever reads it as a line end sees "Bcc:" as a header of its own.
BARE_CR_SUBJECT = b"Lek\rBcc: victim1@example.test\r\n\tCc: victim4@example.test " + b"A" * 10_000


def hostile_report(reporter: str, subject: bytes) -> bytes:
    when = format_datetime(MAIL_DATE)
    return (
        f"From: Kees Hacker <{reporter}>\r\n".encode()
        + f"To: {TEAM_ADDRESS}\r\n".encode()
        + b"Subject: "
        + subject
        + b"\r\n"
        + f"Date: {when}\r\n".encode()
        + b"Message-ID: <hostile.subject.1@example.test>\r\n"
        + b"MIME-Version: 1.0\r\n"
        + b"Content-Type: text/plain; charset=utf-8\r\n"
        + b"\r\n"
        + REPORTISH.replace("\n", "\r\n").encode()
    )


def assert_well_formed(mail: Received, expected_headers: set[str]) -> None:
    names = header_names(mail.raw)
    assert len(names) == len(set(names)), f"a header twice: {names}"
    assert set(names) == expected_headers
    assert "bcc" not in {n.lower() for n in names}
    lines = mail.raw.split(b"\r\n")
    assert max(len(line) for line in lines) <= 998
    assert b"\r" not in mail.raw.replace(b"\r\n", b"") and b"\n" not in mail.raw.replace(
        b"\r\n", b""
    ), "bare CR or LF"
    assert not mail.message.defects


@pytest.mark.parametrize(
    "subject", [HOSTILE_SUBJECT, BARE_CR_SUBJECT], ids=["encoded-words", "bare-cr"]
)
def test_a_hostile_subject_yields_a_well_formed_reply_to_the_reporter_only(
    desk: Desk, subject: bytes
) -> None:
    reporter = "kees.hacker@example.test"
    desk.deliver(hostile_report(reporter, subject))
    desk.run_once()

    case = desk.case_of(reporter)
    if subject is HOSTILE_SUBJECT:
        # The tricks reached the desk decoded: what is checked below was really attacked.
        assert "victim2@example.test" in case["subject"]
        assert "victim3@example.test" in case["subject"]
        assert "A" * 500 in case["subject"]

    ack = only_mail(desk, reporter)
    assert ack.recipients == (reporter,)
    assert_well_formed(ack, ACK_HEADERS)
    assert ack.message["In-Reply-To"] == "<hostile.subject.1@example.test>"
    assert ref_in_subject(ack) == case["ref"]
    assert "victim" not in " ".join(str(value) for value in ack.message.values()).lower()

    # The staff copy carries the reporter's subject: it must not become headers either.
    notice = only_mail(desk, STAFF_NOTIFY)
    assert notice.recipients == (STAFF_NOTIFY,)
    assert_well_formed(notice, ACK_HEADERS - {"In-Reply-To", "References"})
    assert str(notice.message["Subject"]).startswith(f"[{case['ref']}] New report: L")
    assert {r for mail in desk.smtp.received for r in mail.recipients} == {reporter, STAFF_NOTIFY}


# --------------------------------------------------------------------- 5. SMTP trouble


def outbox_statuses(desk: Desk) -> list[tuple[str, str]]:
    with desk.db() as db:
        return list(db.execute("select kind, status from outbox order by id"))


def test_mail_waits_out_an_smtp_outage_and_is_delivered_exactly_once(
    tmp_path: Path, dovecot: Dovecot
) -> None:
    smtp = SmtpServer()  # not started: nobody listens on its port
    desk = Desk(tmp_path, dovecot, smtp)
    reporter = "geduld@example.test"
    desk.deliver(make_mail(sender=f"Geduldige Melder <{reporter}>", body=REPORTISH))
    desk.run_once()  # asserts exit 0

    statuses = outbox_statuses(desk)
    assert ("acknowledgement", "pending") in statuses
    assert {status for _, status in statuses} == {"pending"}

    smtp.start()
    try:
        desk.clock.advance(dt.timedelta(seconds=1.5))  # retry_initial_seconds = 1
        desk.run_once()
        ack = only_mail(desk, reporter)
        assert TAG.search(str(ack.message["Subject"]))
        only_mail(desk, STAFF_NOTIFY)
        assert {status for _, status in outbox_statuses(desk)} == {"sent"}

        desk.run_once()
        only_mail(desk, reporter)  # still exactly one
    finally:
        smtp.stop()


def failure_notices(desk: Desk) -> list[Received]:
    return [
        mail
        for mail in desk.sent_to(STAFF_NOTIFY)
        if "could not be delivered" in str(mail.message["Subject"])
    ]


def test_a_permanent_refusal_is_on_the_case_and_staff_are_told_without_the_address(
    desk: Desk,
) -> None:
    reporter = "verhuisd@example.test"
    desk.smtp.refuse.add(reporter)
    desk.deliver(make_mail(sender=f"Verhuisde Melder <{reporter}>", body=REPORTISH))
    desk.run_once()
    desk.run_once()  # the notice may be queued by the failure itself; see the next test

    case = desk.case_of(reporter)
    failures = [e for e in case["timeline"] if e["kind"] == "delivery-failed"]
    assert len(failures) == 1, [e["kind"] for e in case["timeline"]]
    assert desk.sent_to(reporter) == []

    notices = failure_notices(desk)
    assert len(notices) == 1
    notice = notices[0]
    assert notice.recipients == (STAFF_NOTIFY,)
    assert f"[{case['ref']}]" in str(notice.message["Subject"])
    decoded = body_text(notice.raw)
    assert case["ref"] in decoded
    assert "refused it permanently" in decoded
    assert reporter.encode() not in notice.raw.lower()
    assert reporter not in decoded.lower()
    assert "verhuisd" not in " ".join(str(v) for v in notice.message.values()).lower()


def test_staff_hear_of_a_refused_acknowledgement_in_the_same_pass(desk: Desk) -> None:
    """`run --once` is one full pass that sends the outbox; run from cron, a notice left for
    the next pass reaches staff an interval later, or never if the job is not run again."""
    reporter = "verhuisd@example.test"
    desk.smtp.refuse.add(reporter)
    desk.deliver(make_mail(sender=f"Verhuisde Melder <{reporter}>", body=REPORTISH))
    desk.run_once()

    assert len(failure_notices(desk)) == 1, f"after one pass: outbox {outbox_statuses(desk)}"


# --------------------------------------------------------------------- 6. staff copies


def test_the_staff_notification_carries_no_name_phone_or_address_of_the_reporter(
    desk: Desk,
) -> None:
    reporter = "sanne.devries@example.nl"
    desk.deliver(
        make_mail(
            sender=f"Sanne de Vries <{reporter}>",
            subject="Kwetsbaarheid in het klantportaal",
            body=(
                "Hallo,\n\nOp https://portal.example.nl/facturen/12345 kan ik de facturen van "
                "andere klanten zien als ik het nummer in de URL verander. Dat heb ik op "
                "27-11-2026 om 14:05 gezien. Bel me gerust op +31 6 12345678 of mail naar "
                f"{reporter} als jullie meer willen weten.\n\n"
                "Met vriendelijke groet,\nSanne de Vries\n06-12345678\n"
            ),
        )
    )
    desk.run_once()

    notice = only_mail(desk, STAFF_NOTIFY)
    ref = desk.case_of(reporter)["ref"]
    decoded = body_text(notice.raw)
    assert ref in decoded
    assert "portal.example.nl/facturen" in decoded, "the report itself is shown"
    headers = " ".join(str(value) for value in notice.message.values())
    forbidden = ["sanne", "vries", "12345678", "6 1234", reporter, "devries"]
    for text in (notice.raw.decode("ascii", "replace"), decoded, headers):
        lowered = text.lower()
        found = [word for word in forbidden if word in lowered]
        assert not found, f"the staff copy names the reporter: {found}"
