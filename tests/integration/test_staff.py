"""Staff working the desk by e-mail, end to end through real mail (issue 5).

Staff answer reporters by replying to the desk's notifications from Outlook, Thunderbird or
Gmail, and steer cases with `#command` lines at the top of those replies. The promises at
stake are about the bytes people receive: a reporter gets exactly what the staff member
typed, from the team address, threaded in their own conversation, and never a staff address,
a signature, an internal note or the desk's notification that the mail client quoted below
it; a mail that merely *claims* a staff address changes nothing and reaches nobody; a tag is
not a credential; a command that is wrong or not allowed changes nothing and relays nothing;
a relayed answer keeps the first-assessment promise and an internal note does not; credit is
given only with consent, and consent can be taken back.

Those are properties of whole mails passing through the whole daemon, so the tests build
replies the way the clients build them (`tests/support/clients.py`), put them into a real
Dovecot over IMAP with the `Authentication-Results` header the organisation's MX would add,
run the daemon for one pass (`mailtriage run --once`), and read what a real SMTP server on
loopback received and what `mailtriage case REF --json` says. No mocks. Reserved domains
only: example.nl is the organisation and its staff, example.test everybody else.
"""

from __future__ import annotations

import datetime as dt
import email.policy
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import make_msgid
from pathlib import Path
from typing import Any, Literal

import pytest

from mailtriage.config import load_config
from mailtriage.outgoing.dates import format_date
from mailtriage.policy.workdays import Calendar
from mailtriage.service.wiring import build
from tests.support.clients import (
    AMSTERDAM,
    Original,
    authenticated,
    forward_as_attachment,
    gmail_forward_inline,
    gmail_reply,
    mx_pass,
    outlook_reply,
    thunderbird_reply,
)
from tests.support.desk import STAFF_NOTIFY, TEAM_ADDRESS, Desk, body_text
from tests.support.dovecot import Dovecot
from tests.support.mails import make_mail
from tests.support.smtp import Received, SmtpServer

pytestmark = pytest.mark.integration

TAG = re.compile(r"\[(PZEM-SEC-\d{4}-\d{4})\]")

ANALYST = "Jan Visser <analyst@example.nl>"
LEAD = "Marieke de Boer <lead@example.nl>"
STAFF_ADDRESSES = ("analyst@example.nl", "lead@example.nl", STAFF_NOTIFY)

PIETER = "Pieter Jansen <pieter.jansen@example.test>"
EMMA = "Emma Clarke <emma.clarke@example.test>"
BAS = "Bas Hendriks <bas.hendriks@example.test>"
KEES = "Kees Mulder <kees.mulder@example.test>"
JOOST = "Joost Bakker <joost.bakker@example.test>"
LINDA = "Linda Smit <linda.smit@example.test>"

DUTCH_REPORT = (
    "Hallo,\n\nIk heb op https://portal.example.nl/zoek een kwetsbaarheid gevonden. Als je in "
    "het zoekveld een script invult, wordt dat in de pagina uitgevoerd. Dat heb ik op "
    "27-11-2026 om 14:05 vastgesteld.\n\nMet vriendelijke groet,\n{name}\n{phone}\n"
)
ENGLISH_REPORT = (
    "Hello,\n\nI found a reflected cross-site scripting vulnerability on "
    "https://www.example.nl/search. The q parameter is written into the page without "
    "encoding, so a link can run script in the browser of anyone who opens it. I saw this "
    "on 27 November 2026 at 14:05.\n\nBest regards,\n{name}\n{phone}\n"
)
# Phrases of the report and of the notification: the quoted part of a staff reply.
REPORT_PHRASES = {"nl": "een script invult", "en": "written into the page without"}
NOTIFICATION_PHRASES = (
    "A new case has been opened",
    "First assessment due",
    "What the report points at",
    "To answer the reporter",
    "[reporter]",
    "[phone]",
)

