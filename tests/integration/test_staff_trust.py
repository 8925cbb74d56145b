"""Staff can trust every mail the desk sends in their name (issue 11), end to end.

Each test replays one thing analysts saw, with replies built the way Outlook (Dutch, text and
HTML, `Van:/Verzonden:` block, logo, signature), Thunderbird, Gmail and Apple Mail build
them, through a real Dovecot and a real SMTP server:

1. an internal note written below a greeting ("Team,\\n#note\\n…") reached the reporter;
2. staff signatures (name, title, phone numbers) reached reporters, and notes kept the whole
   quoted mail;
3. one refused command discarded the whole mail, the text for the reporter with it, without
   giving it back; `#assign` refused colleagues outside `cases.staff`;
4. a staff-address mail that failed authentication opened a case (with a deadline) for the
   staff member.

What a reporter receives is read as the reporter reads it: the relay's text before its "-- "
footer must be exactly what staff meant for them, and nothing else.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import pytest

from tests.integration.test_staff import (
    ANALYST,
    EMMA,
    NOTIFICATION_PHRASES,
    PIETER,
    REPORT_PHRASES,
    Reported,
    address,
    assert_no_staff_address,
    confirmation,
    credits,
    report,
    send,
    squeeze,
    subject,
    text,
    timeline_kinds,
    to,
)
from tests.support.clients import (
    Original,
    apple_mail_reply,
    authenticated,
    gmail_reply,
    mx_pass,
    outlook_reply,
    thunderbird_reply,
)
from tests.support.desk import STAFF_NOTIFY, Desk
from tests.support.dovecot import Dovecot
from tests.support.smtp import SmtpServer

pytestmark = pytest.mark.integration

Language = Literal["nl", "en"]
Client = Callable[[Original, str, Language], bytes]

# A phone number in any of the shapes signatures carry: +31 6 12 34 56 78, 0118-123456, …
PHONE = re.compile(r"(?:\+|00)31[\d\s()-]{8,}|\b0\d{1,3}[\s-]?\d{3}[\s-]?\d{2,4}\b")


@pytest.fixture
def desk(tmp_path: Path, dovecot: Dovecot, smtp: SmtpServer) -> Desk:
    # cases.staff names two analysts; colleagues elsewhere in example.nl are staff-domain
    # addresses too (the default of `cases.staff_domains`).
    return Desk(
        tmp_path,
        dovecot,
        smtp,
        cases={
            "staff": [address(ANALYST), "lead@example.nl"],
            "staff_notify": STAFF_NOTIFY,
            "trusted_authserv_ids": ["mx.example.nl"],
        },
    )


def _outlook(original: Original, body: str, language: Language) -> bytes:
    return outlook_reply(original, sender=ANALYST, text=body, language=language)


def _thunderbird(original: Original, body: str, language: Language) -> bytes:
    return thunderbird_reply(original, sender=ANALYST, text=body, language=language)


def _gmail(original: Original, body: str, language: Language) -> bytes:
    return gmail_reply(original, sender=ANALYST, text=body, language=language)


def _apple(original: Original, body: str, language: Language) -> bytes:
    return apple_mail_reply(original, sender=ANALYST, text=body, language=language)


CLIENTS = [
    pytest.param(_outlook, "nl", id="outlook-nl"),
    pytest.param(_thunderbird, "en", id="thunderbird-en"),
    pytest.param(_gmail, "nl", id="gmail-nl"),
    pytest.param(_apple, "en", id="apple-mail-en"),
]


def reply(desk: Desk, reported: Reported, client: Client, body: str, language: Language) -> list:
    """`body` typed in `client` as a reply to the case's notification, passed by our MX."""
    raw = client(Original.of(reported.notification.raw), body, language)
    return send(desk, authenticated(raw, mx_pass(address(ANALYST))))


def relayed_text(mail: object) -> str:
    """What the reporter reads above the relay's own "-- " footer."""
    typed, _footer = re.split(r"\n-- ?\n", text(mail), maxsplit=1)  # type: ignore[arg-type]
    return typed.strip("\n")


def reporter_mail(desk: Desk, reported: Reported) -> list:
    return [m for m in desk.sent_to(reported.reporter) if m is not reported.ack]


# ============================================================ 1. a note below a greeting

