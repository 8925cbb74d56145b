"""The redirect classifier: mail that is not for the security desk gets pointed elsewhere, and
a researcher is never sent away.

The labelled set in tests/classifier/ (mails written for the project, plus clear-cut files of
the shared corpus when MAILTRIAGE_CORPUS names it) is classified as a whole; precision and
recall for `redirect` are printed (past pytest's output capture, so also without -s) and
the test holds the line the contract draws: zero reports redirected, most non-reports caught.
"""

from __future__ import annotations

import dataclasses
import email
import email.policy
import os
import re
import tomllib
from email.message import EmailMessage
from pathlib import Path

import pytest

from mailtriage.inbound.message import InboundMail, parse_message
from mailtriage.policy.redirects import (
    REDIRECT_RULES,
    REDIRECT_THRESHOLD,
    REPORT_SIGNALS,
    explain,
    redirect_reason,
)

SET_DIR = Path(__file__).resolve().parents[1] / "classifier"
PROJECT_CORPUS = Path(__file__).resolve().parents[1] / "corpus"
LABELS = tomllib.loads((SET_DIR / "labels.toml").read_text(encoding="utf-8"))
MIN_RECALL = 0.85


def _corpus() -> Path | None:
    value = os.environ.get("MAILTRIAGE_CORPUS")
    return Path(value) if value and Path(value).is_dir() else None


@dataclasses.dataclass(frozen=True)
class Labelled:
    name: str
    path: Path
    label: str  # "report" | "redirect"


def labelled_set() -> list[Labelled]:
    mails = [Labelled(m["file"], SET_DIR / m["file"], m["label"]) for m in LABELS["mail"]]
    corpus = _corpus()
    if corpus is not None:
        mails += [Labelled(rel, corpus / rel, label) for rel, label in LABELS["shared"].items()]
    return mails


def _say(capsys: pytest.CaptureFixture[str], lines: list[str]) -> None:
    # Past the capture, so the numbers show with or without -s.
    with capsys.disabled():
        print("\n" + "\n".join(lines))


def mail(subject: str, body: str, *, sender: str = "Piet Klant <piet@example.test>") -> InboundMail:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "security@example.nl"
    msg["Subject"] = subject
    msg["Message-ID"] = "<t1@example.test>"
    msg.set_content(body)
    return parse_message(msg.as_bytes())


def forward_as_attachment(note: str, subject: str, inner_subject: str, inner_body: str) -> bytes:
    inner = EmailMessage()
    inner["From"] = "PZEM <noreply@pzem-betaling.example.com>"
    inner["To"] = "klant@example.test"
    inner["Subject"] = inner_subject
    inner.set_content(inner_body)
    outer = EmailMessage()
    outer["From"] = "Klant <klant@example.test>"
    outer["To"] = "security@example.nl"
    outer["Subject"] = subject
    outer.set_content(note)
    outer.add_attachment(inner)  # message/rfc822
    return outer.as_bytes()


# --------------------------------------------------------------------------- the labelled set


def test_the_labelled_set_is_big_varied_and_consistent() -> None:
    own = LABELS["mail"]
    assert len(own) >= 60
    assert {m["label"] for m in own} == {"report", "redirect"}
    assert {m["lang"] for m in own} == {"nl", "en"}
    for lang in ("nl", "en"):
        assert {m["label"] for m in own if m["lang"] == lang} == {"report", "redirect"}
    counts = {label: sum(m["label"] == label for m in own) for label in ("report", "redirect")}
    assert min(counts.values()) >= 0.4 * len(own)  # roughly half and half
    files = {m["file"] for m in own}
    assert len(files) == len(own), "a file is labelled twice"
    assert files == {p.name for p in SET_DIR.glob("*.eml")}, "every mail labelled, no stale label"
    assert set(LABELS["shared"].values()) <= {"report", "redirect"}


_ADDRESS = re.compile(r"[\w.+-]+@([\w-]+(?:\.[\w-]+)+)")
_URL_HOST = re.compile(r"https?://([\w.-]+)")
_RESERVED = ("example.test", "example.nl", "example.com")


def _decoded_text(raw: bytes) -> str:
    # Headers and every decoded text part, forwarded mails included (quoted-printable would
    # otherwise cut a host name in two at a soft line break).
    pieces: list[str] = []
    for part in email.message_from_bytes(raw, policy=email.policy.default).walk():
        pieces.extend(str(value) for value in part.values())
        if part.get_content_maintype() == "text":
            pieces.append(part.get_content())
    return "\n".join(pieces)


