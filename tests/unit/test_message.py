"""parse_message: whatever arrives at security@ becomes an InboundMail or a ParseError.

The mails under tests/corpus were written for this project and imitate the hostile shapes of
the shared developer corpus; set MAILTRIAGE_CORPUS to that folder to parse it as well.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import logging
import os
import re
from pathlib import Path

import pytest

from mailtriage.inbound.message import (
    MAX_HEADER_CHARS,
    MAX_SUBJECT_CHARS,
    MAX_TEXT_CHARS,
    Address,
    InboundMail,
    ParseError,
    parse_message,
    sanitise_filename,
)

PROJECT_CORPUS = Path(__file__).resolve().parents[1] / "corpus"


def corpus_files() -> list[Path]:
    """Every mail of the project's corpus, plus the shared one when MAILTRIAGE_CORPUS is set."""
    roots = [PROJECT_CORPUS]
    if os.environ.get("MAILTRIAGE_CORPUS"):
        roots.append(Path(os.environ["MAILTRIAGE_CORPUS"]))
    return sorted(
        path
        for root in roots
        for path in root.rglob("*")
        if path.is_file() and path.suffix != ".md"
    )


def corpus(name: str) -> InboundMail:
    return parse_message((PROJECT_CORPUS / name).read_bytes())


def mail(*lines: str, body: str = "body") -> bytes:
    return ("\r\n".join(lines) + "\r\n\r\n" + body).encode("utf-8")


_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


# --------------------------------------------------------------------------- every file