# What staff type, in both languages. The closing belongs to the message and is relayed.
STAFF_TEXT = {
    "nl": (
        "Beste onderzoeker,\n\n"
        "Dank voor je melding. We hebben het probleem kunnen naspelen op onze testomgeving "
        "en rollen deze week een herstel uit. We laten je weten wanneer dat gebeurd is.\n\n"
        "Met vriendelijke groet,\nHet securityteam"
    ),
    "en": (
        "Dear researcher,\n\n"
        "Thank you for your report. We reproduced the problem on our test environment and "
        "will deploy a fix this week. We will let you know once it is live.\n\n"
        "Kind regards,\nThe security team"
    ),
}
SIGNATURE = (
    "Jan Visser | Security analist\n"
    "analyst@example.nl | +31 6 1234 5678\n"
    "Interne notitie: hosting pas na de fix informeren"
)
SIGNATURE_PHRASES = ("Jan Visser", "Security analist", "1234 5678", "Interne notitie")


def address(person: str) -> str:
    return person.split("<", 1)[1].rstrip(">")


def name(person: str) -> str:
    return person.split("<", 1)[0].strip()


def squeeze(text: str) -> str:
    return " ".join(text.split())


# --------------------------------------------------------------------------- fixtures


@pytest.fixture
def desk(tmp_path: Path, dovecot: Dovecot, smtp: SmtpServer) -> Desk:
    return Desk(
        tmp_path,
        dovecot,
        smtp,
        cases={
            "staff": [address(ANALYST), address(LEAD)],
            "staff_notify": STAFF_NOTIFY,
            "trusted_authserv_ids": ["mx.example.nl"],
        },
    )


# --------------------------------------------------------------------------- helpers


@dataclass(frozen=True)
class Reported:
    """A report that went through the desk: its case, and the two mails it caused."""

    ref: str
    reporter: str  # address
    report_id: str  # the report's Message-ID
    ack: Received  # the acknowledgement, as the reporter received it
    notification: Received  # "[REF] New report: …", as staff_notify received it


def send(desk: Desk, *raws: bytes) -> list[Received]:
    """Deliver `raws` into the IMAP inbox, run one pass; the mails that pass sent."""
    mark = len(desk.smtp.received)
    desk.deliver(*raws)
    desk.run_once()
    return desk.smtp.received[mark:]


def to(mails: list[Received], recipient: str) -> list[Received]:
    return [m for m in mails if recipient in m.recipients]


def subject(mail: Received) -> str:
    return str(mail.message["Subject"])


def text(mail: Received) -> str:
    return body_text(mail.raw).replace("\r\n", "\n")


def report(desk: Desk, person: str, language: Literal["nl", "en"] = "nl") -> Reported:
    body = DUTCH_REPORT if language == "nl" else ENGLISH_REPORT
    report_id = make_msgid("report", domain="example.test")
    mails = send(
        desk,
        make_mail(
            sender=person,
            subject="Kwetsbaarheid in het klantportaal"
            if language == "nl"
            else "XSS on the search page",
            body=body.format(name=name(person), phone="06-98765432"),
            message_id=report_id,
        ),
    )
    (ack,) = to(mails, address(person))
    ref = TAG.search(subject(ack))
    assert ref, subject(ack)
    notices = [m for m in to(mails, STAFF_NOTIFY) if f"[{ref.group(1)}] New report:" in subject(m)]
    assert len(notices) == 1, [subject(m) for m in to(mails, STAFF_NOTIFY)]
    return Reported(ref.group(1), address(person), report_id, ack, notices[0])


def staff_says(
    desk: Desk,
    answering: Received,
    body: str,
    *,
    sender: str = ANALYST,
    language: Literal["nl", "en"] = "nl",
) -> list[Received]:
    """A staff member answers `answering` from Thunderbird, authenticated by our MX."""
    raw = thunderbird_reply(Original.of(answering.raw), sender=sender, text=body, language=language)
    return send(desk, authenticated(raw, mx_pass(address(sender))))