NOTES = {
    "nl": "Team,\n#note\nIntern: dit is een dubbele melding van 0001, niet beantwoorden.",
    "en": "Team,\n#note\nInternal: this duplicates 0001, do not answer it.",
}


@pytest.mark.parametrize(("client", "language"), CLIENTS)
def test_a_note_below_a_greeting_never_reaches_the_reporter(
    desk: Desk, client: Client, language: Language
) -> None:
    reported = report(desk, PIETER if language == "nl" else EMMA, language)

    mails = reply(desk, reported, client, NOTES[language], language)

    assert to(mails, reported.reporter) == [], "an internal note was relayed"
    assert reporter_mail(desk, reported) == []
    case = desk.case(reported.ref)
    assert case["first_response_at"] is None and case["state"] == "acknowledged"
    assert "staff-mail-refused" in timeline_kinds(case)
    _, confirmed = confirmation(mails, reported.ref)
    assert "your text was sent" not in confirmed
    assert "Nothing was sent to the reporter" in confirmed
    assert "#note" in confirmed and "below the top" in squeeze(confirmed)
    # The text comes back, quoted, with one line saying how to send it again.
    assert "> Team," in confirmed and "> #note" in confirmed
    assert "To send it again" in confirmed


# ============================================================ 2. signatures

SIGNED = {
    "nl": (
        "Beste onderzoeker,\n\n"
        "Dank voor je melding. We hebben het lek kunnen naspelen en rollen deze week een "
        "herstel uit.\n\n"
        "Met vriendelijke groet,\n\n"
        "Alice de Wit\n"
        "Security Officer | PZEM\n"
        "T +31 118 123 456 | M +31 6 12 34 56 78\n"
        "[cid:image001.png@01DC5E2A.3B4C5D60]\n"
        "alice.dewit@example.nl | www.example.nl\n\n"
        "Dit e-mailbericht is uitsluitend bestemd voor de geadresseerde(n). Aan dit bericht "
        "kunnen geen rechten worden ontleend."
    ),
    "en": (
        "Dear researcher,\n\n"
        "Thank you for your report. We reproduced the problem and will deploy a fix this "
        "week.\n\n"
        "Kind regards,\n"
        "Alice de Wit\n"
        "Security Officer | PZEM\n"
        "T +31 118 123 456\n"
        "M +31 6 12 34 56 78\n\n"
        "Sent from my iPhone"
    ),
}
SIGNED_RELAY = {
    "nl": (
        "Beste onderzoeker,\n\n"
        "Dank voor je melding. We hebben het lek kunnen naspelen en rollen deze week een "
        "herstel uit.\n\n"
        "Met vriendelijke groet,"
    ),
    "en": (
        "Dear researcher,\n\n"
        "Thank you for your report. We reproduced the problem and will deploy a fix this "
        "week.\n\n"
        "Kind regards,"
    ),
}


@pytest.mark.parametrize(("client", "language"), CLIENTS)
def test_a_staff_signature_never_reaches_the_reporter(
    desk: Desk, client: Client, language: Language
) -> None:
    reported = report(desk, PIETER if language == "nl" else EMMA, language)

    mails = reply(desk, reported, client, SIGNED[language], language)

    (relay,) = to(mails, reported.reporter)
    body = relayed_text(relay)
    assert body == SIGNED_RELAY[language]
    for leak in ("Alice", "Security Officer", "118 123", "12 34 56", "cid:", "uitsluitend"):
        assert leak not in text(relay), leak
    assert not PHONE.search(text(relay)), PHONE.search(text(relay))
    assert_no_staff_address(relay)
    assert "alice.dewit" not in relay.raw.decode("ascii", "replace").lower()
    _, confirmed = confirmation(mails, reported.ref)
    assert "your text was sent to the reporter from the team address" in confirmed
    first_line = SIGNED_RELAY[language].split("\n")[0]
    assert f"> {first_line}" in confirmed, "the confirmation quotes what was relayed"