@pytest.mark.parametrize("path", corpus_files(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_corpus_mail_parses_or_is_empty(path: Path) -> None:
    raw = path.read_bytes()
    if not raw.strip():
        with pytest.raises(ParseError, match="empty message"):
            parse_message(raw)
        return
    parsed = parse_message(raw)
    assert isinstance(parsed, InboundMail)
    assert "\n" not in parsed.subject and "\r" not in parsed.subject
    assert len(parsed.subject) <= MAX_SUBJECT_CHARS
    assert len(parsed.text) <= MAX_TEXT_CHARS
    assert not _UNSAFE.search(parsed.subject + parsed.text)
    assert parsed.date is None or parsed.date.utcoffset() == dt.timedelta(0)
    assert parsed.language in ("nl", "en", "unsure")
    for name, value in parsed.headers:
        assert name == name.lower()
        assert len(value) <= MAX_HEADER_CHARS
        assert not _UNSAFE.search(name + value) and "\t" not in value
    for address in (parsed.sender, *parsed.to, *parsed.cc, *parsed.reply_to):
        if address is not None:
            assert address.address == address.address.lower() and "@" in address.address
    for attachment in parsed.attachments:
        assert_safe_filename(attachment.filename)
        assert attachment.size >= 0 and len(attachment.sha256) == 64


def assert_safe_filename(name: str) -> None:
    assert name and len(name) <= 200
    assert "/" not in name and "\\" not in name
    assert not name.startswith(".") and not name.endswith((".", " "))
    assert not any(ord(ch) < 32 or 0x7F <= ord(ch) <= 0x9F for ch in name)


def test_the_project_corpus_is_all_there() -> None:
    names = {path.name for path in PROJECT_CORPUS.glob("*.eml")}
    assert len(names) >= 30
    assert (PROJECT_CORPUS / "empty.eml").read_bytes() == b""


# --------------------------------------------------------------------------- empty input


@pytest.mark.parametrize("raw", [b"", b"   ", b"\r\n\r\n\t \n", b"\xef\xbb\xbf\r\n"])
def test_empty_or_blank_input_is_a_parse_error(raw: bytes) -> None:
    with pytest.raises(ParseError, match="empty message"):
        parse_message(raw)


def test_non_bytes_are_a_parse_error() -> None:
    with pytest.raises(ParseError):
        parse_message("From: a@example.test\n\nx")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- headers


def test_a_dutch_report_is_read_completely() -> None:
    report = corpus("plain-report-nl.eml")
    assert report.sender == Address("Sanne Bakker", "sanne.bakker@example.nl")
    assert report.return_path == "sanne.bakker@example.nl"
    assert report.to == (Address("", "security@example.nl"),)
    assert report.date == dt.datetime(2026, 11, 27, 13, 0, tzinfo=dt.UTC)
    assert report.message_id == "melding-0001@mail.example.nl"
    assert report.content_type == "text/plain"
    assert report.language == "nl"
    assert report.indicators.urls == ("https://portaal.example.nl/mijn/facturen?klant=1042",)
    assert report.indicators.ipv4 == ("192.0.2.44",)
    assert report.indicators.ipv6 == ("2001:db8:10::5",)
    assert report.indicators.datetimes == ("26-11-2026", "21.15 uur")
    assert report.first_header("SUBJECT") == report.subject
    assert report.attachments == () and not report.forwards_message


def test_an_english_report_is_english() -> None:
    report = corpus("plain-report-en.eml")
    assert report.language == "en"
    assert "December 2, 2026" in report.indicators.datetimes


def test_a_german_report_is_unsure_and_decoded() -> None:
    report = corpus("report-de.eml")
    assert report.language == "unsure"
    assert report.subject == "Sicherheitslücke auf Ihrer Webseite"
    assert "Mit freundlichen Grüßen" in report.text


def test_an_encoded_subject_cannot_smuggle_line_breaks() -> None:
    subject = corpus("encoded-subject-crlf.eml").subject
    assert subject == "first line Bcc: victim@example.test tab test"


def test_an_empty_address_group_parses_to_no_recipients() -> None:
    bounce = corpus("dsn-bounce.eml")
    assert bounce.to == ()
    assert bounce.sender == Address("Mail Delivery System", "mailer-daemon@mx.example.nl")
    assert bounce.return_path == ""
    assert bounce.first_header("auto-submitted") == "auto-replied"
    assert bounce.content_type == "multipart/report"
    assert bounce.forwards_message
    assert [(a.filename, a.content_type) for a in bounce.attachments] == [
        ("attachment-1.txt", "message/delivery-status"),
        ("forwarded-1.eml", "message/rfc822"),
    ]


def test_auto_reply_signals_are_in_the_headers() -> None:
    assert corpus("out-of-office.eml").first_header("Auto-Submitted") == "auto-replied"
    assert corpus("vacation-precedence-bulk.eml").first_header("precedence") == "bulk"
    assert corpus("mailing-list.eml").first_header("list-id") == (
        "Energy discussion <energy-list.lists.example.org>"
    )
    assert corpus("spam-flagged.eml").first_header("x-spam-flag") == "YES"
    assert corpus("null-sender.eml").return_path == ""
    assert corpus("mailer-daemon-from.eml").sender == Address("", "mailer-daemon@mx.example.com")


def test_threading_ids_are_read_without_brackets() -> None:
    reply = corpus("out-of-office.eml")
    assert reply.in_reply_to == ("ack-3@example.nl",)
    assert reply.references == ("report-3@example.org", "ack-3@example.nl")


def test_garbage_in_threading_headers_is_tolerated() -> None:
    parsed = parse_message(
        mail(
            "From: a@example.test",
            "Message-ID: not an id at all",
            "In-Reply-To: <one@example.test> (from Someone at 3pm) <two@example.test>",
            "References: <root@example.test>\r\n <one@example.test> garbage <>< <one@example.test>",
        )
    )
    assert parsed.message_id is None
    assert parsed.in_reply_to == ("one@example.test", "two@example.test")
    assert parsed.references == ("root@example.test", "one@example.test")


def test_no_return_path_header_is_none() -> None:
    assert parse_message(mail("From: a@example.test")).return_path is None


def test_addresses_are_lower_cased_and_unusable_ones_skipped() -> None:
    parsed = parse_message(
        mail(
            'From: "Jan de Vries" <Jan.De.Vries@Example.NL>',
            "To: undisclosed-recipients:;",
            "Cc: =?utf-8?q?P=C3=A9ter?= <PETER@example.test>, not-an-address, <>",
            "Reply-To: Reply <Reply@Example.Test>",
        )
    )
    assert parsed.sender == Address("Jan de Vries", "jan.de.vries@example.nl")
    assert parsed.to == ()
    assert parsed.cc == (Address("Péter", "peter@example.test"),)
    assert parsed.reply_to == (Address("Reply", "reply@example.test"),)


def test_a_from_without_an_address_gives_no_sender() -> None:
    assert parse_message(mail("From: just a name")).sender is None
    assert parse_message(mail("Subject: no from")).sender is None


def test_raw_8bit_headers_are_decoded_with_the_bodys_charset() -> None:
    parsed = corpus("koi8r-8bit-headers.eml")
    assert parsed.subject == "Уязвимость на сайте"
    assert parsed.sender == Address("Иван Петров", "ivan@example.org")


def test_unknown_charsets_are_tolerated() -> None:
    parsed = corpus("unknown-charset-mac-cyrillic.eml")
    assert parsed.subject == "Привет"
    assert parsed.text.startswith("Привет, это письмо")
    bogus = parse_message(
        mail("Subject: =?x-no-such-charset?Q?caf=C3=A9?=", "Content-Type: text/plain; charset=nope")
    )
    assert bogus.subject == "café"


def test_dates_become_aware_utc_or_none() -> None:
    def date_of(value: str) -> dt.datetime | None:
        return parse_message(mail("From: a@example.test", f"Date: {value}")).date

    assert date_of("Fri, 27 Nov 2026 14:00:00 +0100") == dt.datetime(
        2026, 11, 27, 13, tzinfo=dt.UTC
    )
    assert date_of("Fri, 27 Nov 2026 14:00:00") == dt.datetime(2026, 11, 27, 14, tzinfo=dt.UTC)
    assert date_of("the day after tomorrow") is None
    assert parse_message(mail("From: a@example.test")).date is None


def test_a_huge_header_is_capped() -> None:
    parsed = corpus("huge-header-line.eml")
    padding = parsed.first_header("x-padding")
    assert padding is not None and len(padding) == MAX_HEADER_CHARS
    assert parsed.text == "The X-Padding header above is a single unfolded line."


def test_too_many_headers_are_cut() -> None:
    raw = mail("From: a@example.test", *(f"X-Filler-{i}: {i}" for i in range(2000)))
    parsed = parse_message(raw)
    assert len(parsed.headers) == 500
    assert "too-many-headers" in parsed.defects


# --------------------------------------------------------------------------- bodies


def test_html_only_mail_gives_text_with_the_link() -> None:
    parsed = corpus("html-only.eml")
    assert "deze link (https://login.example.nl/uit?naar=https://evil.example.test/)" in (
        parsed.text
    )
    assert "niet tonen" not in parsed.text and "ignored title" not in parsed.text
    assert parsed.indicators.urls == (
        "https://login.example.nl/uit?naar=https://evil.example.test/",
    )


def test_related_html_without_text_part() -> None:
    parsed = corpus("related-no-text.eml")
    assert parsed.text.startswith("Zie de schermafbeelding:")
    assert [a.content_type for a in parsed.attachments] == ["image/png"]


def test_the_plain_alternative_wins_over_html() -> None:
    parsed = corpus("phishing-nl.eml")
    assert parsed.text.startswith("Geachte klant,\n\nUw factuur van november")
    assert parsed.language == "nl"


@pytest.mark.parametrize(
    "encoding",
    ["7bit", "quoted-printable", "base64"],
)
def test_backslashes_in_a_body_are_kept_exactly(encoding: str) -> None:
    body = "Path: C:\\new\\tmp\\x41.txt and \\u0041 and \\\\server\\share"
    if encoding == "base64":
        wire = base64.b64encode(body.encode()).decode()
    elif encoding == "quoted-printable":
        wire = body.replace("=", "=3D")
    else:
        wire = body
    parsed = parse_message(
        mail(
            "From: a@example.test",
            "Content-Type: text/plain; charset=utf-8",
            f"Content-Transfer-Encoding: {encoding}",
            body=wire,
        )
    )
    assert parsed.text == body


def test_backslashes_survive_in_the_corpus_report() -> None:
    assert "C:\\new\\tmp\\x41.txt" in corpus("plain-report-en.eml").text


def test_a_charset_that_would_interpret_escapes_is_refused() -> None:
    parsed = parse_message(
        mail("Content-Type: text/plain; charset=unicode_escape", body="C:\\new\\x41")
    )
    assert parsed.text == "C:\\new\\x41"


def test_a_mislabelled_charset_is_read_as_what_it_is() -> None:
    assert "café-wifi: de één" in corpus("mislabelled-charset.eml").text


def test_utf16_text_without_byte_order_mark() -> None:
    body = base64.b64encode("Dear team, hello".encode("utf-16-le")).decode()
    parsed = parse_message(
        mail(
            "Content-Type: text/plain; charset=utf-16",
            "Content-Transfer-Encoding: base64",
            body=body,
        )
    )
    assert parsed.text == "Dear team, hello"


def test_line_endings_and_leading_junk_do_not_matter() -> None:
    assert corpus("bare-cr-line-endings.eml").text == (
        "Every line of this message ends in a bare CR.\nNo line feed appears anywhere."
    )
    assert corpus("mixed-crlf-lf.eml").text == "headers end in LF, this part in CRLF\n\nsecond part"
    assert corpus("utf8-bom.eml").subject == "starts with a byte order mark"
    assert corpus("mbox-from-line.eml").sender == Address("", "sender@example.test")
    blank_first = parse_message(b"\r\n\r\nFrom: a@example.test\r\nSubject: late start\r\n\r\nx")
    assert blank_first.subject == "late start"


def test_broken_structure_keeps_the_text() -> None:
    assert "The boundary parameter is missing" in corpus("missing-boundary.eml").text
    assert "First part with the wrong delimiter." in corpus("bad-boundary.eml").text
    assert corpus("header-only.eml").text == ""
    body_only = corpus("body-only.eml")
    assert body_only.text.startswith("This message has no header block at all.")
    assert body_only.sender is None


def test_mail_parser_failure_falls_back_to_the_standard_library() -> None:
    parsed = corpus("boundary-prefix-unclosed.eml")
    assert "mailparser-failed: AttributeError" in parsed.defects
    assert parsed.sender == Address("Robin Smit", "robin@example.test")
    assert parsed.text.startswith("Neither multipart is ever closed.")


def test_deep_nesting() -> None:
    assert corpus("nested-60-levels.eml").text == "The text at the bottom of sixty levels."
    levels = 3000
    raw = [
        "Subject: deeper than the recursion limit\nContent-Type: multipart/mixed; boundary=l0\n\n"
    ]
    raw += [
        f"--l{i - 1}\nContent-Type: multipart/mixed; boundary=l{i}\n\n" for i in range(1, levels)
    ]
    raw += ["text\n"]
    parsed = parse_message("".join(raw).encode())
    assert parsed.subject == "deeper than the recursion limit"


def test_a_megabyte_line_is_capped() -> None:
    parsed = corpus("one-mb-single-line.eml")
    assert len(parsed.text) == MAX_TEXT_CHARS
    assert "text-truncated" in parsed.defects


# --------------------------------------------------------------------------- attachments


def test_hostile_filenames_are_sanitised() -> None:
    names = [a.filename for a in corpus("path-traversal-filename.eml").attachments]
    assert names == ["passwd", "x.exe", "boot.ini", "factuurfdp.exe"]


def test_rfc2231_and_8bit_filenames_are_decoded() -> None:
    names = [a.filename for a in corpus("rfc2231-filenames.eml").attachments]
    assert names == ["rapport één.pdf", "lange bestandsnaam met €.txt", "überprüfung.txt"]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\evil\\x.exe", "x.exe"),
        ("..", "attachment-3.pdf"),
        ("", "attachment-3.pdf"),
        (None, "attachment-3.pdf"),
        ("dir/", "dir"),
        ("rapport\x00\r\n.pdf", "rapport.pdf"),
        ("invoice\u202efdp.exe", "invoicefdp.exe"),
        ("e\u0301e.txt", "\u00e9e.txt"),  # NFC
        ('what?<>:"|*.txt', "what_______.txt"),
        ("CON.txt", "_CON.txt"),
        (".htaccess", "htaccess"),
        ("x" * 300 + ".pdf", "x" * 196 + ".pdf"),
    ],
)
def test_sanitise_filename(name: str | None, expected: str) -> None:
    assert sanitise_filename(name, 3, "application/pdf") == expected


