"""Reading a reporter's answer to the credit question (credit.py), the follow-up phrases
(followup.py) and the reporter authentication verdict (staffauth.sender_authenticated)."""

from __future__ import annotations

import pytest

from mailtriage.inbound.message import parse_message
from mailtriage.inbound.staffauth import sender_authenticated
from mailtriage.policy.credit import credit_request
from mailtriage.policy.followup import refers_to_earlier_report


@pytest.mark.parametrize(
    ("text", "consent", "name", "certain"),
    [
        ("CREDIT: Sanne de Vries", True, "Sanne de Vries", True),
        ("vermelding: Sanne de Vries", True, "Sanne de Vries", True),
        ("CREDIT: Visit evil.test for free PoCs", True, "Visit evil.test for free PoCs", False),
        ("NO CREDIT", False, None, True),
        ("Jullie mogen mij vermelden als Jeroen Bakker.", True, "Jeroen Bakker", False),
        ("Vermeld mij maar als J. Bakker", True, "J. Bakker", False),
        ("Ik wil graag vermeld worden als 'jbakker'.", True, "jbakker", False),
        ("Feel free to credit me as Jeroen Bakker, thanks!", True, "Jeroen Bakker", False),
        ("I'd like to be credited as Chloe Turner and my team.", True, "Chloe Turner", False),
        ("Ik wil liever niet genoemd worden.", False, None, True),
        ("Please don't credit me, I prefer to stay anonymous.", False, None, True),
    ],
)
def test_credit_answers_as_people_write_them(
    text: str, consent: bool, name: str | None, certain: bool
) -> None:
    found = credit_request(f"Dank voor de bevestiging.\n{text}\n\nGroet")
    assert found is not None
    assert (found.consent, found.name, found.certain) == (consent, name, certain)


@pytest.mark.parametrize(
    "text",
    [
        "CREDIT: je naam",
        "> CREDIT: Sanne de Vries",
        "Als je wilt kan ik meer sturen.",
        "As soon as it is fixed, let me know.",
        "Please credit card numbers are visible as plain text.",
    ],
)
def test_no_credit_answer(text: str) -> None:
    assert credit_request(text) is None


@pytest.mark.parametrize(
    ("subject", "text", "refers"),
    [
        ("Aanvulling op mijn melding van gisteren", "", True),
        ("Lek", "Hallo, naar aanleiding van mijn melding nog dit.", True),
        ("Follow-up to my earlier report", "", True),
        ("Login", "Further to my report from yesterday: it also works on staging.", True),
        ("Nieuw lek", "Ik heb een ander lek gevonden in de webwinkel.", False),
        ("XSS", "I found another vulnerability on the shop.", False),
    ],
)
def test_follow_up_phrases(subject: str, text: str, refers: bool) -> None:
    assert refers_to_earlier_report(subject, text) is refers


def _mail(results: str | None) -> bytes:
    head = f"Authentication-Results: {results}\r\n" if results else ""
    return (
        head + "From: Chloe Turner <chloe@example.test>\r\nTo: security@example.nl\r\n"
        "Subject: Re: x\r\nMessage-ID: <1@example.test>\r\n\r\nCREDIT: Chloe\r\n"
    ).encode()


@pytest.mark.parametrize(
    ("results", "trusted", "expected"),
    [
        ("mx.example.nl; dkim=pass header.d=example.test", ["mx.example.nl"], True),
        ("mx.example.nl; dmarc=pass header.from=example.test", ["mx.example.nl"], True),
        ("mx.example.nl; spf=pass smtp.mailfrom=chloe@example.test", ["mx.example.nl"], False),
        (
            "mx.example.nl; dkim=none; spf=softfail smtp.mailfrom=example.test",
            ["mx.example.nl"],
            False,
        ),
        ("mx.example.nl; dkim=pass header.d=other.test", ["mx.example.nl"], False),
        ("evil.test; dkim=pass header.d=example.test", ["mx.example.nl"], False),
        ("mx.example.nl; dkim=pass header.d=example.test", [], False),
        (None, ["mx.example.nl"], False),
    ],
)
def test_reporter_authentication(results: str | None, trusted: list[str], expected: bool) -> None:
    raw = _mail(results)
    assert sender_authenticated(parse_message(raw), trusted, raw=raw) is expected