def confirmation(mails: list[Received], ref: str, sender: str = ANALYST) -> tuple[Received, str]:
    """The one confirmation the staff member got in `mails`, and its text."""
    found = to(mails, address(sender))
    assert len(found) == 1, [subject(m) for m in found]
    assert f"[{ref}] Done:" in subject(found[0]), subject(found[0])
    return found[0], text(found[0])


def credits(desk: Desk) -> list[dict[str, Any]]:
    try:
        code, out = desk.cli("credits", "--json")
    except SystemExit as exc:  # argparse: no such command
        pytest.fail(f"`mailtriage credits --json` is not available (exit {exc.code})")
    assert code == 0, f"mailtriage credits --json exited {code}"
    listed: list[dict[str, Any]] = json.loads(out)
    for entry in listed:
        assert set(entry) == {"name", "ref"}, entry  # names and references, nothing else
    return listed


def timeline_kinds(case: dict[str, Any]) -> list[str]:
    return [event["kind"] for event in case["timeline"]]


def assert_untouched(desk: Desk, reported: Reported, messages: int = 1) -> None:
    """The case is as the acknowledgement left it, and its reporter had nothing else.
    `messages`: the mails filed on the case (a refused staff mail is kept with it)."""
    case = desk.case(reported.ref)
    assert case["state"] == "acknowledged"
    assert case["close_reason"] is None and case["closed_at"] is None
    assert case["first_response_at"] is None
    assert case["messages"] == messages
    kinds = timeline_kinds(case)
    assert not {"staff-mail", "first-response", "note", "severity", "credit"} & set(kinds), kinds
    assert desk.sent_to(reported.reporter) == [reported.ack]


def assert_no_staff_address(mail: Received) -> None:
    raw = mail.raw.lower()
    body = text(mail).lower()
    for staff in STAFF_ADDRESSES:
        assert staff.encode() not in raw, f"{staff} in the bytes of {subject(mail)!r}"
        assert staff not in body, f"{staff} in the text of {subject(mail)!r}"


# ============================================================ 1. replies from real clients

Client = Callable[[Original, str, Literal["nl", "en"]], bytes]


def _thunderbird(original: Original, body: str, language: Literal["nl", "en"]) -> bytes:
    return thunderbird_reply(
        original, sender=ANALYST, text=body, language=language, signature=SIGNATURE
    )


def _gmail(original: Original, body: str, language: Literal["nl", "en"]) -> bytes:
    return gmail_reply(original, sender=ANALYST, text=body, language=language, signature=SIGNATURE)


def _gmail_html(original: Original, body: str, language: Literal["nl", "en"]) -> bytes:
    return gmail_reply(
        original,
        sender=ANALYST,
        text=body,
        language=language,
        signature=SIGNATURE,
        html_only=True,
    )


def _outlook(original: Original, body: str, language: Literal["nl", "en"]) -> bytes:
    return outlook_reply(original, sender=ANALYST, text=body, language=language)


def _outlook_html(original: Original, body: str, language: Literal["nl", "en"]) -> bytes:
    return outlook_reply(original, sender=ANALYST, text=body, language=language, html_only=True)