def test_fallback_names_follow_the_content_type() -> None:
    assert sanitise_filename(None, 1, "message/rfc822") == "attachment-1.eml"
    assert sanitise_filename(None, 2, "application/x-unknown") == "attachment-2.bin"
    assert sanitise_filename(None, 4, "application/pgp-signature") == "attachment-4.sig"


def test_no_attachment_is_dropped_by_its_kind() -> None:
    fake = corpus("fake-pdf-exe.eml").attachments
    assert [(a.filename, a.size) for a in fake] == [("fake.pdf.exe", 0)]
    assert fake[0].sha256 == hashlib.sha256(b"").hexdigest()
    assert len(corpus("fifty-attachments.eml").attachments) == 50
    encrypted = corpus("pgp-mime-encrypted.eml")
    assert [a.content_type for a in encrypted.attachments] == [
        "application/pgp-encrypted",
        "application/octet-stream",
    ]
    signed = corpus("smime-signed.eml")
    assert [a.filename for a in signed.attachments] == ["smime.p7s"]
    assert "vpn.example.nl" in signed.indicators.hosts
    assert [a.content_type for a in corpus("message-partial.eml").attachments] == [
        "message/partial"
    ]


def test_attachment_sizes_and_hashes_are_of_the_decoded_bytes() -> None:
    payload = bytes(range(256)) * 40
    parsed = parse_message(
        mail(
            "Content-Type: multipart/mixed; boundary=XX",
            body=(
                "--XX\r\nContent-Type: text/plain\r\n\r\nsee attachment\r\n"
                "--XX\r\nContent-Type: application/zip; name=proof.zip\r\n"
                "Content-Transfer-Encoding: base64\r\n\r\n"
                + base64.encodebytes(payload).decode()
                + "--XX--\r\n"
            ),
        )
    )
    (attachment,) = parsed.attachments
    assert attachment.filename == "proof.zip"
    assert attachment.size == len(payload)
    assert attachment.sha256 == hashlib.sha256(payload).hexdigest()


