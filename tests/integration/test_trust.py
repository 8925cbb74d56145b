"""Staff can trust every mail the desk sends in their name (issue 11, observations 5-8), and
nobody but the reporter (or staff) changes how the reporter is credited (issue 10).

Each test replays what was observed, through the whole daemon: mail built as Outlook,
Thunderbird, Gmail and Apple Mail build it, in Dutch and English, delivered into a real
Dovecot over IMAP with the `Authentication-Results` header our MX writes, one pass of
`mailtriage run --once`, and the bytes a real SMTP server on loopback received, read as the
reporter and as staff read them. Reserved domains and invented people only.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from mailtriage.config import load_config
from mailtriage.service.wiring import build
from tests.integration.test_staff import (
    ANALYST,
    Reported,
    address,
    confirmation,
    credits,
    name,
    send,
    squeeze,
    staff_says,
    subject,
    text,
    timeline_kinds,
    to,
)
from tests.support.clients import (
    AMSTERDAM,
    MX_ID,
    Original,
    apple_mail_reply,
    authenticated,
    gmail_reply,
    mx_pass,
    outlook_reply,
    reply_as,
    thunderbird_reply,
)
from tests.support.desk import STAFF_NOTIFY, Desk
from tests.support.dovecot import Dovecot
from tests.support.mails import make_mail
from tests.support.smtp import Received, SmtpServer

pytestmark = pytest.mark.integration

TAG = re.compile(r"\[(PZEM-SEC-\d{4}-\d{4})\]")

JEROEN = "Jeroen Bakker <jeroen.bakker@example.test>"
CHLOE = "Chloe Turner <chloe.turner@example.test>"
FENNA = "Fenna Dijkstra <fenna.dijkstra@example.test>"

# Too short to tell the language: the desk answers in Dutch and English.
UNCLEAR_REPORT = "XSS: https://portal.example.nl/zoek?q=%3Cscript%3E\n27-11-2026 14:05\n\n{name}\n"
DUTCH_REPORT = (
    "Hallo,\n\nOp https://portal.example.nl/facturen kan ik door het nummer in de URL te "
    "veranderen de facturen van andere klanten inzien. Dat heb ik op 27-11-2026 om 14:05 "
    "vastgesteld.\n\nMet vriendelijke groet,\n{name}\n"
)
ENGLISH_REPORT = (
    "Hello,\n\nThe login page at https://www.example.nl/login does not limit attempts, so an "
    "attacker can guess passwords without being slowed down. I saw this on 27 November 2026 "
    "at 14:05.\n\nBest regards,\n{name}\n"
)
# Lines of the acknowledgement that a reporter's reply quotes back.
ACK_PHRASES = ("Wat we van je vragen", "What we ask of you", "English version below")


def unauthenticated(person: str) -> str:
    """What our MX writes for a mail whose sender's domain did not vouch for it."""
    domain = address(person).rpartition("@")[2]
    return (
        f"{MX_ID}; dkim=none; spf=softfail smtp.mailfrom={address(person)}; "
        f"dmarc=fail header.from={domain}"
    )


@pytest.fixture
def desk(tmp_path: Path, dovecot: Dovecot, smtp: SmtpServer) -> Desk:
    return Desk(
        tmp_path,
        dovecot,
        smtp,
        cases={
            "staff": [address(ANALYST)],
            "staff_notify": STAFF_NOTIFY,
            "trusted_authserv_ids": [MX_ID],
        },
    )


def report(desk: Desk, person: str, body: str, subject_line: str) -> Reported:
    """A report that opens a case: its acknowledgement and the staff notification."""
    mails = send(
        desk,
        make_mail(sender=person, subject=subject_line, body=body.format(name=name(person))),
    )
    (ack,) = to(mails, address(person))
    ref = TAG.search(subject(ack))
    assert ref, subject(ack)
    (notice,) = [m for m in to(mails, STAFF_NOTIFY) if "New report:" in subject(m)]
    return Reported(ref.group(1), address(person), "", ack, notice)