@pytest.mark.parametrize(
    ("client", "language"),
    [
        (_thunderbird, "nl"),
        (_thunderbird, "en"),
        (_gmail, "nl"),
        (_gmail_html, "en"),
        (_outlook, "en"),
        (_outlook, "nl"),
        (_outlook_html, "nl"),
    ],
    ids=[
        "thunderbird-nl",
        "thunderbird-en",
        "gmail-nl",
        "gmail-html-only-en",
        "outlook-en",
        "outlook-nl",
        "outlook-html-only-nl",
    ],
)
def test_a_staff_reply_reaches_the_reporter_as_exactly_the_new_text_from_the_team(
    desk: Desk, client: Client, language: Literal["nl", "en"]
) -> None:
    reporter = PIETER if language == "nl" else EMMA
    reported = report(desk, reporter, language)
    original = Original.of(reported.notification.raw)
    assert "New report:" in original.subject
    raw = authenticated(client(original, STAFF_TEXT[language], language), mx_pass(address(ANALYST)))
    staff_id = str(email.message_from_bytes(raw, policy=email.policy.default)["Message-ID"])

    mails = send(desk, raw)

    relays = to(mails, reported.reporter)
    assert len(relays) == 1, [subject(m) for m in relays]
    relay = relays[0]
    message = relay.message
    assert relay.recipients == (reported.reporter,)
    assert message["From"].addresses[0].addr_spec == TEAM_ADDRESS
    assert f"[{reported.ref}]" in subject(relay)
    assert message["In-Reply-To"] == reported.report_id, "threaded under the reporter's report"
    assert reported.report_id in str(message["References"]).split()
    assert staff_id not in relay.raw.decode("ascii", "replace"), "the staff mail's id leaked"

    body = text(relay)
    # The relay template's own footer starts at its signature delimiter (see the next test).
    typed, footer = re.split(r"\n-- ?\n", body, maxsplit=1)
    assert reported.ref in footer
    assert squeeze(typed) == squeeze(STAFF_TEXT[language]), "exactly what staff typed"
    for phrase in (*NOTIFICATION_PHRASES, REPORT_PHRASES[language]):
        assert phrase not in body, f"quoted notification relayed: {phrase!r}"
    for phrase in SIGNATURE_PHRASES:
        assert phrase not in body, f"signature relayed: {phrase!r}"
        assert phrase.encode() not in relay.raw
    for attribution in ("wrote:", "schreef", "Van:", "From:", "Verzonden:", "Sent:"):
        assert attribution not in body, f"quote header relayed: {attribution!r}"
    assert_no_staff_address(relay)

    case = desk.case(reported.ref)
    assert case["state"] == "triaged"
    assert case["first_response_at"] is not None
    assert "first-response" in timeline_kinds(case)

    _, confirmed = confirmation(mails, reported.ref)
    assert "Results:" in confirmed
    assert "your text was sent to the reporter from the team address" in confirmed
    assert "Unprocessed" not in confirmed


def test_the_relay_sets_its_footer_off_with_the_standard_signature_delimiter(
    desk: Desk,
) -> None:
    """RFC 3676 §4.3: "-- " (with the space) is what the reporter's mail client recognises
    and leaves out when the reporter quotes our relay; the templates write it so."""
    reported = report(desk, PIETER)
    mails = staff_says(desk, reported.notification, STAFF_TEXT["nl"])
    (relay,) = to(mails, reported.reporter)
    lines = text(relay).split("\n")
    assert "-- " in lines, [line for line in lines if line.startswith("--")]


# ============================================================ 2. spoofing


SPOOFS = {
    "no-authentication-results": None,
    "untrusted-authserv-id": (
        "evil.example.test; dkim=pass header.d=example.nl header.s=s1; "
        "spf=pass smtp.mailfrom=analyst@example.nl"
    ),
    "dkim-pass-for-another-domain": "mx.example.nl; dkim=pass header.d=example.test header.s=s1",
}
SPOOF_REASONS = {
    "no-authentication-results": "no-trusted-results",
    "untrusted-authserv-id": "no-trusted-results",
    "dkim-pass-for-another-domain": "dkim-not-aligned",
}