def test_the_project_mails_use_reserved_domains_only() -> None:
    for path in sorted(SET_DIR.glob("*.eml")):
        text = _decoded_text(path.read_bytes())
        domains = set(_ADDRESS.findall(text)) | set(_URL_HOST.findall(text))
        for domain in domains:
            domain = domain.lower().rstrip(".")
            if re.fullmatch(r"[\d.]+", domain):
                continue  # IP literals are documentation or link-local ranges
            assert domain.endswith(_RESERVED), f"{path.name}: {domain}"


def test_the_labelled_set_is_classified_without_sending_a_researcher_away(
    capsys: pytest.CaptureFixture[str],
) -> None:
    mails = labelled_set()
    confusion = {("redirect", True): 0, ("redirect", False): 0}
    confusion |= {("report", True): 0, ("report", False): 0}
    false_redirects: list[str] = []
    missed: list[str] = []
    for item in mails:
        reason = redirect_reason(parse_message(item.path.read_bytes()))
        confusion[(item.label, reason is not None)] += 1
        if item.label == "report" and reason is not None:
            false_redirects.append(f"{item.name} ({reason})")
        if item.label == "redirect" and reason is None:
            missed.append(item.name)

    tp = confusion[("redirect", True)]
    fn = confusion[("redirect", False)]
    fp = confusion[("report", True)]
    tn = confusion[("report", False)]
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    scope = "own + shared corpus" if _corpus() is not None else "own set only"
    _say(
        capsys,
        [
            f"redirect classifier on {len(mails)} labelled mails ({scope}):",
            f"  redirect precision {precision:.3f}  recall {recall:.3f}",
            f"  confusion: redirected {tp} of {tp + fn} non-reports, "
            f"{fp} of {fp + tn} reports (false redirects)",
            *(f"  missed (answered as a report): {name}" for name in missed),
            *(f"  FALSE REDIRECT: {name}" for name in false_redirects),
        ],
    )
    assert not false_redirects, "a report was redirected"
    assert recall >= MIN_RECALL


# --------------------------------------------------------------------------- acceptance cases


def test_a_phishing_mail_forwarded_as_an_attachment_is_redirected() -> None:
    raw = forward_as_attachment(
        "Hallo, is deze mail echt van jullie?\n\nGroet,\nKlaas\n",
        "Fwd: Uw betaling is niet gelukt",
        "Uw betaling is niet gelukt",
        "Beste klant,\n\nUw laatste betaling is mislukt. Betaal binnen 24 uur via iDEAL om "
        "afsluiting te voorkomen: https://pzem-betaling.example.com/ideal?id=991\n",
    )
    parsed = parse_message(raw)
    assert parsed.forwards_message
    assert redirect_reason(parsed) is not None


def test_a_forwarded_phishing_mail_without_a_word_of_comment_is_redirected() -> None:
    raw = forward_as_attachment(
        "",
        "FW: Uw account wordt geblokkeerd",
        "Uw account wordt geblokkeerd",
        "Beste klant,\n\nUw account wordt binnen 24 uur geblokkeerd. Bevestig uw gegevens via "
        "https://pzem-betaling.example.com/bevestig\n",
    )
    assert redirect_reason(parse_message(raw)) is not None


def test_a_dutch_complaint_about_an_invoice_is_redirected() -> None:
    parsed = mail(
        "Klacht over factuur",
        "Geachte heer/mevrouw,\n\nMijn laatste factuur is veel te hoog, ik heb niet meer "
        "verbruikt dan vorig jaar. Ik wil dat dit wordt rechtgezet.\n\nMet vriendelijke groet,\n"
        "Piet Klant\n",
    )
    assert redirect_reason(parsed) is not None


def test_an_english_i_received_a_fake_email_is_redirected() -> None:
    parsed = mail(
        "Fake email",
        "Hi,\n\nI received a fake email that pretends to come from PZEM and asks me to pay an "
        "outstanding bill. Just so you know.\n\nJohn\n",
        sender="John Smith <john.smith@example.com>",
    )
    assert redirect_reason(parsed) is not None


