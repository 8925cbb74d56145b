"""Issue 10, "no poison mail": the inputs that stopped intake for good, as attacks.

Each of these took from 13 s to minutes before the fix (figures in bench/textwork.py) and
holds the main loop for that long; each must now come back within the per-input budget that
the fuzz tests use too (`tests.support.budget`), with the text still read. The budget is a
deadline in the Hypothesis sense, not a benchmark: it is thirty times what the input takes.
"""

from __future__ import annotations

from email.message import EmailMessage

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailtriage.desk.casework import _thread_ids
from mailtriage.inbound.forwards import forwarded_sender
from mailtriage.inbound.message import parse_message
from mailtriage.inbound.textscan import html_to_text
from tests.support.budget import within_budget

QUADRATIC_HTML = {
    "unclosed start tags": "<a" * 100_000,
    "unclosed comments": "<!--" * 50_000,
    "unclosed quotes": '<a "' * 50_000,
    "declarations": "<!" * 100_000,
}


@pytest.mark.parametrize("html", QUADRATIC_HTML.values(), ids=QUADRATIC_HTML.keys())
def test_html_built_to_be_quadratic_is_read_within_budget(html: str) -> None:
    @within_budget
    @given(st.just(html))
    def attack(html: str) -> None:
        html_to_text(html)

    attack()


def test_html_mail_built_to_be_quadratic_parses_within_budget() -> None:
    msg = EmailMessage()
    msg["From"] = "Mallory Aanvaller <mallory@example.test>"
    msg["To"] = "security@example.nl"
    msg["Subject"] = "html"
    msg.set_content("<p>XSS op https://portal.example.nl</p>" + "<a" * 100_000, subtype="html")
    raw = msg.as_bytes()

    @within_budget
    @given(st.just(raw))
    def attack(raw: bytes) -> None:
        mail = parse_message(raw)
        assert "portal.example.nl" in mail.indicators.hosts

    attack()


def test_text_around_broken_markup_is_kept() -> None:
    assert html_to_text("<p>voor</p><a<a<a na") == "voor\n<a<a<a na"
    assert html_to_text("tekst<!-- nooit gesloten <p>weg</p>") == "tekst"
    assert html_to_text('<div style=""a: " b>binnen</div>') == "binnen"
    assert html_to_text("a <script>x<y</script> b <style>p{}").split() == ["a", "b"]


def test_forward_detection_on_blank_lines_is_within_budget() -> None:
    @within_budget
    @given(st.just("\n" * 120_000 + " \n" * 20_000))
    def attack(text: str) -> None:
        assert forwarded_sender(b"", text) is None

    attack()


def test_an_inline_forward_is_still_found_after_the_fix() -> None:
    text = (
        "Zie hieronder.\n\n---------- Forwarded message ---------\n"
        "From: Bram Melder <bram@example.test>\nDate: Fri, 27 Nov 2026\n\nHallo,\n"
    )
    found = forwarded_sender(b"", text)
    assert found is not None and found.address == "bram@example.test"


def _references_mail(headers: int, chars: int) -> bytes:
    lines = [
        b"From: Mallory Aanvaller <mallory@example.test>",
        b"To: security@example.nl",
        b"Subject: threads",
        b"Message-ID: <own@example.test>",
    ]
    for h in range(headers):
        ids = " ".join(f"<{h}.{i}@example.test>" for i in range(chars // 20))
        lines.append(f"References: {ids}".encode())
        lines.append(f"In-Reply-To: {ids}".encode())
    return b"\r\n".join(lines) + b"\r\n\r\nHallo\r\n"


def test_sixty_long_references_headers_parse_within_budget() -> None:
    @within_budget
    @given(st.just(_references_mail(60, 64_000)))
    def attack(raw: bytes) -> None:
        mail = parse_message(raw)
        ids = _thread_ids(mail)
        assert ids and len(ids) <= 100
        assert mail.references[0] == "0.0@example.test"  # the root stays

    attack()


def test_message_ids_longer_than_any_real_one_are_not_kept() -> None:
    raw = _references_mail(1, 100).replace(b"<0.0@", b"<" + b"x" * 300 + b"@", 1)
    assert all(len(i) <= 250 for i in parse_message(raw).references)