def reporter_reply_notices(mails: list[Received], ref: str) -> list[Received]:
    return [
        m
        for m in to(mails, STAFF_NOTIFY)
        if f"[{ref}]" in subject(m) and "The reporter replied" in subject(m)
    ]


def run_jobs_at(desk: Desk, moment: dt.datetime, *jobs: str) -> list[Received]:
    """Run the named jobs as the daemon does at `moment`, and deliver what they queued."""
    desk.clock.set(moment)
    app = build(load_config(desk.config), desk.clock)
    mark = len(desk.smtp.received)
    try:
        for job in jobs:
            getattr(app.jobs, job)()
        delivery = app.sender.deliver_due()
        assert delivery.failed == 0 and delivery.deferred == 0
    finally:
        app.close()
    return desk.smtp.received[mark:]


# ============================================================ 5. one text, one language


@pytest.mark.parametrize(
    ("client", "words"),
    [
        ("outlook", "Thank you. We reproduced the problem and will deploy a fix this week."),
        ("gmail", "Dank je. We hebben het probleem nagespeeld en rollen deze week een fix uit."),
    ],
    ids=["outlook-en", "gmail-nl"],
)
def test_a_relay_on_a_case_of_unclear_language_carries_the_staff_text_once(
    desk: Desk, client: str, words: str
) -> None:
    reported = report(desk, JEROEN, UNCLEAR_REPORT, "XSS")
    assert desk.case(reported.ref)["language"] == "unsure"
    original = Original.of(reported.notification.raw)
    build_reply = outlook_reply if client == "outlook" else gmail_reply
    raw = build_reply(original, sender=ANALYST, text=words, language="en")

    mails = send(desk, authenticated(raw, mx_pass(address(ANALYST))))

    (relay,) = to(mails, reported.reporter)
    body = text(relay)
    assert squeeze(body).count(squeeze(words)) == 1, body
    assert "--- English ---" not in body and "English version below" not in body
    assert f"[{reported.ref}]" in subject(relay)


@pytest.mark.parametrize("client", ["gmail", "apple-mail"])
def test_the_reporters_clear_follow_up_settles_the_case_language(desk: Desk, client: str) -> None:
    reported = report(desk, CHLOE, UNCLEAR_REPORT, "XSS")
    ack = Original.of(reported.ack.raw)
    follow_up = (
        "Hello, thanks for the quick answer. The search page is the affected one, and I can "
        "send you a screen recording of the problem if that would help you."
    )
    raw = (
        gmail_reply(ack, sender=CHLOE, text=follow_up, language="en")
        if client == "gmail"
        else apple_mail_reply(ack, sender=CHLOE, text=follow_up, language="en", from_iphone=True)
    )
    send(desk, authenticated(raw, mx_pass(address(CHLOE))))
    assert desk.case(reported.ref)["language"] == "en"

    mails = staff_says(
        desk, reported.notification, "Thanks, a recording would help us.", language="en"
    )
    (relay,) = to(mails, reported.reporter)
    assert "Reactie op je melding" not in subject(relay) and "Kenmerk" not in text(relay)
    assert "About your report" in subject(relay)


def test_staff_set_the_case_language_with_lang_and_it_stands(desk: Desk) -> None:
    reported = report(desk, JEROEN, UNCLEAR_REPORT, "XSS")
    mails = staff_says(
        desk, reported.notification, "#lang nl\n\nDank voor je melding, we kijken ernaar."
    )
    case = desk.case(reported.ref)
    assert case["language"] == "nl"
    (relay,) = to(mails, reported.reporter)
    assert "Reactie op je melding" in subject(relay) and "About your report" not in subject(relay)
    _, confirmed = confirmation(mails, reported.ref)
    assert "language: nl" in confirmed

    # A later reply in English does not override what staff chose.
    raw = thunderbird_reply(
        Original.of(relay.raw),
        sender=JEROEN,
        text="Thank you, that sounds good. I will wait for your next message about the fix.",
        language="en",
    )
    send(desk, authenticated(raw, mx_pass(address(JEROEN))))
    assert desk.case(reported.ref)["language"] == "nl"


# ============================================================ 6. noise


