"""The labelled set of staff replies (tests/staffreplies/labels.toml) against the relay.

Each reply is built as its mail client builds it (quoted desk notification, Outlook header
block, HTML parts), parsed by the desk's own parser, and read by the one decision that says
what reaches a reporter (`staffmail.read_staff_mail`). The relayed text must equal the label
exactly, and no phone number, staff address or signature line may be in it.
"""

from __future__ import annotations

import tomllib
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any

import pytest

from mailtriage.desk.staffcommands import REGISTRY
from mailtriage.inbound.message import parse_message
from mailtriage.inbound.signatures import find_phone
from mailtriage.policy.staffmail import read_staff_mail
from tests.support.clients import (
    Original,
    apple_mail_reply,
    gmail_reply,
    outlook_reply,
    thunderbird_reply,
)
from tests.support.clock import MAIL_DATE

LABELS = Path(__file__).parent.parent / "staffreplies" / "labels.toml"
REPLIES: list[dict[str, Any]] = tomllib.loads(LABELS.read_text(encoding="utf-8"))["reply"]
STAFF = "Alice de Wit <alice.dewit@example.nl>"
STAFF_DOMAINS = ("example.nl",)

NOTIFICATION = (
    "A new case has been opened: PZEM-SEC-2026-0001.\n\n"
    "Case:                  PZEM-SEC-2026-0001\n"
    "First assessment due:  vrijdag 4 december 2026 (end of that day)\n"
    "Category:              report\n\n"
    "------------------------------------------------------------------------\n"
    "Hallo,\n\nIk heb op https://portal.example.nl/zoek een kwetsbaarheid gevonden.\n"
    "Vraag 1: welke versie draaien jullie?\nVraag 2: is er een bug bounty?\n\n"
    "Met vriendelijke groet,\n[reporter]\n[phone]\n"
    "------------------------------------------------------------------------\n\n"
    "To answer the reporter, reply to this e-mail and keep [PZEM-SEC-2026-0001]\n"
    "in the subject line.\n"
)


def _notification() -> Original:
    message = EmailMessage()
    message["From"] = "PZEM Security Team <security@example.nl>"
    message["To"] = "security-team@example.nl"
    message["Subject"] = "[PZEM-SEC-2026-0001] New report: Kwetsbaarheid in het klantportaal"
    message["Date"] = format_datetime(MAIL_DATE)
    message["Message-ID"] = make_msgid("notify", domain="example.nl")
    message.set_content(NOTIFICATION)
    return Original.of(message.as_bytes())


def _inline_thunderbird(original: Original, typed: str) -> bytes:
    """Thunderbird with answers typed between the quoted lines."""
    raw = thunderbird_reply(original, sender=STAFF, text=typed, language="en")
    message = parse_message(raw)
    answered = message.text.replace(
        "> Vraag 1: welke versie draaien jullie?\n",
        "> Vraag 1: welke versie draaien jullie?\n\nOur answer in between: version 2.3.\n\n",
    )
    assert answered != message.text
    rebuilt = EmailMessage()
    rebuilt["From"] = STAFF
    rebuilt["To"] = original.sender
    rebuilt["Subject"] = f"Re: {original.subject}"
    rebuilt["Date"] = format_datetime(MAIL_DATE)
    rebuilt["Message-ID"] = make_msgid("inline", domain="example.nl")
    rebuilt.set_content(answered)
    return rebuilt.as_bytes()


def build(entry: dict[str, Any]) -> bytes:
    original = _notification()
    typed = entry["typed"].strip("\n")
    language = entry["language"]
    signature = entry.get("dash_signature", "").strip("\n") or None
    client = entry["client"]
    if entry.get("inline"):
        return _inline_thunderbird(original, typed)
    if client in ("outlook", "outlook-html"):
        html_only = client == "outlook-html"
        return outlook_reply(
            original, sender=STAFF, text=typed, language=language, html_only=html_only
        )
    if client == "thunderbird":
        return thunderbird_reply(
            original, sender=STAFF, text=typed, language=language, signature=signature
        )
    if client in ("gmail", "gmail-html"):
        return gmail_reply(
            original,
            sender=STAFF,
            text=typed,
            language=language,
            signature=signature,
            html_only=client == "gmail-html",
        )
    assert client == "apple", client
    return apple_mail_reply(original, sender=STAFF, text=typed, language=language)


def relayed(entry: dict[str, Any]) -> str:
    mail = parse_message(build(entry))
    return read_staff_mail(mail.text, REGISTRY, staff_domains=STAFF_DOMAINS).relay


def test_the_labelled_set_is_large_and_varied() -> None:
    assert len(REPLIES) >= 40
    assert len({r["id"] for r in REPLIES}) == len(REPLIES)
    clients = {r["client"].split("-")[0] for r in REPLIES}
    assert clients == {"outlook", "thunderbird", "gmail", "apple"}
    assert {r["language"] for r in REPLIES} == {"nl", "en"}


@pytest.mark.parametrize("entry", REPLIES, ids=[r["id"] for r in REPLIES])
def test_the_relay_is_exactly_the_labelled_text(entry: dict[str, Any]) -> None:
    assert relayed(entry) == entry["expected"].strip("\n")


@pytest.mark.parametrize("entry", REPLIES, ids=[r["id"] for r in REPLIES])
def test_no_phone_number_staff_address_or_signature_line_reaches_the_reporter(
    entry: dict[str, Any],
) -> None:
    relay = relayed(entry)
    for line in relay.split("\n"):
        assert find_phone(line) is None, line
    assert "@example.nl" not in relay.lower()
    for leak in entry["signature_lines"]:
        assert leak.lower() not in relay.lower(), leak
    for phrase in ("A new case has been opened", "[reporter]", "Vraag 1", "Van:", "wrote:"):
        assert phrase not in relay, phrase