@pytest.mark.parametrize(
    ("subject", "body"),
    [
        (
            "Open redirect on login",
            "The returnUrl parameter of https://mijn.example.nl/login?returnUrl=https://evil."
            "example.com is not validated: an open redirect attackers can use in phishing "
            "e-mails to your customers.",
        ),
        (
            "Missing DMARC",
            "example.nl has no DMARC record and SPF ends in ~all, so attackers can spoof "
            "phishing e-mails from your domain. I received one such fake email myself.",
        ),
        (
            "Reverse tabnabbing",
            'Links with target="_blank" lack rel=noopener, which allows reverse tabnabbing '
            "phishing: the opened page replaces your tab with a phishing page.",
        ),
        (
            "Phishing kit on your server",
            "There is a phishing kit hosted on https://cdn.example.nl/uploads/kit/login.php; "
            "your web server has been compromised.",
        ),
        (
            "Phishing via jullie subdomein",
            "Op een subdomein van jullie staat een phishingpagina die om bankgegevens vraagt. "
            "Volgens mij is de server gehackt.",
        ),
    ],
)
def test_a_report_that_mentions_phishing_as_a_vulnerability_class_is_not_redirected(
    subject: str, body: str
) -> None:
    assert redirect_reason(mail(subject, body)) is None


# --------------------------------------------------------------------------- the decision


def test_a_report_about_the_invoice_portal_is_not_redirected() -> None:
    parsed = mail(
        "Factuurportaal",
        "Als ik in de URL van mijn factuur het factuurnummer verander, zie ik de factuur van "
        "een andere klant. Klantnummer en betalingen staan er ook op.",
    )
    assert redirect_reason(parsed) is None


@pytest.mark.parametrize(
    ("subject", "body"),
    [
        (
            "Factuurpagina",
            "Als ik in de URL mijn klantnummer vervang door een ander nummer, zie ik "
            "de factuur van die klant.",
        ),
        (
            "Customer data",
            "When I open my invoice page I see the name and address of another customer.",
        ),
        ("Betaalpagina", "De betaalpagina van jullie webshop accepteert een negatief bedrag."),
        (
            "Follow up",
            "I wrote two weeks ago about the issue on your website and still have no "
            "answer. This is unacceptable.",
        ),
        (
            "Security",
            "Jullie mails over de jaarafrekening linken naar een extern domein; dat "
            "maakt phishing makkelijker.",
        ),
        (
            "Portal",
            "Your portal shows the IBAN and date of birth of the account holder to "
            "anyone with the customer number.",
        ),
        ("Facturen", "Het klantenportaal toont na uitloggen nog steeds mijn facturen."),
        ("Login", "Your login page shows an error for everyone with a long address.\n\nBill"),
        (
            "Slimme meter",
            "Via de P1-poort van de slimme meter lees ik de meterstanden van de hele flat uit.",
        ),
    ],
)
def test_a_report_in_customer_words_is_not_redirected(subject: str, body: str) -> None:
    assert redirect_reason(mail(subject, body)) is None


@pytest.mark.parametrize(
    ("subject", "body", "reason"),
    [
        ("Vraag", "Waarom is mijn voorschot verhoogd?", "invoice-or-payment"),
        ("Storing", "Er is een storing in de straat, geen stroom sinds 8 uur.", "outage"),
        (
            "Verhuizing",
            "We're moving to Vlissingen in March. What do I need to do?",
            "contract-or-moving",
        ),
        ("Meterstand", "Hoe geef ik mijn meterstanden door?", "meter-readings"),
        ("Oplichting", "Er staan mensen aan de deur die zeggen van PZEM te zijn.", "fraud"),
        ("Complaint", "I want to file a complaint about your call centre.", "service-complaint"),
        (
            "Fake website",
            "There is a fake PZEM website asking for bank details.",
            "suspicious-mail",
        ),
        (
            "Nep-sms",
            "Ik ontving een sms dat mijn rekening openstaat. Is dat echt?",
            "suspicious-mail",
        ),
        ("Spam", "Ik krijg elke dag spam van jullie, hoe stop ik dat?", "unsubscribe-request"),
    ],
)
def test_customer_mail_is_redirected_with_a_reason(subject: str, body: str, reason: str) -> None:
    assert redirect_reason(mail(subject, body)) == reason


def test_a_short_report_without_technical_words_stays_a_report() -> None:
    assert redirect_reason(mail("bug", "I found a bug in your login page.")) is None
    assert redirect_reason(mail("", "")) is None


def test_encrypted_mail_is_never_redirected() -> None:
    parsed = mail("Klacht factuur fraude", "-----BEGIN PGP MESSAGE-----\nhQEMA...\n-----END PGP")
    assert redirect_reason(parsed) is None