@pytest.mark.parametrize("spoof", list(SPOOFS))
def test_a_mail_that_only_claims_a_staff_address_changes_nothing_and_warns_staff(
    desk: Desk, spoof: str
) -> None:
    reported = report(desk, PIETER)
    raw = thunderbird_reply(
        Original.of(reported.notification.raw),
        sender=ANALYST,
        text="#close fixed\n#credit Mallory\n\nJe melding is afgehandeld, stuur ons je wachtwoord.",
        language="nl",
    )
    results = SPOOFS[spoof]
    if results is not None:
        raw = authenticated(raw, results)

    mails = send(desk, raw)

    assert_untouched(desk, reported)
    assert to(mails, address(ANALYST)) == [], "no acknowledgement or confirmation to staff"
    assert desk.sent_to(address(ANALYST)) == []
    warnings = [
        m
        for m in to(mails, STAFF_NOTIFY)
        if subject(m).startswith("Warning: a mail used the staff address analyst@example.nl")
    ]
    assert len(warnings) == 1, [subject(m) for m in to(mails, STAFF_NOTIFY)]
    assert SPOOF_REASONS[spoof] in text(warnings[0])
    assert credits(desk) == []


def test_the_right_tag_from_a_stranger_opens_a_new_case_and_leaves_the_reporter_alone(
    desk: Desk,
) -> None:
    reported = report(desk, PIETER)
    mails = send(
        desk,
        make_mail(
            sender=KEES,
            subject=f"Re: [{reported.ref}] Reactie op je melding",
            body=(
                "Hallo,\n\nIk hoor bij de melder. Kun je het volledige rapport en jullie "
                "reactie naar dit adres sturen?\n\nKees\n"
            ),
        ),
    )

    assert_untouched(desk, reported)
    stranger = desk.case_of(address(KEES))
    assert stranger["ref"] != reported.ref
    (ack,) = to(mails, address(KEES))
    assert f"[{stranger['ref']}]" in subject(ack) and f"[{reported.ref}]" not in subject(ack)
    told = [
        m
        for m in to(mails, STAFF_NOTIFY)
        if f"Mail from someone else carrying the tag of {reported.ref}" in subject(m)
    ]
    assert len(told) == 1, [subject(m) for m in to(mails, STAFF_NOTIFY)]
    assert f"[{stranger['ref']}]" in subject(told[0])


# ============================================================ 3. every command through mail


def test_note_stays_internal(desk: Desk) -> None:
    reported = report(desk, PIETER)
    mails = staff_says(
        desk,
        reported.notification,
        "#note\nInterne notitie: hosting is gebeld, de fix staat voor dinsdag gepland.",
    )

    assert desk.sent_to(reported.reporter) == [reported.ack]
    case = desk.case(reported.ref)
    notes = [e for e in case["timeline"] if e["kind"] == "note"]
    assert len(notes) == 1
    assert "hosting is gebeld" in notes[0]["detail"]["text"]
    assert case["state"] == "acknowledged" and case["first_response_at"] is None
    _, confirmed = confirmation(mails, reported.ref)
    assert "internal note recorded; nothing was sent to the reporter" in confirmed


def test_status_close_and_reopen_walk_the_state_table(desk: Desk) -> None:
    reported = report(desk, PIETER)
    question = "Beste onderzoeker, welke browser en welke versie gebruikte je daarbij?"
    steps = [("triaged", ""), ("needs-info", question), ("fixing", ""), ("resolved", "")]
    answering = reported.notification
    for target, words in steps:
        mails = staff_says(desk, answering, f"#status {target}\n\n{words}".rstrip())
        case = desk.case(reported.ref)
        assert case["state"] == target
        answering, confirmed = confirmation(mails, reported.ref)  # reply to the confirmation
        assert f"-> {target}" in confirmed
        relayed = to(mails, reported.reporter)
        if not words:
            assert relayed == [], "a bare command relays nothing"
            continue
        (relay,) = relayed
        assert squeeze(words) in squeeze(text(relay))
        assert_no_staff_address(relay)
        assert case["first_response_at"] is not None

    last_word = "Het lek is gedicht. Nogmaals dank voor je melding!"
    mails = staff_says(desk, answering, f"#close fixed\n\n{last_word}")
    case = desk.case(reported.ref)
    assert case["state"] == "closed" and case["close_reason"] == "fixed"
    # One mail: the last word first, then the closing notice (issue 11, observation 7).
    (closing,) = to(mails, reported.reporter)
    assert squeeze(text(closing)).startswith(squeeze(last_word))
    assert f"[{reported.ref}]" in subject(closing)
    assert "afgerond" in subject(closing)
    assert closing.message["From"].addresses[0].addr_spec == TEAM_ADDRESS
    closed_at = dt.datetime.fromisoformat(case["closed_at"])
    erasure = (closed_at + dt.timedelta(days=90)).astimezone(AMSTERDAM).date()
    assert f"op {format_date(erasure, 'nl')}" in squeeze(text(closing))
    assert "de kwetsbaarheid is verholpen" in squeeze(text(closing))
    assert_no_staff_address(closing)
    answering, confirmed = confirmation(mails, reported.ref)
    assert "closed (fixed); the reporter was sent the closing message" in confirmed

    mails = staff_says(desk, answering, "#reopen")
    case = desk.case(reported.ref)
    assert case["state"] == "triaged"
    assert case["close_reason"] is None and case["closed_at"] is None
    assert to(mails, reported.reporter) == []
    states = [e["detail"]["to"] for e in case["timeline"] if e["kind"] == "state"]
    assert states == [
        "acknowledged",
        "triaged",
        "needs-info",
        "fixing",
        "resolved",
        "closed",
        "triaged",
    ]