@pytest.mark.parametrize(
    ("client", "language", "words"),
    [
        ("outlook", "nl", "Het gaat om de zoekpagina. Ik kan een video sturen als dat helpt."),
        ("apple-mail", "en", "It is the search page. I can send a video if that helps you."),
        ("thunderbird", "nl", "Het gaat om de zoekpagina. Ik kan een video sturen als dat helpt."),
    ],
    ids=["outlook-nl", "apple-mail-en", "thunderbird-nl"],
)
def test_staff_get_only_the_new_text_of_a_reporter_reply(
    desk: Desk, client: str, language: str, words: str
) -> None:
    reported = report(desk, JEROEN, UNCLEAR_REPORT, "XSS")
    ack = Original.of(reported.ack.raw)
    raw = reply_as(client, ack, sender=JEROEN, text=words, language=language)  # type: ignore[arg-type]
    mails = send(desk, raw)

    (notice,) = reporter_reply_notices(mails, reported.ref)
    body = text(notice)
    assert squeeze(words) in squeeze(body)
    for phrase in ACK_PHRASES:
        assert phrase not in body, f"the quoted acknowledgement reached staff: {phrase!r}"
    assert len(body.splitlines()) < 30, body
    assert "Jeroen" not in body and "jeroen.bakker" not in body


def test_the_digest_names_subject_severity_owner_and_never_calls_an_answered_case_due(
    desk: Desk,
) -> None:
    answered = report(desk, JEROEN, DUTCH_REPORT, "IDOR op facturen, gevonden door Jeroen Bakker")
    waiting = report(desk, CHLOE, ENGLISH_REPORT, "No rate limit on login")
    staff_says(desk, answered.notification, "#severity high\n#assign analyst@example.nl")
    staff_says(desk, answered.notification, "Dank, we hebben het nagespeeld.")

    friday = dt.datetime(2026, 11, 27, 9, 0, tzinfo=AMSTERDAM)
    (digest,) = [m for m in run_jobs_at(desk, friday, "digest") if "digest" in subject(m)]
    body = text(digest)
    lines = body.splitlines()

    assert "IDOR op facturen, gevonden door [reporter]" in body, body
    assert "Jeroen" not in body
    assert "No rate limit on login" in body
    answered_block = "\n".join(lines[i] for i, line in enumerate(lines) if answered.ref in line)
    assert "severity high" in answered_block and "owner analyst@example.nl" in answered_block
    after = body.split(answered.ref, 1)[1].split("PZEM-SEC-", 1)[0]
    assert "first assessment given" in after
    assert "first assessment due" not in after and "first assessment LATE" not in after
    waiting_part = body.split(waiting.ref, 1)[1].split("PZEM-SEC-", 1)[0]
    assert "first assessment due Tuesday 1 December 2026" in waiting_part


def test_reminder_and_escalation_name_subject_severity_owner_and_what_is_late(
    desk: Desk,
) -> None:
    reported = report(desk, JEROEN, DUTCH_REPORT, "Facturen van anderen in te zien (Jeroen Bakker)")
    staff_says(desk, reported.notification, "#severity critical\n#assign analyst@example.nl")

    monday = dt.datetime(2026, 11, 30, 9, 0, tzinfo=AMSTERDAM)
    (reminder,) = [
        m for m in run_jobs_at(desk, monday, "first_response_reminders") if "Reminder" in subject(m)
    ]
    wednesday = dt.datetime(2026, 12, 2, 9, 0, tzinfo=AMSTERDAM)
    (escalation,) = [
        m
        for m in run_jobs_at(desk, wednesday, "first_response_reminders")
        if "OVERDUE" in subject(m)
    ]
    for mail in (reminder, escalation):
        body = text(mail)
        assert "Facturen van anderen in te zien ([reporter])" in body, body
        assert "Jeroen" not in body and "Jeroen" not in subject(mail)
        assert "critical" in body and "analyst@example.nl" in body
    assert "Due:       first assessment, by the end of Tuesday 1 December 2026" in text(reminder)
    assert "1 working day late" in text(escalation)