def test_uuencoded_files_in_a_body_become_attachments() -> None:
    parsed = corpus("uuencoded-attachment.eml")
    (attachment,) = parsed.attachments
    assert attachment.filename == "poc.txt"
    assert attachment.size == len(b"invented file contents for a uuencode test\n")
    assert "[uuencoded file: poc.txt]" in parsed.text


def test_a_forwarded_mail_is_an_attachment_not_the_text() -> None:
    parsed = corpus("forwarded-phishing-rfc822.eml")
    assert parsed.forwards_message
    assert parsed.text == "Is deze mail echt van jullie?"
    assert [(a.filename, a.content_type) for a in parsed.attachments] == [
        ("forwarded-1.eml", "message/rfc822")
    ]
    assert parsed.attachments[0].size > 200


def test_a_bare_forward_is_read_through() -> None:
    inner = "From: x@example.test\r\nSubject: inner\r\n\r\nBetaal nu via https://pay.example.test/"
    parsed = parse_message(mail("From: a@example.test", "Content-Type: message/rfc822", body=inner))
    assert parsed.forwards_message
    assert parsed.text == "Betaal nu via https://pay.example.test/"
    assert parsed.indicators.urls == ("https://pay.example.test/",)


def test_an_inline_forward_is_plain_text() -> None:
    parsed = corpus("inline-forward.eml")
    assert not parsed.forwards_message
    assert parsed.indicators.urls == ("hxxps://teruggave-example[.]test/aanvraag",)
    assert parsed.indicators.datetimes[:2] == ("2 december 2026", "09:41")


