"""Fuzzing the entry points that read what an attacker wrote (issue 10).

Whatever reaches security@ must come back from parsing and triage as a value or a ParseError,
within the per-input budget (`tests.support.budget`): no other exception escapes, no input
makes the work superlinear. Hypothesis generates the inputs; the profile bounds the run to a
couple of minutes in all.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from mailtriage.desk.casework import _thread_ids
from mailtriage.inbound.forwards import forwarded_sender
from mailtriage.inbound.message import ParseError, parse_message
from mailtriage.inbound.mime.header_fields import message_ids
from mailtriage.inbound.textscan import detect_language, extract_indicators, html_to_text
from mailtriage.policy.triage import TriageContext, decide
from tests.support.budget import fuzz

# Characters that steer parsers and regexes: markup, quotes, line ends, MIME punctuation.
HOSTILE = "<>!-/\"'= \t\r\n:@.[]()&;#a1x\u00a0\ue000"
hostile_text = st.text(alphabet=HOSTILE, max_size=20_000) | st.text(max_size=2_000)
# Runs of one short piece repeated: the shape of every quadratic attack found so far.
repeated = st.builds(
    lambda piece, n: piece * n,
    st.text(alphabet=HOSTILE, min_size=1, max_size=6),
    st.integers(min_value=1, max_value=40_000),
)
texts = hostile_text | repeated

HEADERS = [
    "From",
    "To",
    "Subject",
    "References",
    "In-Reply-To",
    "Content-Type",
    "Message-ID",
    "Content-Transfer-Encoding",
    "Auto-Submitted",
    "Date",
]


@st.composite
def raw_mails(draw: st.DrawFn) -> bytes:
    """Mail-shaped bytes: hostile header values, a hostile body, sometimes multipart/HTML."""
    lines = [
        f"{draw(st.sampled_from(HEADERS))}: {draw(texts)[:5_000]}"
        for _ in range(draw(st.integers(0, 12)))
    ]
    if draw(st.booleans()):
        lines.append("Content-Type: text/html; charset=utf-8")
    if draw(st.booleans()):
        lines.append('Content-Type: multipart/mixed; boundary="b"')
        body = f"--b\r\nContent-Type: text/html\r\n\r\n{draw(texts)}\r\n--b--\r\n"
    else:
        body = draw(texts)
    head = "\r\n".join(lines).encode("utf-8", "surrogateescape")
    return head + b"\r\n\r\n" + body.encode("utf-8", "surrogatepass")


def _parse(raw: bytes) -> None:
    try:
        mail = parse_message(raw)
    except ParseError:
        return
    _thread_ids(mail)
    decide(mail, TriageContext(own_addresses=frozenset({"security@example.nl"})))
    forwarded_sender(raw, mail.text)


@fuzz
@given(raw_mails() | st.binary(max_size=20_000))
def test_parse_and_triage_never_raise_and_stay_within_budget(raw: bytes) -> None:
    _parse(raw)


@fuzz
@given(texts)
def test_text_scanning_never_raises_and_stays_within_budget(text: str) -> None:
    html_to_text(text)
    extract_indicators(text)
    detect_language(text)
    forwarded_sender(b"", text)


@fuzz
@given(st.lists(texts, max_size=30))
def test_message_id_extraction_never_raises_and_stays_within_budget(values: list[str]) -> None:
    ids = message_ids(values)
    assert len(ids) <= 100
    assert all(0 < len(i) <= 250 for i in ids)
