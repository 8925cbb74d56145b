"""staff_verdict: a staff From is a claim; only our MX's Authentication-Results can back it.

Every case runs twice where it can: on the decoded headers of the InboundMail, and with the
raw message passed as `raw=` (the undecoded headers). Staff live at example.nl, everyone
else at example.test; our MX calls itself mx.example.nl.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import authres
import pytest

from mailtriage.inbound.message import MAX_HEADER_CHARS, ParseError, parse_message
from mailtriage.inbound.staffauth import REASONS, StaffVerdict, staff_verdict

if TYPE_CHECKING:
    from mailtriage.config import StaffAuth

STAFF = ("analyst@example.nl", "lead@sec.example.nl")
MX = "mx.example.nl"
TRUSTED = (MX,)
RECEIVED = (
    "Received: from mail.example.test (mail.example.test [192.0.2.7])\r\n"
    "\tby mx.example.nl (Postfix) with ESMTPS id 4AbC; Mon, 2 Mar 2026 10:00:00 +0100"
)
ANALYST = "Analyst <analyst@example.nl>"


def message(
    *top: str,
    sender: str | None = ANALYST,
    below: Sequence[str] = (),
    extra: Sequence[str] = (),
    subject: str = "[PZEM-SEC-2026-0007] Re: XSS in portal",
) -> bytes:
    """A mail as our MX delivers it: its own Authentication-Results (`top`) and Received on
    top, then whatever the sender wrote (`below`, forged headers included)."""
    lines = [f"Authentication-Results: {value}" for value in top]
    lines.append(RECEIVED)
    lines += [f"Authentication-Results: {value}" for value in below]
    if sender is not None:
        lines.append(f"From: {sender}")
    lines += [
        "To: security@example.nl",
        f"Subject: {subject}",
        "Date: Mon, 2 Mar 2026 09:59:58 +0100",
        "Message-ID: <reply-1@example.nl>",
        *extra,
    ]
    return ("\r\n".join(lines) + "\r\n\r\n#note checked, fix is live\r\n").encode("utf-8")


@pytest.fixture(params=[False, True], ids=["decoded", "raw"])
def use_raw(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


def verdict(
    raw: bytes,
    use_raw: bool = False,
    staff: Sequence[str] = STAFF,
    trusted: Sequence[str] = TRUSTED,
    accept: StaffAuth = "dkim-or-spf",
    allow_unauthenticated: bool = False,
) -> StaffVerdict:
    result = staff_verdict(
        parse_message(raw),
        staff,
        trusted,
        raw=raw if use_raw else None,
        accept=accept,
        allow_unauthenticated=allow_unauthenticated,
    )
    assert result.reason in REASONS
    assert result.authenticated == (
        result.reason in ("no-requirement", "dkim-aligned", "spf-aligned")
    )
    assert result.claimed or not result.authenticated
    return result


def reason(raw: bytes, use_raw: bool = False, **kwargs: Sequence[str]) -> str:
    return verdict(raw, use_raw, **kwargs).reason


# --------------------------------------------------------------------------- who claims


def test_stranger_is_not_staff_even_when_authenticated(use_raw: bool) -> None:
    raw = message(f"{MX}; dkim=pass header.d=example.test", sender="Eve <eve@example.test>")
    assert verdict(raw, use_raw) == StaffVerdict(False, False, "not-staff")


def test_staff_address_compared_case_insensitively(use_raw: bool) -> None:
    raw = message(f"{MX}; dkim=pass header.d=Example.NL", sender="<ANALYST@Example.NL>")
    assert verdict(raw, use_raw, staff=(" Analyst@EXAMPLE.nl ",)) == StaffVerdict(
        True, True, "dkim-aligned"
    )


@pytest.mark.parametrize(
    "sender",
    [
        '"analyst@example.nl" <eve@example.test>',
        "analyst@example.nl <eve@example.test>",
        "=?utf-8?q?analyst=40example=2Enl?= <eve@example.test>",
        '"Analyst <analyst@example.nl>" <eve@example.test>',
    ],
)
def test_display_name_spoofing_is_not_staff(sender: str, use_raw: bool) -> None:
    raw = message(f"{MX}; dkim=pass header.d=example.test", sender=sender)
    assert verdict(raw, use_raw) == StaffVerdict(False, False, "not-staff")


def test_no_from_is_not_staff(use_raw: bool) -> None:
    raw = message(f"{MX}; dkim=pass header.d=example.nl", sender=None)
    assert verdict(raw, use_raw) == StaffVerdict(False, False, "not-staff")


def test_empty_staff_list_means_nobody_is_staff() -> None:
    raw = message(f"{MX}; dkim=pass header.d=example.nl")
    assert verdict(raw, staff=()) == StaffVerdict(False, False, "not-staff")


def test_right_tag_from_unrelated_sender_is_not_staff(use_raw: bool) -> None:
    raw = message(
        f"{MX}; dkim=pass header.d=example.test; spf=pass smtp.mailfrom=eve@example.test",
        sender="eve@example.test",
        subject="[PZEM-SEC-2026-0007] #close fixed",
    )
    assert verdict(raw, use_raw) == StaffVerdict(False, False, "not-staff")


# --------------------------------------------------------------------------- no requirement


@pytest.mark.parametrize(
    "top", [(), (f"{MX}; dkim=fail header.d=example.nl",), ("mail.example.test; none",)]
)
def test_without_trusted_ids_a_staff_from_is_enough_only_with_the_opt_out(
    top: tuple[str, ...], use_raw: bool
) -> None:
    assert verdict(message(*top), use_raw, trusted=(), allow_unauthenticated=True) == (
        StaffVerdict(True, True, "no-requirement")
    )


@pytest.mark.parametrize(
    "top", [(), (f"{MX}; dkim=pass header.d=example.nl",), ("mail.example.test; none",)]
)
def test_without_trusted_ids_and_without_the_opt_out_no_staff_mail_counts(
    top: tuple[str, ...], use_raw: bool
) -> None:
    """Issue 10: a stranger writing a staff From must not act as staff on a desk whose
    operator forgot the trusted ids; the verdict itself fails closed, not only the CLI."""
    assert verdict(message(*top), use_raw, trusted=()) == (
        StaffVerdict(True, False, "no-trusted-ids")
    )


def test_without_trusted_ids_strangers_are_still_strangers() -> None:
    raw = message(sender="eve@example.test")
    assert verdict(raw, trusted=()) == StaffVerdict(False, False, "not-staff")


def test_blank_trusted_ids_still_require_authentication() -> None:
    raw = message(f"{MX}; dkim=pass header.d=example.nl")
    assert verdict(raw, trusted=("", " ")) == StaffVerdict(True, False, "no-trusted-results")


# --------------------------------------------------------------------------- acceptance: spoofing


def test_staff_from_without_any_authentication_results(use_raw: bool) -> None:
    assert verdict(message(), use_raw) == StaffVerdict(True, False, "no-trusted-results")


@pytest.mark.parametrize(
    "forged",
    [
        "mail.example.test; dkim=pass header.d=example.nl; spf=pass smtp.mailfrom=example.nl",
        "mx.example.nl.example.test; dkim=pass header.d=example.nl",
        "evilmx.example.nl; dkim=pass header.d=example.nl",
        "example.nl; dkim=pass header.d=example.nl",
    ],
)
def test_forged_header_from_untrusted_authserv_id(forged: str, use_raw: bool) -> None:
    assert reason(message(below=[forged]), use_raw) == "no-trusted-results"
    # Even on top, where only our MX writes: an id we do not trust is not ours.
    assert reason(message(forged), use_raw) == "no-trusted-results"


def test_dkim_pass_for_another_domain(use_raw: bool) -> None:
    raw = message(f"{MX}; dkim=pass header.d=example.test header.s=s1; spf=none")
    assert verdict(raw, use_raw) == StaffVerdict(True, False, "dkim-not-aligned")


def test_arc_authentication_results_do_not_count(use_raw: bool) -> None:
    raw = message(extra=[f"ARC-Authentication-Results: i=1; {MX}; dkim=pass header.d=example.nl"])
    assert reason(raw, use_raw) == "no-trusted-results"


def test_microsoft_header_without_authserv_id_is_never_trusted(use_raw: bool) -> None:
    value = (
        "spf=pass (sender IP is 192.0.2.7) smtp.mailfrom=example.nl; dkim=pass (signature was "
        "verified) header.d=example.nl;dmarc=pass action=none header.from=example.nl;"
        "compauth=pass reason=100"
    )
    assert reason(message(value), use_raw) == "no-trusted-results"


# --------------------------------------------------------------------------- topmost header only


def test_forged_trusted_header_below_ours_is_ignored(use_raw: bool) -> None:
    raw = message(
        f"{MX}; dkim=fail (bad signature) header.d=example.nl; spf=softfail smtp.mailfrom=x.nl",
        below=[f"{MX}; dkim=pass header.d=example.nl; spf=pass smtp.mailfrom=example.nl"],
    )
    assert verdict(raw, use_raw) == StaffVerdict(True, False, "fail")


def test_forged_trusted_header_below_our_empty_result(use_raw: bool) -> None:
    raw = message(f"{MX}; none", below=[f"{MX}; dkim=pass header.d=example.nl"])
    assert reason(raw, use_raw) == "fail"


def test_two_trusted_headers_where_the_top_one_says_fail(use_raw: bool) -> None:
    raw = message(f"{MX}; dkim=fail header.d=example.nl", f"{MX}; dkim=pass header.d=example.nl")
    assert verdict(raw, use_raw) == StaffVerdict(True, False, "fail")


def test_two_trusted_headers_where_the_top_one_says_pass(use_raw: bool) -> None:
    raw = message(f"{MX}; dkim=pass header.d=example.nl", f"{MX}; dkim=fail header.d=example.nl")
    assert reason(raw, use_raw) == "dkim-aligned"


def test_untrusted_header_above_ours_does_not_hide_ours(use_raw: bool) -> None:
    raw = message("relay.example.test; dkim=fail", f"{MX}; dkim=pass header.d=example.nl")
    assert reason(raw, use_raw) == "dkim-aligned"


def test_unreadable_top_trusted_header_never_falls_through_to_one_below(use_raw: bool) -> None:
    raw = message(
        f"{MX}; dkim=pass header.d=example.nl (unclosed comment",
        below=[f"{MX}; dkim=pass header.d=example.nl"],
    )
    assert verdict(raw, use_raw) == StaffVerdict(True, False, "unparseable")


def test_any_of_several_trusted_ids(use_raw: bool) -> None:
    raw = message("mx2.example.nl; dkim=pass header.d=example.nl")
    assert reason(raw, use_raw, trusted=(MX, "mx2.example.nl")) == "dkim-aligned"


# --------------------------------------------------------------------------- authserv-id forms


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (f"{MX} 1; dkim=pass header.d=example.nl", "dkim-aligned"),
        (f"{MX} (Postfix) 1 (version); dkim=pass header.d=example.nl", "dkim-aligned"),
        (f"{MX}(amavis);dkim=pass header.d=example.nl", "dkim-aligned"),
        (f"(first) {MX}; dkim=pass header.d=example.nl", "dkim-aligned"),
        ("MX.Example.NL; dkim=pass header.d=example.nl", "dkim-aligned"),
        (f'"{MX}"; dkim=pass header.d=example.nl', "dkim-aligned"),
        (f"{MX} 2; dkim=pass header.d=example.nl", "unparseable"),  # unknown version
        (f"{MX} what; dkim=pass header.d=example.nl", "unparseable"),
    ],
)
def test_authserv_id_forms(value: str, expected: str, use_raw: bool) -> None:
    assert reason(message(value), use_raw) == expected


def test_trusted_ids_compared_case_insensitively() -> None:
    raw = message(f"{MX}; dkim=pass header.d=example.nl")
    assert reason(raw, trusted=(" MX.EXAMPLE.nl ",)) == "dkim-aligned"


# --------------------------------------------------------------------------- real-world shapes


def test_gmail_header(use_raw: bool) -> None:
    value = (
        "mx.google.com;\r\n"
        "       dkim=pass header.i=@example.nl header.s=20230601 header.b=AbC/12+x;\r\n"
        "       spf=pass (google.com: domain of analyst@example.nl designates 192.0.2.7 as "
        "permitted sender) smtp.mailfrom=analyst@example.nl;\r\n"
        "       dmarc=pass (p=REJECT sp=REJECT dis=NONE) header.from=example.nl"
    )
    assert verdict(message(value), use_raw, trusted=("mx.google.com",)) == StaffVerdict(
        True, True, "dkim-aligned"
    )


def test_gmail_header_spf_only(use_raw: bool) -> None:
    value = (
        "mx.google.com; spf=pass (google.com: domain of analyst@example.nl designates "
        "192.0.2.7 as permitted sender) smtp.mailfrom=analyst@example.nl"
    )
    assert reason(message(value), use_raw, trusted=("mx.google.com",)) == "spf-aligned"


def test_microsoft_style_with_authserv_id_and_trailing_semicolon(use_raw: bool) -> None:
    value = (
        f"{MX}; spf=pass (sender IP is 192.0.2.7) smtp.mailfrom=example.nl; dkim=pass "
        "(signature was verified) header.d=example.nl;dmarc=pass action=none "
        "header.from=example.nl;compauth=pass reason=100;"
    )
    assert reason(message(value), use_raw) == "dkim-aligned"


def test_yahoo_style_trailing_semicolon_which_authres_alone_rejects(use_raw: bool) -> None:
    value = (
        f"{MX}; dkim=pass header.i=@example.nl header.s=s2048; spf=none "
        "smtp.mailfrom=example.nl; dmarc=success(p=REJECT) header.from=example.nl;"
    )
    with pytest.raises(authres.AuthResError):
        authres.parse_value(value)  # why results are split before authres reads them
    assert reason(message(value), use_raw) == "dkim-aligned"


def test_one_unreadable_result_does_not_hide_the_others(use_raw: bool) -> None:
    value = f"{MX}; spf=none (sender IP is ) smtp.mailfrom=<>; dkim=pass header.d=example.nl"
    assert reason(message(value), use_raw) == "dkim-aligned"


def test_rspamd_header(use_raw: bool) -> None:
    value = (
        f"{MX};\r\n\tdkim=pass header.d=example.nl header.s=dkim header.b=H7pb97c0;\r\n"
        '\tdkim=fail ("body hash did not verify") header.d=example.test header.s=s1;\r\n'
        "\tdmarc=pass (policy=reject) header.from=example.nl;\r\n"
        '\tspf=pass (mx.example.nl: domain of "bounce@example.nl" designates 192.0.2.7 as '
        "permitted sender) smtp.mailfrom=bounce@example.nl"
    )
    assert reason(message(value), use_raw) == "dkim-aligned"


# --------------------------------------------------------------------------- DKIM alignment


@pytest.mark.parametrize(
    ("sender", "result", "expected"),
    [
        (ANALYST, "dkim=pass header.d=example.nl", "dkim-aligned"),
        (ANALYST, "DKIM=PASS header.D=EXAMPLE.NL.", "dkim-aligned"),
        (ANALYST, 'dkim=pass header.d="example.nl"', "dkim-aligned"),
        (ANALYST, "dkim/1=pass header.d=example.nl", "dkim-aligned"),
        (ANALYST, "dkim=pass header.i=@example.nl header.s=sel", "dkim-aligned"),
        (ANALYST, "dkim=pass header.i=analyst@example.nl", "dkim-aligned"),
        ("lead@sec.example.nl", "dkim=pass header.d=example.nl", "dkim-aligned"),  # relaxed
        ("lead@sec.example.nl", "dkim=pass header.d=sec.example.nl", "dkim-aligned"),
        ("lead@sec.example.nl", "dkim=pass header.i=@example.nl", "dkim-aligned"),
        (ANALYST, "dkim=pass header.d=badexample.nl", "dkim-not-aligned"),  # no label boundary
        (ANALYST, "dkim=pass header.d=example.nl.example.test", "dkim-not-aligned"),
        (ANALYST, "dkim=pass header.d=mail.example.nl", "dkim-not-aligned"),  # below From
        (ANALYST, "dkim=pass header.d=nl", "dkim-not-aligned"),  # a single label never aligns
        (ANALYST, "dkim=pass header.d=example.test header.i=@example.nl", "dkim-not-aligned"),
        (ANALYST, "dkim=pass header.i=@badexample.nl", "dkim-not-aligned"),
        (ANALYST, "dkim=pass header.s=sel", "dkim-not-aligned"),  # no signing domain at all
        (ANALYST, "dkim=pass header.d=exa_mple..nl", "dkim-not-aligned"),
        (ANALYST, "dkim=fail header.d=example.nl", "fail"),
        (ANALYST, "dkim=neutral header.d=example.nl", "fail"),
        (ANALYST, "dkim-atps=pass header.d=example.nl", "fail"),
        (ANALYST, "dmarc=pass header.from=example.nl", "fail"),  # the contract asks DKIM/SPF
    ],
)
def test_dkim_alignment(sender: str, result: str, expected: str, use_raw: bool) -> None:
    assert reason(message(f"{MX}; {result}", sender=sender), use_raw) == expected


def test_several_signatures_one_aligned(use_raw: bool) -> None:
    value = f"{MX}; dkim=pass header.d=mailer.example.test; dkim=pass header.d=example.nl"
    assert reason(message(value), use_raw) == "dkim-aligned"


def test_aligned_signature_failed_other_passed(use_raw: bool) -> None:
    value = f"{MX}; dkim=fail header.d=example.nl; dkim=pass header.d=example.test"
    assert reason(message(value), use_raw) == "dkim-not-aligned"


# --------------------------------------------------------------------------- SPF alignment


@pytest.mark.parametrize(
    ("sender", "result", "expected"),
    [
        (ANALYST, "spf=pass smtp.mailfrom=analyst@example.nl", "spf-aligned"),
        (ANALYST, "spf=pass smtp.mailfrom=example.nl", "spf-aligned"),
        (ANALYST, 'spf=pass smtp.mailfrom="bounce+x"@example.nl', "spf-aligned"),
        ("lead@sec.example.nl", "spf=pass smtp.mailfrom=bounce@example.nl", "spf-aligned"),
        (ANALYST, "spf=pass smtp.mailfrom=bounce@mailer.example.test", "spf-not-aligned"),
        (ANALYST, "spf=pass smtp.mailfrom=bounce@badexample.nl", "spf-not-aligned"),
        (ANALYST, "spf=pass smtp.helo=example.nl", "spf-not-aligned"),  # HELO never counts
        (ANALYST, "spf=pass smtp.mailfrom=<>", "fail"),  # authres cannot read <>: dropped
        (ANALYST, "spf=pass", "spf-not-aligned"),
        (ANALYST, 'spf=pass smtp.mailfrom="analyst@example.nl"@example.test', "spf-not-aligned"),
        (ANALYST, "spf=fail smtp.mailfrom=example.nl", "fail"),
        (ANALYST, "spf=softfail smtp.mailfrom=example.nl", "fail"),
        (
            ANALYST,
            "spf=pass smtp.mailfrom=example.test; dkim=pass header.d=example.test",
            "dkim-not-aligned",
        ),
        (
            ANALYST,
            "dkim=pass header.d=example.test; spf=pass smtp.mailfrom=example.nl",
            "spf-aligned",
        ),
    ],
)
def test_spf_alignment(sender: str, result: str, expected: str, use_raw: bool) -> None:
    assert reason(message(f"{MX}; {result}", sender=sender), use_raw) == expected


# --------------------------------------------------------------------------- comments and quotes


@pytest.mark.parametrize(
    "value",
    [
        f'{MX}; spf=fail (domain of "x; dkim=pass header.d=example.nl") smtp.mailfrom=example.test',
        f'{MX}; spf=fail smtp.mailfrom="x;dkim=pass header.d=example.nl"@example.test',
        f'{MX}; spf=fail smtp.mailfrom="x\\";dkim=pass header.d=example.nl"@example.test',
        f"{MX}; spf=fail (a (b; dkim=pass header.d=example.nl) c) smtp.mailfrom=example.test",
        f"{MX}; spf=fail (a \\); dkim=pass header.d=example.nl) smtp.mailfrom=example.test",
        f"{MX}; spf=fail (; dkim=pass header.d=example.nl",  # never closed
    ],
)
def test_results_inside_comments_or_quotes_do_not_count(value: str, use_raw: bool) -> None:
    assert not verdict(message(value), use_raw).authenticated


def test_comments_and_quoted_values_are_read(use_raw: bool) -> None:
    value = f'{MX}; dkim=pass (good signature) header.s=s1 header.d="example.nl" (signing domain)'
    assert reason(message(value), use_raw) == "dkim-aligned"


def test_opendkim_header_with_semicolon_in_a_comment(use_raw: bool) -> None:
    value = (
        f"{MX}; dkim=pass (2048-bit key; unprotected) header.d=example.nl "
        'header.i=@example.nl header.b="Vt2Yc+Xs"; dkim-atps=neutral'
    )
    assert reason(message(value), use_raw) == "dkim-aligned"


def test_quoted_value_before_another_property_fails_safe(use_raw: bool) -> None:
    # authres reads a quoted value only as the last property of a result: the signing domain
    # is lost, so the pass does not count (the safe direction).
    value = f'{MX}; dkim=pass header.d="example.nl" header.s=s1'
    assert reason(message(value), use_raw) == "dkim-not-aligned"


def test_control_characters_and_empty_results_are_skipped(use_raw: bool) -> None:
    value = f"{MX}; dkim=pass header.d=example.nl; \x00\x01 ;"
    assert reason(message(value), use_raw) == "dkim-aligned"


def test_encoded_words_cannot_forge_results_when_raw_is_given() -> None:
    value = (
        f"{MX}; spf=pass ({MX}: domain of =?utf-8?q?x=29=3B_dkim=3Dpass_header.d=3Dexample.nl"
        "=3B_x=3D=28?=@example.test designates 192.0.2.7 as permitted sender) "
        "smtp.mailfrom=example.test"
    )
    raw = message(value)
    # The premise: decoding turns text inside a comment into a result of its own.
    assert (
        "); dkim=pass header.d=example.nl;"
        in parse_message(raw).header("authentication-results")[0]
    )
    assert verdict(raw, use_raw=True) == StaffVerdict(True, False, "spf-not-aligned")


# --------------------------------------------------------------------------- more than one From


def test_two_from_headers_never_authenticate(use_raw: bool) -> None:
    raw = message(f"{MX}; dkim=pass header.d=example.nl", extra=["From: eve@example.test"])
    assert verdict(raw, use_raw) == StaffVerdict(True, False, "multiple-from")


def test_two_from_addresses_never_authenticate(use_raw: bool) -> None:
    raw = message(
        f"{MX}; dkim=pass header.d=example.nl", sender="analyst@example.nl, eve@example.test"
    )
    assert verdict(raw, use_raw) == StaffVerdict(True, False, "multiple-from")


def test_comma_in_a_quoted_display_name_is_one_address(use_raw: bool) -> None:
    raw = message(f"{MX}; dkim=pass header.d=example.nl", sender='"Doe, Jane" <analyst@example.nl>')
    assert reason(raw, use_raw) == "dkim-aligned"


# --------------------------------------------------------------------------- never raises


@pytest.mark.parametrize(
    "value",
    [
        MX,
        f"{MX};",
        f"{MX};;;",
        f"{MX}; none",
        f"{MX}; dkim",
        f"{MX}; dkim=",
        f"{MX}; =pass",
        f"{MX}; dkim=pass header.d=",
        f"{MX}; dkim=pass header.d",
        f"{MX}; dkim=pass header..d=example.nl",
        f"{MX}; dkim=pass foo.d=example.nl",
        f'{MX}; dkim=pass header.d="example.nl',
        f"{MX}; dkim=pass header.d=example.nl)",
        f"{MX}; dkim=pass header.d=example.nl \\",
        f"{MX}; dkim=pass header.d=exämple.nl",
        f"{MX}; dkim=pass reason=",
        f"{MX}; " + "(" * 3000 + ")" * 3000 + " dkim=pass header.d=example.nl",
        f"{MX}; dkim=pass " + "header.x=y " * 600 + "header.d=example.nl.example.test",
        f"{MX} (",
    ],
)
def test_malformed_headers_never_raise(value: str, use_raw: bool) -> None:
    result = verdict(message(value), use_raw)
    assert result.claimed
    assert not result.authenticated


def test_eight_bit_bytes_in_the_raw_header() -> None:
    raw = message(f"{MX}; spf=pass smtp.mailfrom=x@example.test").replace(
        b"smtp.mailfrom=x@", b"smtp.mailfrom=\xff\xfe@"
    )
    # authres reads ASCII only: the result is dropped, which can only lose a pass.
    assert verdict(raw, use_raw=True) == StaffVerdict(True, False, "fail")
    assert verdict(raw, use_raw=False).reason in REASONS


def test_garbage_raw_bytes_do_not_raise() -> None:
    mail = parse_message(message(f"{MX}; dkim=pass header.d=example.nl"))
    for raw in (b"", b"\x00\xff" * 100, b"From \r\n\r\n", b"\xef\xbb\xbf\r\n\r\n"):
        assert staff_verdict(mail, STAFF, TRUSTED, raw=raw).reason == "no-trusted-results"


def test_a_header_cut_short_by_the_parser_is_unparseable(use_raw: bool) -> None:
    # Padding results (a sender can add as many DKIM signatures as it likes), then a signature
    # for a look-alike domain placed so that the parser's cut at MAX_HEADER_CHARS ends the
    # value in "header.d=example.nl".
    head = f"{MX}; "
    pad = "dkim=fail header.d=pad.example.test; "
    tail = "dkim=pass header.d=example.nl"
    count = (MAX_HEADER_CHARS - len(head) - len(tail)) // len(pad) - 1
    filler = "x" * (MAX_HEADER_CHARS - len(head) - count * len(pad) - len(tail) - 21)
    value = f"{head}{pad * count}dkim=fail header.s={filler}; {tail}.example.test"
    assert value.index(".example.test", len(value) - 20) == MAX_HEADER_CHARS
    raw = message(value)
    decoded = parse_message(raw).header("authentication-results")[0]
    assert decoded == value[:MAX_HEADER_CHARS]
    assert decoded.endswith("header.d=example.nl")  # the premise: the cut makes it look aligned
    assert verdict(raw, use_raw) == StaffVerdict(True, False, "unparseable")


def test_a_string_for_staff_or_trusted_ids_is_one_value() -> None:
    mail = parse_message(message(f"{MX}; dkim=pass header.d=example.nl"))
    assert staff_verdict(mail, "analyst@example.nl", MX).reason == "dkim-aligned"  # type: ignore[arg-type]


# --------------------------------------------------------------------------- real mail


def _corpus_files() -> list[Path]:
    roots = [Path(__file__).resolve().parents[1] / "corpus"]
    if os.environ.get("MAILTRIAGE_CORPUS"):
        roots.append(Path(os.environ["MAILTRIAGE_CORPUS"]))
    return sorted(p for r in roots for p in r.rglob("*") if p.is_file() and p.suffix != ".md")


@pytest.mark.parametrize("path", _corpus_files(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_corpus_mail_never_raises(path: Path, use_raw: bool) -> None:
    raw = path.read_bytes()
    try:
        mail = parse_message(raw)
    except ParseError:
        return
    own = (mail.sender.address,) if mail.sender is not None and mail.sender.address else ()
    trusted = ("mx.google.com", "gmx.net", "posteo.de", "mail.highsecure.ru", MX)
    result = staff_verdict(mail, own, trusted, raw=raw if use_raw else None)
    assert result.reason in REASONS
    assert result.claimed == bool(own)


# --------------------------------------------------------------------------- staff_auth = "dkim"


@pytest.mark.parametrize(
    "top",
    [
        f"{MX}; spf=pass smtp.mailfrom=analyst@example.nl",
        f"{MX}; dkim=none; spf=pass smtp.mailfrom=analyst@example.nl",
        f"{MX}; dkim=pass header.d=example.test; spf=pass smtp.mailfrom=analyst@example.nl",
        f"{MX}; dmarc=pass header.from=example.nl; spf=pass smtp.mailfrom=example.nl",
    ],
)
def test_dkim_mode_refuses_what_only_spf_backs(top: str, use_raw: bool) -> None:
    """A sender allowed by the domain's SPF record (a shared relay, a vendor) passes SPF for
    any staff address; in "dkim" mode that is not staff mail (and DMARC can pass on SPF)."""
    assert reason(message(top), use_raw) == "spf-aligned"
    assert verdict(message(top), use_raw, accept="dkim") == (
        StaffVerdict(True, False, "spf-not-accepted")
    )


def test_dkim_mode_takes_an_aligned_dkim_pass(use_raw: bool) -> None:
    raw = message(f"{MX}; dkim=pass header.d=example.nl header.s=s1; spf=fail")
    assert verdict(raw, use_raw, accept="dkim") == StaffVerdict(True, True, "dkim-aligned")


def test_dkim_mode_still_reads_only_the_topmost_trusted_header(use_raw: bool) -> None:
    raw = message(
        f"{MX}; spf=pass smtp.mailfrom=analyst@example.nl",
        below=[f"{MX}; dkim=pass header.d=example.nl"],
    )
    assert verdict(raw, use_raw, accept="dkim").reason == "spf-not-accepted"
