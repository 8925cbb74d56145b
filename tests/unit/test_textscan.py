"""Language, indicators and HTML-to-text: what the acknowledgement decides on."""

from __future__ import annotations

import pytest

from mailtriage.inbound.textscan import (
    MAX_ITEMS,
    MAX_URL_CHARS,
    Indicators,
    detect_language,
    extract_indicators,
    html_to_text,
)

DUTCH_REPORT = (
    "Beste securityteam, ik heb een kwetsbaarheid gevonden in het klantportaal. Door het "
    "klantnummer in de URL te verhogen kan ik de facturen van andere klanten zien. Graag hoor "
    "ik van jullie wat ik verder kan doen."
)
ENGLISH_REPORT = (
    "Hello, I found a vulnerability in your customer portal that allows an attacker to read "
    "the invoices of other customers by changing the number in the URL. Please let me know "
    "if you need more details."
)


# --------------------------------------------------------------------------- language


def test_dutch_report_is_dutch() -> None:
    assert detect_language(DUTCH_REPORT) == "nl"


def test_english_report_is_english() -> None:
    assert detect_language(ENGLISH_REPORT) == "en"


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(
            "Sehr geehrte Damen und Herren, ich habe auf Ihrer Webseite eine Sicherheitslücke "
            "gefunden, die es erlaubt, die Daten anderer Kunden zu lesen. Bitte melden Sie sich.",
            id="german",
        ),
        pytest.param(
            "Bonjour, j'ai trouvé une vulnérabilité sur votre site web qui permet de lire les "
            "données des autres clients. Merci de me contacter pour plus de détails.",
            id="french",
        ),
        pytest.param("Hello team, see below", id="too-short"),
        pytest.param("", id="empty"),
        pytest.param(f"{DUTCH_REPORT} {ENGLISH_REPORT}", id="half-and-half"),
        pytest.param("GET /api/v1/meter?id=1042 HTTP/1.1 200 OK 0x41 0x42 " * 20, id="log-only"),
    ],
)
def test_other_short_or_mixed_text_is_unsure(text: str) -> None:
    assert detect_language(text) == "unsure"


def test_a_dutch_report_quoting_a_little_english_stays_dutch() -> None:
    text = f"{DUTCH_REPORT} De foutmelding was: 'the request could not be completed'."
    assert detect_language(text) == "nl"


# --------------------------------------------------------------------------- URLs and hosts


def test_urls_are_found_as_written_and_trimmed_of_sentence_punctuation() -> None:
    found = extract_indicators(
        "Zie https://portaal.example.nl/login?next=/admin. En (ftp://files.example.test/a) "
        "en http://example.test/a_(b), of <https://status.example.nl/notice>."
    )
    assert found.urls == (
        "https://portaal.example.nl/login?next=/admin",
        "ftp://files.example.test/a",
        "http://example.test/a_(b)",
        "https://status.example.nl/notice",
    )


def test_defanged_urls_and_hosts_are_recognised() -> None:
    found = extract_indicators("Link: hxxps://evil[.]example[.]test/pay and host bad[.]example.nl")
    assert found.urls == ("hxxps://evil[.]example[.]test/pay",)
    assert found.hosts == ("evil.example.test", "bad.example.nl")


def test_brackets_end_a_url_unless_they_defang_it() -> None:
    found = extract_indicators("[https://example.test/shot.png][1] and http://[2001:db8::1]:8080/x")
    assert found.urls == ("https://example.test/shot.png", "http://[2001:db8::1]:8080/x")
    assert found.ipv6 == ("2001:db8::1",)


def test_host_names_exclude_mail_addresses_and_file_names() -> None:
    found = extract_indicators(
        "The host app01.internal.example.nl leaks report.pdf, config.json and setup.py; "
        "mail jan.de.vries@example.nl or www.example.pl. Also Example.COM."
    )
    assert found.hosts == ("app01.internal.example.nl", "www.example.pl", "example.com")


def test_url_hosts_are_listed_as_hosts() -> None:
    found = extract_indicators("see https://user@meten.example.nl:8443/api")
    assert found.hosts == ("meten.example.nl",)
    assert found.has_target


def test_host_names_do_not_swallow_text_in_scripts_without_spaces() -> None:
    assert extract_indicators("访问gimit.example.nl或mirror.example.nl").hosts == (
        "gimit.example.nl",
        "mirror.example.nl",
    )


# --------------------------------------------------------------------------- IP addresses


def test_ipv4_addresses_are_validated() -> None:
    found = extract_indicators("from 192.0.2.44, not 999.1.2.3 nor 1.2.3.4.5, and 203.0.113.9.")
    assert found.ipv4 == ("192.0.2.44", "203.0.113.9")


def test_ipv6_addresses_in_full_and_compressed_form() -> None:
    found = extract_indicators(
        "server 2001:db8::1 and 2001:0db8:0000:0000:0000:0000:0000:0002, "
        "link-local fe80::1%eth0, mapped ::ffff:192.0.2.1."
    )
    assert found.ipv6 == ("2001:db8::1", "2001:db8::2", "fe80::1", "::ffff:c000:201")