# ============================================================ 7. closing


@pytest.mark.parametrize(
    ("client", "language", "words"),
    [
        ("outlook", "nl", "Het lek is gedicht. Wil je het hertesten?"),
        ("gmail", "en", "The leak is fixed. Would you like to retest it?"),
    ],
    ids=["outlook-nl", "gmail-en"],
)
def test_text_and_close_in_one_staff_mail_reach_the_reporter_as_one_mail(
    desk: Desk, client: str, language: str, words: str
) -> None:
    body = DUTCH_REPORT if language == "nl" else ENGLISH_REPORT
    reported = report(desk, JEROEN, body, "Lek")
    original = Original.of(reported.notification.raw)
    build_reply = outlook_reply if client == "outlook" else gmail_reply
    raw = build_reply(
        original,
        sender=ANALYST,
        text=f"#close fixed\n\n{words}",
        language=language,  # type: ignore[arg-type]
    )

    mails = send(desk, authenticated(raw, mx_pass(address(ANALYST))))

    (mail,) = to(mails, reported.reporter)
    said = squeeze(text(mail))
    assert said.startswith(squeeze(words)), said[:200]
    assert ("afgerond" if language == "nl" else "completed") in said
    assert desk.case(reported.ref)["state"] == "closed"


@pytest.mark.parametrize("client", ["thunderbird", "apple-mail"])
def test_a_reporter_reply_to_a_closed_case_tells_staff_it_is_closed(
    desk: Desk, client: str
) -> None:
    reported = report(desk, JEROEN, DUTCH_REPORT, "Lek")
    mails = staff_says(desk, reported.notification, "#close fixed")
    (closing,) = to(mails, reported.reporter)

    original = Original.of(closing.raw)
    words = "Het lek staat nog steeds open! Ik kan nog steeds andermans facturen zien."
    raw = (
        thunderbird_reply(original, sender=JEROEN, text=words, language="nl")
        if client == "thunderbird"
        else apple_mail_reply(original, sender=JEROEN, text=words, language="nl")
    )
    mails = send(desk, raw)

    (notice,) = reporter_reply_notices(mails, reported.ref)
    assert "CLOSED" in subject(notice)
    body = text(notice)
    assert "THIS CASE IS CLOSED (fixed" in body
    assert "#reopen" in body
    assert squeeze(words) in squeeze(body)


# ============================================================ 8. credit in prose, follow-ups


@pytest.mark.parametrize(
    ("client", "language", "sentence"),
    [
        ("outlook", "nl", "Jullie mogen mij vermelden als Jeroen Bakker."),
        ("gmail", "en", "Feel free to credit me as Jeroen Bakker, thanks!"),
        ("apple-mail", "nl", "Vermeld mij maar als Jeroen Bakker"),
    ],
    ids=["outlook-nl", "gmail-en", "apple-mail-nl"],
)
def test_credit_consent_in_prose_is_shown_to_staff_by_name_for_confirmation(
    desk: Desk, client: str, language: str, sentence: str
) -> None:
    reported = report(desk, JEROEN, DUTCH_REPORT, "Lek")
    ack = Original.of(reported.ack.raw)
    words = f"Dank voor de bevestiging.\n{sentence}\n\nJeroen"
    raw = reply_as(client, ack, sender=JEROEN, text=words, language=language)  # type: ignore[arg-type]
    mails = send(desk, authenticated(raw, mx_pass(address(JEROEN))))

    (notice,) = reporter_reply_notices(mails, reported.ref)
    body = squeeze(text(notice))
    assert 'asks to be credited as "Jeroen Bakker"' in body, body
    assert "#credit Jeroen Bakker" in body
    assert credits(desk) == [], "a sentence is confirmed by staff before it counts"
    assert "credit-request" in timeline_kinds(desk.case(reported.ref))

    mails = staff_says(desk, notice, "#credit Jeroen Bakker")
    assert credits(desk) == [{"name": "Jeroen Bakker", "ref": reported.ref}]