def test_severity_assign_credit_and_hold_are_recorded(desk: Desk) -> None:
    reported = report(desk, PIETER)

    mails = staff_says(desk, reported.notification, "#severity high\n#assign lead@example.nl")
    case = desk.case(reported.ref)
    assert case["severity"] == "high" and case["owner"] == "lead@example.nl"
    _, confirmed = confirmation(mails, reported.ref)
    assert "severity: high" in confirmed and "owner: lead@example.nl" in confirmed

    mails = staff_says(desk, reported.notification, "#credit Sanne de Vries")
    assert desk.case(reported.ref)["credit_name"] == "Sanne de Vries"
    assert credits(desk) == [{"name": "Sanne de Vries", "ref": reported.ref}]
    assert "credit recorded: Sanne de Vries" in confirmation(mails, reported.ref)[1]

    mails = staff_says(desk, reported.notification, "#hold")
    assert desk.case(reported.ref)["legal_hold"] is True
    assert "legal hold: on" in confirmation(mails, reported.ref)[1]

    mails = staff_says(desk, reported.notification, "#credit withdraw\n#release")
    case = desk.case(reported.ref)
    assert case["credit_name"] is None and case["legal_hold"] is False
    assert credits(desk) == []
    confirmed = confirmation(mails, reported.ref)[1]
    assert "credit withdrawn" in confirmed and "legal hold: released" in confirmed

    assert desk.sent_to(reported.reporter) == [reported.ack], "bookkeeping reaches no reporter"
    assert desk.case(reported.ref)["state"] == "acknowledged"


def test_an_unknown_command_is_refused_with_a_reason_and_nothing_is_relayed(desk: Desk) -> None:
    reported = report(desk, PIETER)
    mails = staff_says(
        desk,
        reported.notification,
        "#stauts fixing\n\nBeste onderzoeker, we werken aan een oplossing.",
    )

    assert_untouched(desk, reported, messages=2)
    assert "staff-mail-refused" in timeline_kinds(desk.case(reported.ref))
    _, confirmed = confirmation(mails, reported.ref)
    assert "Unprocessed" in confirmed
    assert "unknown command '#stauts'" in confirmed and "did you mean #status?" in confirmed
    assert "nothing changed" in subject(to(mails, address(ANALYST))[0])