# --------------------------------------------------------------------------- big mail


def test_a_large_mail_is_parsed_part_by_part_with_exact_hashes() -> None:
    binary = hashlib.sha256(b"seed").digest() * 150_000  # 4.8 MB
    log = b"".join(b"GET /meter?id=%d HTTP/1.1 200 192.0.2.1\n" % i for i in range(20_000))
    raw = (
        b"From: a@example.test\nSubject: big\nContent-Type: multipart/mixed; boundary=XX\n\n"
        b"--XX\nContent-Type: text/plain\n\n" + log + b"--XX\n"
        b"Content-Type: application/zip; name=a.zip\nContent-Transfer-Encoding: base64\n\n"
        + base64.encodebytes(binary)
        + b"--XX\nContent-Type: text/plain; name=log.txt\nContent-Disposition: attachment\n\n"
        + log
        + b"--XX--\n"
    )
    parsed = parse_message(raw)
    assert parsed.text == log.decode().rstrip("\n")
    assert [(a.filename, a.size, a.sha256) for a in parsed.attachments] == [
        ("a.zip", len(binary), hashlib.sha256(binary).hexdigest()),
        ("log.txt", len(log) - 1, hashlib.sha256(log[:-1]).hexdigest()),
    ]


# --------------------------------------------------------------------------- logging


def test_nothing_from_the_message_reaches_the_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    secret = "reporter-7f3a@example.test"
    raw = mail(
        f"From: Geheim <{secret}>",
        "Subject: =?shift_jis?B?broken?= " + secret,
        "Content-Type: multipart/mixed; boundary=XX",
        body=f"--XX\r\nContent-Type: text/x-unknown\r\n\r\n{secret}\r\n--XX--\r\n",
    )
    parse_message(raw)
    for path in sorted(PROJECT_CORPUS.glob("*.eml")):
        if path.stat().st_size:
            parse_message(path.read_bytes())
    assert all(secret not in record.getMessage() for record in caplog.records)
    assert not [r for r in caplog.records if r.name.startswith("mailparser")]