@pytest.mark.parametrize(("client", "language"), CLIENTS)
def test_a_note_keeps_the_staff_text_and_not_the_quoted_mail(
    desk: Desk, client: Client, language: Language
) -> None:
    reported = report(desk, PIETER if language == "nl" else EMMA, language)
    words = {
        "nl": "Hosting is gebeld, de fix staat voor dinsdag gepland.",
        "en": "Called the hosting party; the fix is planned for Tuesday.",
    }[language]
    body = f"#note\n{words}\n\nGroet,\nAlice de Wit\nT +31 118 123 456"

    mails = reply(desk, reported, client, body, language)

    assert to(mails, reported.reporter) == []
    notes = [e for e in desk.case(reported.ref)["timeline"] if e["kind"] == "note"]
    assert len(notes) == 1
    kept = notes[0]["detail"]["text"]
    assert squeeze(words) in squeeze(kept)
    for phrase in (*NOTIFICATION_PHRASES, REPORT_PHRASES[language], "118 123", "Alice"):
        assert phrase not in kept, f"the note kept {phrase!r}"


# ============================================================ 3. one refused command


def test_one_refused_command_applies_nothing_and_gives_the_text_back(desk: Desk) -> None:
    reported = report(desk, PIETER)
    words = (
        "Beste onderzoeker,\n\nWe hebben je melding beoordeeld: het lek is echt en we pakken "
        "het deze week op.\n\nMet vriendelijke groet,"
    )
    body = f"#credit Sanne de Vries\n#assign bob@example.test\n\n{words}"

    mails = reply(desk, reported, _outlook, body, "nl")

    assert to(mails, reported.reporter) == []
    case = desk.case(reported.ref)
    assert case["credit_name"] is None and case["owner"] is None
    assert credits(desk) == []
    mail, confirmed = confirmation(mails, reported.ref)
    assert "nothing changed" in subject(mail)
    flat = squeeze(confirmed)
    assert "Nothing was applied" in flat
    assert "#credit Sanne de Vries" in flat, "the valid command is named as not applied"
    assert "not in the staff domain" in flat
    for line in words.split("\n"):
        assert (f"> {line}" if line else ">") in confirmed.split("\n"), line
    assert "To send it again" in confirmed


def test_a_bare_credit_and_a_refused_assign_give_the_text_back(desk: Desk) -> None:
    reported = report(desk, EMMA, "en")
    words = "Dear researcher,\n\nWe confirmed the issue and are working on a fix."
    body = f"#credit\n#assign bob@example.test\n#severity high\n\n{words}"

    mails = reply(desk, reported, _gmail, body, "en")

    assert to(mails, reported.reporter) == []
    assert desk.case(reported.ref)["severity"] is None
    _, confirmed = confirmation(mails, reported.ref)
    assert "#credit takes the name to credit" in confirmed
    assert "#severity high" in squeeze(confirmed)
    assert "> We confirmed the issue and are working on a fix." in confirmed


def test_assign_takes_any_colleague_in_the_staff_domain(desk: Desk) -> None:
    reported = report(desk, PIETER)
    words = "Beste onderzoeker,\n\nDank voor je melding; we nemen het deze week in behandeling."
    body = f"#credit Sanne de Vries\n#assign bob@example.nl\n\n{words}"

    mails = reply(desk, reported, _thunderbird, body, "nl")

    case = desk.case(reported.ref)
    assert case["owner"] == "bob@example.nl"
    assert case["credit_name"] == "Sanne de Vries"
    (relay,) = to(mails, reported.reporter)
    assert relayed_text(relay) == words
    _, confirmed = confirmation(mails, reported.ref)
    assert "owner: bob@example.nl" in confirmed


# ============================================================ 4. failed authentication


@pytest.mark.parametrize(("client", "language"), CLIENTS)
def test_a_staff_address_mail_that_fails_authentication_opens_no_case(
    desk: Desk, client: Client, language: Language
) -> None:
    reported = report(desk, PIETER if language == "nl" else EMMA, language)
    raw = client(Original.of(reported.notification.raw), SIGNED[language], language)
    before = {c["ref"] for c in desk.cases()}

    mails = send(desk, raw)  # no Authentication-Results from our MX

    assert {c["ref"] for c in desk.cases()} == before, "a case was opened"
    assert to(mails, reported.reporter) == []
    assert to(mails, address(ANALYST)) == []
    staff = [subject(m) for m in to(mails, STAFF_NOTIFY)]
    assert not [s for s in staff if "New report" in s], staff
    warnings = [s for s in staff if s.startswith("Warning: a mail used the staff address")]
    assert len(warnings) == 1, staff
    (warning,) = [m for m in to(mails, STAFF_NOTIFY) if subject(m) == warnings[0]]
    assert "opened no case" in squeeze(text(warning))