@pytest.mark.parametrize("client", ["thunderbird", "outlook"])
def test_an_untagged_follow_up_that_refers_to_the_earlier_report_joins_it(
    desk: Desk, client: str
) -> None:
    reported = report(desk, JEROEN, DUTCH_REPORT, "Facturen van andere klanten")
    follow_up = make_mail(
        sender=JEROEN,
        subject="Aanvulling op mijn melding van gisteren",
        body=(
            "Hallo,\n\nNog een aanvulling: ook de creditnota's op /facturen/credit zijn zo in "
            "te zien.\n\nGroet,\nJeroen\n"
        ),
        headers={"X-Mailer": "Microsoft Outlook 16.0"}
        if client == "outlook"
        else {"User-Agent": "Thunderbird/128.5.0"},
    )

    mails = send(desk, follow_up)

    assert [c["ref"] for c in desk.cases()] == [reported.ref], "no second case"
    assert to(mails, reported.reporter) == [], "no second acknowledgement"
    (notice,) = reporter_reply_notices(mails, reported.ref)
    assert "creditnota" in text(notice)
    assert "carried no case tag" in squeeze(text(notice))
    assert desk.case(reported.ref)["messages"] == 2


def test_a_follow_up_that_could_belong_to_two_open_cases_opens_one_and_asks_staff(
    desk: Desk,
) -> None:
    first = report(desk, FENNA, DUTCH_REPORT, "Facturen van andere klanten")
    second = report(desk, FENNA, ENGLISH_REPORT, "No rate limit on login")
    follow_up = make_mail(
        sender=FENNA,
        subject="Follow-up to my earlier report",
        body="Hello,\n\nOne more detail: it also works on the staging host.\n\nFenna\n",
    )

    mails = send(desk, follow_up)

    refs = {c["ref"] for c in desk.cases()}
    assert len(refs) == 3
    (new_ref,) = refs - {first.ref, second.ref}
    (notice,) = [m for m in to(mails, STAFF_NOTIFY) if f"[{new_ref}] New report" in subject(m)]
    body = text(notice)
    assert "other open cases" in body
    assert first.ref in body and second.ref in body


# ============================================================ issue 10: forged credit


def test_an_unauthenticated_credit_request_is_kept_for_staff_and_never_applied(
    desk: Desk,
) -> None:
    reported = report(desk, JEROEN, DUTCH_REPORT, "Lek")
    forged = make_mail(
        sender=JEROEN,
        subject=f"Re: [{reported.ref}] Ontvangstbevestiging",
        body="CREDIT: Visit evil.test for free PoCs\n",
    )

    mails = send(desk, authenticated(forged, unauthenticated(JEROEN)))

    assert credits(desk) == []
    case = desk.case(reported.ref)
    assert case["credit_name"] is None
    requests = [e for e in case["timeline"] if e["kind"] == "credit-request"]
    assert len(requests) == 1 and requests[0]["detail"]["authenticated"] is False
    (notice,) = reporter_reply_notices(mails, reported.ref)
    body = squeeze(text(notice))
    assert 'asks to be credited as "Visit evil.test for free PoCs"' in body
    assert "not authenticated" in body
    assert to(mails, reported.reporter) == []


def test_an_unauthenticated_withdrawal_does_not_remove_the_reporters_credit(
    desk: Desk,
) -> None:
    reported = report(desk, CHLOE, ENGLISH_REPORT, "No rate limit on login")
    ack = Original.of(reported.ack.raw)
    consent = gmail_reply(ack, sender=CHLOE, text="CREDIT: Chloe Turner", language="en")
    send(desk, authenticated(consent, mx_pass(address(CHLOE))))
    assert credits(desk) == [{"name": "Chloe Turner", "ref": reported.ref}]

    forged = make_mail(
        sender=CHLOE,
        subject=f"Re: [{reported.ref}] We have received your report",
        body="NO CREDIT\n",
    )
    mails = send(desk, authenticated(forged, unauthenticated(CHLOE)))

    assert credits(desk) == [{"name": "Chloe Turner", "ref": reported.ref}]
    (notice,) = reporter_reply_notices(mails, reported.ref)
    assert "#credit withdraw" in text(notice)