def test_a_status_change_on_a_closed_case_is_refused_and_nothing_is_relayed(
    desk: Desk,
) -> None:
    reported = report(desk, PIETER)
    staff_says(desk, reported.notification, "#close duplicate")
    closed = desk.case(reported.ref)
    assert closed["state"] == "closed" and closed["close_reason"] == "duplicate"
    before = desk.sent_to(reported.reporter)

    mails = staff_says(
        desk,
        reported.notification,
        "#status fixing\n\nBeste onderzoeker, het lek blijkt toch nog open te staan.",
    )

    case = desk.case(reported.ref)
    assert case["state"] == "closed" and case["close_reason"] == "duplicate"
    assert desk.sent_to(reported.reporter) == before
    assert to(mails, reported.reporter) == []
    _, confirmed = confirmation(mails, reported.ref)
    assert "a closed case cannot change status; #reopen it first" in squeeze(confirmed)


# ============================================================ 4. the first-assessment promise


def test_a_relayed_answer_keeps_the_promise_and_an_internal_note_does_not(desk: Desk) -> None:
    answered = report(desk, PIETER)
    noted = report(desk, EMMA, "en")
    staff_says(desk, answered.notification, STAFF_TEXT["nl"])
    staff_says(
        desk, noted.notification, "#note\nInternal: waiting for the hosting party.", language="en"
    )
    assert desk.case(answered.ref)["first_response_at"] is not None
    assert desk.case(noted.ref)["first_response_at"] is None

    config = load_config(desk.config)
    calendar = Calendar.from_config(config.deadlines)
    days: set[dt.date] = set()
    for ref in (answered.ref, noted.ref):
        due = dt.datetime.fromisoformat(desk.case(ref)["first_response_due"]).date()
        days |= {calendar.previous_workday(due), calendar.add_workdays(due, 1)}

    app = build(config, desk.clock)
    try:
        mark = len(desk.smtp.received)
        for day in sorted(days):
            desk.clock.set(dt.datetime.combine(day, dt.time(10, 0), tzinfo=AMSTERDAM))
            app.jobs.first_response_reminders()
            delivery = app.sender.deliver_due()
            assert delivery.failed == 0 and delivery.deferred == 0
    finally:
        app.close()

    staff = [subject(m) for m in to(desk.smtp.received[mark:], STAFF_NOTIFY)]
    assert [s for s in staff if f"[{answered.ref}]" in s] == [], staff
    assert any(s.startswith(f"[{noted.ref}] Reminder: first assessment due") for s in staff), staff
    assert any(s.startswith(f"[{noted.ref}] OVERDUE") for s in staff), staff


# ============================================================ 5. credit consent


@pytest.mark.parametrize(
    ("language", "consent", "refusal"),
    [
        ("nl", "VERMELDING: Sanne de Vries", "GEEN VERMELDING"),
        ("en", "CREDIT: Sanne de Vries", "NO CREDIT"),
    ],
    ids=["dutch", "english"],
)
def test_the_reporter_gives_and_withdraws_credit_consent_by_reply(
    desk: Desk, language: Literal["nl", "en"], consent: str, refusal: str
) -> None:
    reported = report(desk, BAS, language)
    ack = Original.of(reported.ack.raw)
    assert ("VERMELDING: je naam" if language == "nl" else "CREDIT:") in ack.text
    words = {
        "nl": "Dank voor de bevestiging. Ik heb dit samen met Sanne gevonden; noem haar naam.",
        "en": "Thanks for confirming. I found this together with Sanne; please credit her.",
    }[language]
    # The reporter's provider signs with DKIM; our MX records the pass (issue 10: credit
    # changes need an authenticated reporter mail).
    mails = send(
        desk,
        authenticated(
            thunderbird_reply(
                ack,
                sender=BAS,
                text=f"{words}\n{consent}\n\n{name(BAS)}\n06-98765432",
                language=language,
            ),
            mx_pass(address(BAS)),
        ),
    )

    assert credits(desk) == [{"name": "Sanne de Vries", "ref": reported.ref}]
    assert desk.case(reported.ref)["credit_name"] == "Sanne de Vries"
    assert to(mails, reported.reporter) == [], "a reporter's reply is not answered"
    forwarded = [m for m in to(mails, STAFF_NOTIFY) if "The reporter replied" in subject(m)]
    assert len(forwarded) == 1, [subject(m) for m in to(mails, STAFF_NOTIFY)]
    staff_copy = forwarded[0]
    assert f"[{reported.ref}]" in subject(staff_copy)
    # Staff hear that consent was given; the name they find in the case.
    assert "consented to be credited" in text(staff_copy)
    assert "noem haar naam" in text(staff_copy) or "please credit her" in text(staff_copy)
    for secret in (reported.reporter, name(BAS), "06-98765432", "bas.hendriks"):
        assert secret.lower().encode() not in staff_copy.raw.lower(), secret
        assert secret.lower() not in text(staff_copy).lower(), secret

    mails = send(
        desk,
        authenticated(
            thunderbird_reply(ack, sender=BAS, text=f"{refusal}\n\n{name(BAS)}", language=language),
            mx_pass(address(BAS)),
        ),
    )
    assert credits(desk) == []
    assert desk.case(reported.ref)["credit_name"] is None
    (withdrawn,) = [m for m in to(mails, STAFF_NOTIFY) if "The reporter replied" in subject(m)]
    assert "does not want to be credited" in text(withdrawn)