def test_an_abuse_feedback_report_is_redirected_whatever_it_quotes() -> None:
    base = mail("Abuse report", "This is an abuse report. The message contained an XSS payload.")
    arf = dataclasses.replace(
        base,
        content_type="multipart/report",
        headers=(("content-type", 'multipart/report; report-type="feedback-report"'),),
    )
    assert redirect_reason(arf) == "abuse-feedback-report"


def test_the_reason_names_a_rule_and_explain_agrees() -> None:
    names = {rule.name for rule in REDIRECT_RULES}
    for item in labelled_set():
        parsed = parse_message(item.path.read_bytes())
        explanation = explain(parsed)
        assert explanation.reason == redirect_reason(parsed)
        assert explanation.reason is None or explanation.reason in names
        assert explanation.reason is None or explanation.reason in explanation.rules
        if explanation.reason is not None and explanation.reason != "abuse-feedback-report":
            assert not explanation.vetoed and explanation.score >= REDIRECT_THRESHOLD


def test_the_tables_are_readable_data() -> None:
    rule_names = [rule.name for rule in REDIRECT_RULES]
    signal_names = [signal.name for signal in REPORT_SIGNALS]
    assert len(set(rule_names)) == len(rule_names)
    assert len(set(signal_names)) == len(signal_names)
    for entry in (*REDIRECT_RULES, *REPORT_SIGNALS):
        assert re.fullmatch(r"[a-z]+(?:-[a-z]+)*", entry.name)
        assert entry.patterns or entry.when is not None
        assert set(entry.fields) <= {"subject", "text", "note"}
        for pattern in entry.patterns:
            assert pattern == pattern.lower(), f"{entry.name}: patterns match lower-cased text"
            re.compile(pattern)
        assert entry.weight > 0
    assert REDIRECT_THRESHOLD > 0


# --------------------------------------------------------------------------- hostile input
# How long these take is measured in bench/textwork.py. Here a catastrophic-backtracking
# regression shows as a test that hangs; what is asserted is the answer a user gets.


def _typical_mails() -> list[InboundMail]:
    return [parse_message(p.read_bytes()) for p in sorted(SET_DIR.glob("*.eml"))]


def test_a_typical_mail_gets_the_same_answer_every_time_and_explain_agrees() -> None:
    mails = _typical_mails()
    first = [redirect_reason(parsed) for parsed in mails]
    assert set(first) - {None} <= {rule.name for rule in REDIRECT_RULES}
    # Patterns are compiled once and cached: the order mails come in must not change answers.
    assert [redirect_reason(parsed) for parsed in reversed(mails)] == first[::-1]
    assert [explain(parsed).reason for parsed in mails] == first


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        pytest.param("a" * 1_000_000, None, id="letters"),
        pytest.param("-" * 1_000_000, None, id="dashes"),
        pytest.param(" " * 1_000_000, None, id="spaces"),
        pytest.param("is " * 330_000, None, id="words"),
        pytest.param("from: " + "x" * 1_000_000, None, id="header"),
        pytest.param("from: x\n" * 120_000, None, id="headers"),
        pytest.param(("van: x\n" + "   > > y\n" * 5) * 30_000, None, id="quoted-headers"),
        pytest.param("https://" + "a/" * 500_000, None, id="url"),
        pytest.param("klacht factuur " * 70_000, "service-complaint", id="topics"),
        pytest.param("phishing " * 110_000, None, id="phish"),
    ],
)
def test_a_megabyte_line_is_classified_by_what_it_says(line: str, reason: str | None) -> None:
    parsed = dataclasses.replace(mail("x", "x"), subject=line[:1_000], text=line)
    assert redirect_reason(parsed) == reason
    assert explain(parsed).reason == reason


def _malformed_mails() -> list[Path]:
    """The shared corpus's malformed mails when MAILTRIAGE_CORPUS is set, else the project's
    own corpus (mostly malformed too). Empty files are left out: there is nothing to classify,
    and test_message holds that the parser refuses them."""
    corpus = _corpus()
    folder = corpus / "malformed" if corpus is not None else PROJECT_CORPUS
    return [p for p in sorted(folder.glob("*.eml")) if p.read_bytes().strip()]


@pytest.mark.parametrize("path", _malformed_mails(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_a_malformed_mail_is_classified_as_a_report_or_by_a_known_rule(path: Path) -> None:
    parsed = parse_message(path.read_bytes())
    reason = redirect_reason(parsed)
    assert reason is None or reason in {rule.name for rule in REDIRECT_RULES}
    assert explain(parsed).reason == reason