def test_times_mac_addresses_and_scopes_are_not_ipv6() -> None:
    found = extract_indicators("at 14:05:33, MAC 00:1a:2b:3c:4d:5e, std::vector, a :: b")
    assert found.ipv6 == ()


def test_text_without_targets_has_none() -> None:
    found = extract_indicators("Er is iets mis met de website, kunt u kijken?")
    assert found == Indicators()
    assert not found.has_target
    assert not found.has_time


# --------------------------------------------------------------------------- dates and times


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("op 2026-12-04 gezien", ("2026-12-04",)),
        ("at 2026-12-04T14:05:33Z", ("2026-12-04T14:05:33Z",)),
        ("op 04-12-2026 en 4/12/2026", ("04-12-2026", "4/12/2026")),
        ("vrijdag 4 december 2026 om 14.05 uur", ("4 december 2026", "14.05 uur")),
        ("op 3 maart 2026, 1 mei en 17 okt. 2026", ("3 maart 2026", "1 mei", "17 okt. 2026")),
        ("on December 4, 2026 at 14:05", ("December 4, 2026", "14:05")),
        ("since 4th Dec 2026 and Jan 2nd", ("4th Dec 2026", "Jan 2nd")),
        ("between 09:30 and 14:05:33", ("09:30", "14:05:33")),
        ("voor 5 december.", ("5 december",)),
    ],
)
def test_dates_and_times_are_found_as_written(text: str, expected: tuple[str, ...]) -> None:
    found = extract_indicators(text)
    assert found.datetimes == expected
    assert found.has_time


@pytest.mark.parametrize(
    "text",
    ["version 1.2.3", "ratio 3:1", "call 06-12345678", "31-13-2026", "2001:db8::1", "24:00"],
)
def test_numbers_that_are_not_dates(text: str) -> None:
    assert extract_indicators(text).datetimes == ()


# --------------------------------------------------------------------------- bounds


def test_lists_are_deduplicated_in_order_and_capped() -> None:
    text = " ".join(f"https://h{i}.example.test/ 192.0.2.{i % 250}" for i in range(200))
    found = extract_indicators(f"https://h1.example.test/ {text}")
    assert len(found.urls) == MAX_ITEMS
    assert found.urls[:2] == ("https://h1.example.test/", "https://h0.example.test/")
    assert len(set(found.urls)) == len(found.urls)
    assert len(found.ipv4) == MAX_ITEMS


HOSTILE_LINES = {
    "dots": "a." * 500_000,
    "one-word": "a" * 1_000_000,
    "colons": "1:" * 500_000,
    "hex-colons": "ab:" * 333_333,
    "schemes": "http://" * 150_000,
    "broken-schemes": "hxxp:/" * 160_000,
    "one-url": "http://" + "a" * 1_000_000,
    "defanged-dots": "[.]" * 333_333,
    "dates": "4 december " * 90_000,
    "times-with-uur": "14.05 " * 160_000,
    "address-parts": "a.b@" * 250_000,
    "ipv4-parts": "1.1.1." * 160_000,
}


# What the scan may find in HOSTILE_LINES: the one date and the one URL (capped).
HOSTILE_DATES = {"dates": ("4 december",)}
HOSTILE_URLS = {"one-url": ("http://" + "a" * MAX_URL_CHARS,)}


@pytest.mark.parametrize("name", sorted(HOSTILE_LINES))
def test_megabyte_lines_yield_only_the_indicators_they_hold(name: str) -> None:
    # Speed is measured in bench/textwork.py; a backtracking pattern shows here as a hang.
    text = HOSTILE_LINES[name]
    found = extract_indicators(text)
    assert detect_language(text) in ("nl", "en", "unsure")
    assert not found.hosts and not found.ipv4 and not found.ipv6
    assert found.datetimes == HOSTILE_DATES.get(name, ())
    if name == "schemes":
        # "http://http://…" is read as URLs, capped in number and length like any other.
        assert found.urls
        assert len(found.urls) <= MAX_ITEMS
        assert all(len(url) <= len("http://") + MAX_URL_CHARS for url in found.urls)
    else:
        assert found.urls == HOSTILE_URLS.get(name, ())


# --------------------------------------------------------------------------- HTML


def test_html_keeps_link_targets_and_drops_scripts_and_styles() -> None:
    text = html_to_text(
        "<html><head><title>Titel</title><style>p { color: red }</style></head><body>"
        '<p>Klik <a href="https://example.test/a">hier</a> &amp; '
        '<a href="https://example.test/b">https://example.test/b</a></p>'
        "<script>alert(1)</script><p>regel&nbsp;2<br>regel 3</p></body></html>"
    )
    # &nbsp; is white space like any other once the layout is gone.
    assert text == "Klik hier (https://example.test/a) & https://example.test/b\n\nregel 2\nregel 3"


def test_html_without_markup_structure_still_gives_text() -> None:
    assert html_to_text("<head><title>only a title, never closed") == "only a title, never closed"
    assert html_to_text("<![if !supportLists]>text<![endif]>") == "text"


def test_html_whitespace_is_collapsed() -> None:
    assert html_to_text("<div>a\n   b\t\tc</div>\n\n\n\n<div>d</div>") == "a b c\n\nd"