@pytest.mark.parametrize("client", ["thunderbird", "outlook"])
def test_the_acknowledgements_own_example_quoted_in_a_reply_is_not_consent(
    desk: Desk, client: str
) -> None:
    reported = report(desk, BAS)
    ack = Original.of(reported.ack.raw)
    words = "Bedankt! De URL en het tijdstip staan in mijn eerste mail."
    raw = (
        thunderbird_reply(ack, sender=BAS, text=words, language="nl")
        if client == "thunderbird"
        else outlook_reply(ack, sender=BAS, text=words, language="nl")
    )
    send(desk, raw)

    case = desk.case(reported.ref)
    assert case["messages"] == 2
    assert case["credit_name"] is None
    assert credits(desk) == []


# ============================================================ 6. reports forwarded by staff


@pytest.mark.parametrize("how", ["attached", "inline"])
def test_a_report_forwarded_by_staff_opens_a_case_for_its_sender(desk: Desk, how: str) -> None:
    person = JOOST if how == "attached" else LINDA
    original = make_mail(
        sender=person,
        to="PZEM Klantenservice <info@example.nl>",
        subject="Lek in de webwinkel",
        body=(
            "Beste PZEM,\n\nIn de webwinkel op https://winkel.example.nl/bestelling?id=1 kan "
            "ik door het id te veranderen de bestellingen van andere klanten zien. Vastgesteld "
            "op 26-11-2026 om 21:15.\n\nGroet,\n" + name(person) + "\n"
        ),
    )
    forward = forward_as_attachment if how == "attached" else gmail_forward_inline
    raw = forward(
        original,
        sender=LEAD,
        to=TEAM_ADDRESS,
        text="Deze kwam binnen via de klantenservice, graag als melding oppakken.\n",
    )
    mails = send(desk, authenticated(raw, mx_pass(address(LEAD))))

    case = desk.case_of(address(person))
    suppressed = [e["detail"] for e in case["timeline"] if e["kind"] == "reply-suppressed"]
    assert suppressed == [], f"acknowledgement suppressed: {suppressed}"
    assert case["state"] == "acknowledged", case["state"]
    assert case["first_response_due"] is not None
    confirmed = to(mails, address(LEAD))
    assert len(confirmed) == 1, [subject(m) for m in confirmed]
    assert f"case {case['ref']} opened for the forwarded report" in text(confirmed[0])

    acks = to(mails, address(person))
    assert len(acks) == 1, "the forwarded report's sender gets the acknowledgement"
    ack = acks[0]
    assert f"[{case['ref']}]" in subject(ack)
    assert ack.message["From"].addresses[0].addr_spec == TEAM_ADDRESS
    assert_no_staff_address(ack)
    assert "Deze kwam binnen via de klantenservice" not in text(ack)
