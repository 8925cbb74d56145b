"""The reporter in the URL forms a report quotes (issue 10): percent-encoded, `+` for spaces,
after another escape; and the raw-header scan the purge uses on mail it never parsed."""

from __future__ import annotations

from mailtriage.inbound.mime.head_scan import HEAD_SCAN_BYTES, head_facts
from mailtriage.outgoing.masking import mask_personal

ADDRESS = "sanne.visser@example.test"
NAME = "Sanne Visser"


def masked(text: str) -> str:
    return mask_personal(text, address=ADDRESS, name=NAME)


def test_a_query_string_loses_the_encoded_address_and_name_but_keeps_the_url() -> None:
    url = (
        "https://portal.example.nl/reset?user=sanne.visser%40example.test&name=Sanne+Visser"
        "&n2=Sanne%20Visser&next=%3Dsanne.visser%2540example.test&m=mailto%3Asanne.visser%40example.test"
    )
    out = masked(url)
    assert out.startswith("https://portal.example.nl/reset?user=[reporter]&name=[reporter]")
    assert "sanne" not in out.lower() and "visser" not in out.lower()


def test_someone_elses_encoded_address_is_masked_as_an_address() -> None:
    out = mask_personal(
        "https://x.example.nl/?to=jan.jansen%40example.nl&a=1", address=None, name=None
    )
    assert out == "https://x.example.nl/?to=[address]&a=1"


def test_a_name_with_accents_is_masked_percent_encoded() -> None:
    out = mask_personal("?naam=Zo%C3%AB+Ba%C3%A9z", address=None, name="Zoë Baéz")
    assert "Zo%C3%AB" not in out and "Ba%C3%A9z" not in out


def test_ips_ports_and_hosts_stay() -> None:
    text = "http://192.0.2.10:8080/admin?id=4411 and https://api.example.nl/v1"
    assert masked(text) == text


def test_the_header_scan_reads_sender_subject_and_thread_from_the_header_block_only() -> None:
    raw = (
        b"Received: from mx.example.nl\r\n"
        b"From: =?utf-8?q?Sanne_Visser?= <Sanne.Visser@Example.Test>\r\n"
        b"Subject: Re: [PZEM-SEC-2026-0007]\r\n =?utf-8?q?Bijlage?=\r\n"
        b"In-Reply-To: <ack.1@example.nl>\r\n"
        b"References: <r.1@example.test>\r\n <ack.1@example.nl>\r\n"
        b"\r\n"
        b"From: someone.else@example.test\r\n" + b"x" * (2 * HEAD_SCAN_BYTES)
    )
    facts = head_facts(raw)
    assert facts.sender == "sanne.visser@example.test"
    assert "[PZEM-SEC-2026-0007]" in facts.subject
    assert facts.thread_ids == ("ack.1@example.nl", "r.1@example.test")


def test_the_header_scan_stops_at_its_bound() -> None:
    raw = b"X-Junk: " + b"y" * (2 * HEAD_SCAN_BYTES) + b"\r\nFrom: late@example.test\r\n\r\nbody"
    assert head_facts(raw).sender is None
    assert head_facts(b"").sender is None
    assert head_facts(b"From \xff\xfe garbage\n\n").sender is None
