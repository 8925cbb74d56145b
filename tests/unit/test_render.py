"""The mails we send: faithful wording in the reporter's language, dates written out, headers
no hostile subject or name can break, and staff copies that do not carry the reporter."""

from __future__ import annotations

import datetime as dt
import email.policy
import email.utils
import re
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import pytest

from mailtriage.desk.staffcommands import help_lines
from mailtriage.inbound.message import AttachmentInfo, Indicators
from mailtriage.outgoing.compose import (
    ComposeError,
    clean_header_text,
    compose,
    make_message_id,
    normalize_message_id,
    subject_with_tag,
)
from mailtriage.outgoing.masking import mask_personal
from mailtriage.outgoing.render import (
    BILINGUAL_SEPARATOR,
    RenderedMail,
    Renderer,
    RenderError,
    format_date,
    packaged_templates_dir,
)
from tests.support.mailkinds import EXAMPLES

REF = "PZEM-SEC-2026-0007"
CET = dt.timezone(dt.timedelta(hours=1))
DUE = dt.datetime(2026, 12, 4, 23, 59, 59, tzinfo=CET)


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer()


def ack_context(**overrides: object) -> dict[str, object]:
    return {"ref": REF, "due_date": DUE, "missing_target": False, "missing_time": False} | overrides


# A representative context per kind; every template file must render with it.
DIGEST_ROW = {
    "ref": REF,
    "state": "acknowledged",
    "subject": "XSS in het klantportaal",
    "severity": None,
    "owner": None,
    "due": DUE,
    "next_update": None,
    "what": "first assessment LATE, was due Friday 4 December 2026",
}
CONTEXTS: dict[str, dict[str, object]] = {
    "acknowledgement": ack_context(missing_target=True, missing_time=True),
    "redirect": {"ref": REF, "contact_form_url": "https://www.example.nl/contact"},
    "progress_update": {"ref": REF, "state": "fixing", "next_update_date": dt.date(2026, 12, 18)},
    "closing": {
        "ref": REF,
        "close_reason": "fixed",
        "purge_date": dt.date(2027, 3, 1),
        "credit_name": "Sanne de Vries",
    },
    "staff_new_case": {
        "ref": REF,
        "due_date": DUE,
        "category": "report",
        "language": "nl",
        "subject": "Lek in portaal",
        "text": "Ik kon inloggen als een andere klant.\nBel me: 06-12345678",
        "indicators": Indicators(
            urls=("https://portaal.example.nl/login",),
            hosts=("portaal.example.nl",),
            ipv4=("192.0.2.10",),
            ipv6=("2001:db8::1",),
            datetimes=("2026-11-27 14:05",),
        ),
        "attachments": (AttachmentInfo("poc.txt", "text/plain", 2048, "0" * 64),),
    },
    "staff_delivery_failed": {
        "ref": REF,
        "permanent": True,
        "reason": "550 5.1.1 <sanne@example.test>: Recipient address rejected",
    },
    "staff_quarantine": {"quarantine_id": 42, "reason": "ParseError: no headers"},
    "staff_purge_incomplete": {"wal_bytes": 4_120_032, "attempts": 4},
    "staff_stranger_on_case": {"ref": REF, "new_ref": "PZEM-SEC-2026-0008"},
    "staff_reminder": {
        "first_response_workdays": 5,
        "cases": [
            {
                "ref": REF,
                "due_date": DUE,
                "overdue_workdays": 0,
                "subject": "XSS in het klantportaal",
                "severity": None,
                "owner": None,
                "state": "acknowledged",
            }
        ],
    },
    "staff_escalation": {
        "first_response_workdays": 5,
        "cases": [
            {
                "ref": REF,
                "due_date": DUE,
                "overdue_workdays": 2,
                "subject": "XSS in het klantportaal",
                "severity": "high",
                "owner": "analyst@example.nl",
                "state": "acknowledged",
            }
        ],
    },
    "staff_update_sent": {
        "ref": REF,
        "state": "fixing",
        "next_update_date": dt.date(2026, 12, 18),
        "update_interval_workdays": 10,
    },
    "relay": {"ref": REF, "text": "Bedankt, we hebben het lek bevestigd."},
    "staff_confirmation": {
        "ref": REF,
        "results": ["state: acknowledged -> triaged"],
        "unprocessed": [],
        "ignored": ["the quoted history and signature were not relayed"],
        "not_applied": [],
        "relayed": ["Beste onderzoeker,", "", "We hebben het lek bevestigd."],
        "relayed_more": 0,
        "returned": [],
        "summary": "state: acknowledged -> triaged",
        "state": "triaged",
        "close_reason": None,
        "severity": "high",
        "owner": "analyst@example.nl",
        "commands": help_lines(),
    },
    "staff_reporter_reply": {
        "ref": REF,
        "credit": None,
        "subject": "Re: [PZEM-SEC-2026-0007] aanvulling",
        "text": "Hier nog een screenshot.",
        "attachments": [],
    },
    "staff_spoof_warning": {
        "address": "analyst@example.nl",
        "reason": "no-trusted-results",
        "new_ref": REF,
    },
    "staff_digest": {
        "today": dt.date(2026, 12, 7),
        "overdue": [DIGEST_ROW],
        "due_soon": [],
        "open": [DIGEST_ROW],
    },
}


def template_files() -> list[tuple[str, str]]:
    found = []
    for path in sorted(packaged_templates_dir().glob("*.txt")):
        kind, language, _ = path.name.rsplit(".", 2)
        found.append((kind, language))
    return found


# --------------------------------------------------------------------------- dates


@pytest.mark.parametrize(
    ("day", "dutch", "english"),
    [
        (dt.date(2026, 12, 4), "vrijdag 4 december 2026", "Friday 4 December 2026"),
        (dt.date(2026, 11, 27), "vrijdag 27 november 2026", "Friday 27 November 2026"),
        (dt.date(2027, 1, 4), "maandag 4 januari 2027", "Monday 4 January 2027"),
        (dt.date(2026, 5, 5), "dinsdag 5 mei 2026", "Tuesday 5 May 2026"),
        (dt.date(2028, 2, 29), "dinsdag 29 februari 2028", "Tuesday 29 February 2028"),
        (dt.date(2026, 3, 1), "zondag 1 maart 2026", "Sunday 1 March 2026"),
    ],
)
def test_format_date_writes_the_day_out(day: dt.date, dutch: str, english: str) -> None:
    assert format_date(day, "nl") == dutch
    assert format_date(day, "en") == english


def test_format_date_uses_a_datetimes_own_day() -> None:
    # 23:59:59+01:00 is already the next day in UTC; the promise is about the local day.
    assert format_date(DUE, "nl") == "vrijdag 4 december 2026"
    with pytest.raises(ValueError):
        format_date(DUE, "de")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- acknowledgement


def test_dutch_acknowledgement(renderer: Renderer) -> None:
    mail = renderer.render("acknowledgement", "nl", ack_context())
    assert mail.subject == f"[{REF}] Ontvangstbevestiging van je melding"
    assert REF in mail.body
    assert "uiterlijk vrijdag 4 december 2026" in mail.body
    assert "5 werkdagen" in mail.body
    for keyword in ("VERMELDING:", "GEEN VERMELDING", "CREDIT:", "NO CREDIT"):
        assert keyword in mail.body
    assert f"[{REF}]" in mail.body  # replies keep the tag
    for promise in ("niet te delen|deel of publiceer", "wis alle", "social", "bruteforce"):
        assert re.search(promise, mail.body)
    assert "persoonsgegevens" in mail.body and "vertrouwelijk" in mail.body
    assert "missen we nog" not in mail.body
    assert "English" not in mail.body


def test_english_acknowledgement(renderer: Renderer) -> None:
    mail = renderer.render("acknowledgement", "en", ack_context())
    assert mail.subject == f"[{REF}] We have received your report"
    assert "by Friday 4 December 2026" in mail.body
    for keyword in ("VERMELDING:", "GEEN VERMELDING", "CREDIT:", "NO CREDIT"):
        assert keyword in mail.body
    assert "brute force" in mail.body and "personal data" in mail.body
    assert "we still need" not in mail.body


def test_acknowledgement_asks_only_for_what_is_missing(renderer: Renderer) -> None:
    target = renderer.render("acknowledgement", "nl", ack_context(missing_target=True)).body
    assert "IP-adres of de URL" in target
    assert "datum en de tijd" not in target
    when = renderer.render("acknowledgement", "en", ack_context(missing_time=True)).body
    assert "date and time" in when
    assert "IP address or URL" not in when
    both = renderer.render(
        "acknowledgement", "en", ack_context(missing_target=True, missing_time=True)
    ).body
    assert "IP address or URL" in both and "date and time" in both
    assert "\n\n\n" not in both  # the optional paragraph leaves no gaps


def test_acknowledgement_states_the_configured_number_of_workdays(renderer: Renderer) -> None:
    body = renderer.render("acknowledgement", "en", ack_context(first_response_workdays=3)).body
    assert "Within 3 working days" in body


def test_unsure_language_gives_one_bilingual_mail_dutch_first(renderer: Renderer) -> None:
    mail = renderer.render("acknowledgement", "unsure", ack_context(missing_time=True))
    assert mail.subject == (
        f"[{REF}] Ontvangstbevestiging van je melding / We have received your report"
    )
    dutch_at = mail.body.index("uiterlijk vrijdag 4 december 2026")
    separator_at = mail.body.index(BILINGUAL_SEPARATOR)
    english_at = mail.body.index("by Friday 4 December 2026")
    assert dutch_at < separator_at < english_at
    assert mail.body.count(BILINGUAL_SEPARATOR) == 1
    assert "datum en de tijd" in mail.body and "date and time" in mail.body


# --------------------------------------------------------------------------- other kinds


def test_redirect_points_to_the_right_channels(renderer: Renderer) -> None:
    dutch = renderer.render("redirect", "nl", {"ref": REF})
    english = renderer.render("redirect", "en", {"ref": REF})
    for mail, form in ((dutch, "contactformulier"), (english, "contact form")):
        assert "info@pzem.nl" in mail.body
        assert "088 1346 000" in mail.body
        assert form in mail.body
        assert f"[{REF}]" in mail.body and f"[{REF}]" in mail.subject
    assert "fraude" in dutch.body and "phishing" in dutch.body
    linked = renderer.render(
        "redirect", "nl", {"ref": REF, "contact_form_url": "https://x.example.nl/c"}
    )
    assert "ons contactformulier: https://x.example.nl/c" in linked.body
    unlinked = renderer.render("redirect", "en", {"ref": REF, "contact_form_url": None})
    assert "the contact form on our website" in unlinked.body


def test_progress_update_names_state_and_next_date(renderer: Renderer) -> None:
    context = {"ref": REF, "state": "fixing", "next_update_date": dt.date(2026, 12, 18)}
    dutch = renderer.render("progress_update", "nl", context).body
    assert "we werken aan een oplossing" in dutch and "vrijdag 18 december 2026" in dutch
    english = renderer.render("progress_update", "en", context | {"state": "odd-state"}).body
    assert "still working on your report" in english and "Friday 18 December 2026" in english


def test_closing_names_purge_date_and_credit(renderer: Renderer) -> None:
    named = renderer.render("closing", "en", CONTEXTS["closing"]).body
    assert "Sanne de Vries" in named and "Monday 1 March 2027" in named
    anonymous = renderer.render("closing", "nl", CONTEXTS["closing"] | {"credit_name": None}).body
    assert "vermelden je naam niet" in anonymous and "maandag 1 maart 2027" in anonymous


def test_staff_templates_fall_back_to_english(renderer: Renderer) -> None:
    context = CONTEXTS["staff_quarantine"]
    english = renderer.render("staff_quarantine", "en", context)
    assert renderer.render("staff_quarantine", "nl", context) == english
    # Nothing to pair with: no bilingual mail made of the same English text twice.
    assert renderer.render("staff_quarantine", "unsure", context) == english
    assert "mailtriage quarantine retry 42" in english.body


def test_staff_new_case_masks_and_never_names_the_reporter(renderer: Renderer) -> None:
    context = CONTEXTS["staff_new_case"] | {
        "text": "Mail me at sanne@example.test or call +31 6 1234 5678.",
        # Fields a careless caller might pass along: the template must not print them.
        "reporter": "sanne@example.test",
        "reporter_name": "Sanne de Vries",
    }
    mail = renderer.render("staff_new_case", "en", context)
    text = mail.subject + mail.body
    assert "sanne" not in text.lower() and "Vries" not in text
    assert "[address]" in text and "[phone]" in text
    assert f"the reporter of {REF}" in text
    assert "Friday 4 December 2026" in text
    for indicator in ("https://portaal.example.nl/login", "192.0.2.10", "2001:db8::1"):
        assert indicator in text
    assert "poc.txt (2.0 kB, text/plain)" in text
    assert "reply to this e-mail" in text


def test_staff_delivery_failure_masks_the_address_in_the_smtp_reply(renderer: Renderer) -> None:
    body = renderer.render("staff_delivery_failed", "en", CONTEXTS["staff_delivery_failed"]).body
    assert "sanne@example.test" not in body
    assert "550 5.1.1 <[address]>" in body
    assert "refused it permanently" in body


@pytest.mark.parametrize(("kind", "language"), template_files())
def test_every_template_renders_with_its_documented_context(
    renderer: Renderer, kind: str, language: str
) -> None:
    # A kind without a hand-written context here renders its typed example payload.
    context = CONTEXTS[kind] if kind in CONTEXTS else EXAMPLES[kind].context()
    mail = renderer.render(kind, language, context)  # type: ignore[arg-type]
    assert isinstance(mail, RenderedMail)
    assert mail.subject and "\n" not in mail.subject
    assert "{{" not in mail.body and "{%" not in mail.body
    assert mail.body.endswith("\n") and not mail.body.endswith("\n\n")
    assert "\n\n\n" not in mail.body
    # about no single case
    if kind not in (
        "staff_quarantine",
        "staff_digest",
        "staff_spoof_warning",
        "staff_purge_incomplete",
        "staff_certificate_expiry",
        "staff_monthly_report",
    ):
        assert "[PZEM-SEC-2026-" in mail.subject


@pytest.mark.parametrize("kind", sorted(CONTEXTS))
def test_a_missing_variable_is_an_error_not_an_empty_promise(renderer: Renderer, kind: str) -> None:
    required = {
        "acknowledgement": "due_date",
        "redirect": "ref",
        "staff_quarantine": "reason",
        "staff_digest": "overdue",
        "staff_spoof_warning": "address",
        "staff_purge_incomplete": "wal_bytes",
        "staff_reminder": "cases",
        "staff_escalation": "cases",
    }
    context = dict(CONTEXTS[kind])
    context.pop(required.get(kind, "ref"))
    with pytest.raises(RenderError):
        renderer.render(kind, "en", context)


@pytest.mark.parametrize("kind", ["staff_reminder", "staff_escalation"])
def test_reminders_and_escalations_list_several_cases_in_one_mail(
    renderer: Renderer, kind: str
) -> None:
    line = CONTEXTS[kind]["cases"][0]  # type: ignore[index]
    cases = [
        {**line, "ref": f"PZEM-SEC-2026-{n:04d}", "overdue_workdays": 4 - n, "subject": subject}
        for n, subject in enumerate(
            ("Lek gemeld door sanne@example.test", "SQL-injectie", "Open poort"), start=1
        )
    ]
    mail = renderer.render(kind, "en", {"first_response_workdays": 5, "cases": cases})
    assert "[PZEM-SEC-" not in mail.subject, "a list is about no single case"
    assert "3 first assessments" in mail.subject
    for case in cases:
        assert f"[{case['ref']}]" in mail.body
    assert "sanne@example.test" not in mail.body  # masked like every staff copy
    assert "\n\n\n" not in mail.body and mail.body.endswith("\n")
    if kind == "staff_escalation":
        assert "3 working days late" in mail.body and "1 working day late" in mail.body


def test_every_packaged_template_compiles(renderer: Renderer) -> None:
    names = renderer.check()
    assert "acknowledgement.nl.txt" in names and "staff_new_case.en.txt" in names
    assert len(names) == len(template_files())


def test_unknown_kinds_are_refused(renderer: Renderer) -> None:
    for kind in ("nonexistent", "../acknowledgement", "Acknowledgement"):
        with pytest.raises(RenderError):
            renderer.render(kind, "en", {})


def test_a_custom_folder_overrides_file_by_file(tmp_path: Path) -> None:
    (tmp_path / "acknowledgement.nl.txt").write_text(
        "Subject: [{{ ref }}] Ontvangen\n\nDank je. Uiterlijk {{ due_date|date }}.\n",
        encoding="utf-8",
    )
    custom = Renderer(tmp_path)
    mail = custom.render("acknowledgement", "nl", ack_context())
    assert mail == RenderedMail(
        f"[{REF}] Ontvangen", "Dank je. Uiterlijk vrijdag 4 december 2026.\n"
    )
    # The English acknowledgement and every other kind still come from the packaged files.
    assert "We have received" in custom.render("acknowledgement", "en", ack_context()).subject
    assert "info@pzem.nl" in custom.render("redirect", "nl", {"ref": REF}).body


def test_a_malformed_custom_template_is_reported(tmp_path: Path) -> None:
    (tmp_path / "redirect.en.txt").write_text("Hello {{ ref }}\n", encoding="utf-8")
    custom = Renderer(tmp_path)
    with pytest.raises(RenderError, match="Subject"):
        custom.render("redirect", "en", {"ref": REF})
    with pytest.raises(RenderError):
        custom.check()
    (tmp_path / "redirect.en.txt").write_text("Subject: x\n\n{% if %}\n", encoding="utf-8")
    with pytest.raises(RenderError, match=r"redirect\.en\.txt"):
        Renderer(tmp_path).render("redirect", "en", {"ref": REF})


def test_a_missing_custom_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(RenderError):
        Renderer(tmp_path / "absent")


def test_subject_is_one_line_whatever_a_variable_holds(tmp_path: Path) -> None:
    (tmp_path / "closing.en.txt").write_text(
        "Subject: [{{ ref }}] {{ close_reason }}\n\nBody\n", encoding="utf-8"
    )
    context = CONTEXTS["closing"] | {"close_reason": "a\r\n\r\nBcc: x@example.test\x00"}
    mail = Renderer(tmp_path).render("closing", "en", context)
    assert mail == RenderedMail(f"[{REF}] a Bcc: x@example.test", "Body\n")


# --------------------------------------------------------------------------- compose


def build(**overrides: object) -> bytes:
    arguments: dict[str, object] = {
        "from_address": "security@example.nl",
        "from_name": "PZEM Security Team",
        "to": "alice@example.test",
        "subject": f"[{REF}] We have received your report",
        "body": "Hello,\n\nThank you.\n",
        "message_id": "<ack-1@example.nl>",
        "date": dt.datetime(2026, 11, 27, 14, 0, tzinfo=CET),
    } | overrides
    return compose(**arguments)  # type: ignore[arg-type]


def parse(raw: bytes) -> EmailMessage:
    message = BytesParser(policy=email.policy.default).parsebytes(raw)
    assert isinstance(message, EmailMessage)
    return message


def body_text(raw: bytes) -> str:
    return parse(raw).get_content().replace("\r\n", "\n")


BASE_HEADERS = [
    "content-transfer-encoding",
    "content-type",
    "date",
    "from",
    "message-id",
    "mime-version",
    "reply-to",
    "subject",
    "to",
]


def header_names(raw: bytes) -> list[str]:
    return sorted(name.lower() for name in parse(raw))


def assert_wire_safe(raw: bytes) -> None:
    assert b"\r" not in raw.replace(b"\r\n", b"") and b"\n" not in raw.replace(b"\r\n", b"")
    for line in raw.split(b"\r\n"):
        assert len(line) <= 998
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert head.isascii()
    for line in head.split(b"\r\n"):
        assert len(line) <= 78


def test_compose_builds_a_complete_reply() -> None:
    raw = build(
        in_reply_to="report-1@example.test",
        references=["<root@example.test>"],
        auto_submitted="auto-replied",
        body="Hallo,\n\nUiterlijk vrijdag 4 december 2026 — dank je.\n" + "x" * 500 + "\n",
    )
    assert_wire_safe(raw)
    message = parse(raw)
    assert header_names(raw) == sorted(
        [*BASE_HEADERS, "in-reply-to", "references", "auto-submitted"]
    )
    assert message["From"] == "PZEM Security Team <security@example.nl>"
    assert message["To"] == "alice@example.test"
    assert message["Reply-To"] == "security@example.nl"
    assert message["Subject"] == f"[{REF}] We have received your report"
    assert message["Message-ID"] == "<ack-1@example.nl>"
    assert message["In-Reply-To"] == "<report-1@example.test>"
    assert message["References"] == "<root@example.test> <report-1@example.test>"
    assert message["Auto-Submitted"] == "auto-replied"
    assert message["MIME-Version"] == "1.0"
    assert message.get_content_type() == "text/plain"
    assert message.get_content_charset() == "utf-8"
    assert message["Content-Transfer-Encoding"] == "quoted-printable"
    assert email.utils.parsedate_to_datetime(message["Date"]) == dt.datetime(
        2026, 11, 27, 14, 0, tzinfo=CET
    )
    content = body_text(raw)
    assert "vrijdag 4 december 2026 — dank je." in content and "x" * 500 in content


def test_compose_without_threading_sets_no_threading_headers() -> None:
    raw = build(reply_to="team@example.nl")
    assert header_names(raw) == BASE_HEADERS
    assert parse(raw)["Reply-To"] == "team@example.nl"


HOSTILE_SUBJECTS = [
    "Report\r\nBcc: victim@example.test",
    "Report\nBcc: victim@example.test\n\nbody",
    "Report\rBcc: victim@example.test",
    "=?utf-8?q?x=0D=0ABcc:_a@example.test?=",
    "=?utf-8?b?eA0KQmNjOiBhQGV4YW1wbGUudGVzdA==?=",
    "Re: =?utf-8?q?=0ABcc:_a@example.test?= and ü",
    "A" * 10_000,
    "Ü" * 10_000,
    "word " * 2_000,
    "nul\x00 esc\x1b[31m del\x7f nel\x85 ls\u2028 ps\u2029 bidi\u202e end",
    "\ud800 lone surrogate",
]


@pytest.mark.parametrize("hostile", HOSTILE_SUBJECTS)
def test_a_hostile_subject_cannot_add_headers(hostile: str) -> None:
    raw = build(subject=hostile, in_reply_to="<p@example.test>", auto_submitted="auto-replied")
    assert_wire_safe(raw)
    names = header_names(raw)
    assert names == sorted([*BASE_HEADERS, "in-reply-to", "references", "auto-submitted"])
    assert "bcc" not in names
    subject = str(parse(raw)["Subject"])
    assert subject == clean_header_text(hostile, 400)
    assert len(subject) <= 400
    assert not re.search(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202e]", subject)


def test_control_characters_are_removed_from_the_subject_not_its_text() -> None:
    assert clean_header_text("Report\r\nBcc: victim@example.test", 400) == (
        "Report Bcc: victim@example.test"
    )
    literal = "=?utf-8?q?x=0D=0ABcc:_a@example.test?="
    # The literal text of an encoded word survives as text: it is not decoded into a header.
    assert str(parse(build(subject=literal))["Subject"]) == literal


@pytest.mark.parametrize(
    "recipient",
    [
        '"Evil\r\nBcc: x@example.test" <a@example.test>',
        '"=?utf-8?q?Evil=0D=0ABcc:_x@example.test?=" <a@example.test>',
        "=?utf-8?q?Evil=0D=0A?= <a@example.test>",
    ],
)
def test_a_hostile_display_name_cannot_add_headers(recipient: str) -> None:
    raw = build(to=recipient, from_name="Team\r\nBcc: y@example.test")
    assert_wire_safe(raw)
    assert header_names(raw) == BASE_HEADERS
    message = parse(raw)
    assert message["To"].addresses[0].addr_spec == "a@example.test"
    assert message["From"].addresses[0].addr_spec == "security@example.nl"
    assert len(message["To"].addresses) == 1


def test_an_ambiguous_recipient_is_refused_not_guessed() -> None:
    # Unquoted, the colon makes this an RFC 5322 group: which address was meant is unclear.
    with pytest.raises(ComposeError):
        build(to="Evil\r\nBcc: x@example.test <a@example.test>")


def test_non_ascii_display_names_round_trip() -> None:
    message = parse(build(to="Zoë van Dijk <zoe@example.test>", from_name="Équipe Sécurité"))
    assert message["To"].addresses[0].display_name == "Zoë van Dijk"
    assert message["From"].addresses[0].display_name == "Équipe Sécurité"
    quoted = parse(build(to='"Dijk, Zoë \\"Z\\"" <zoe@example.test>', from_name="PZEM, Security"))
    assert quoted["From"].addresses[0].display_name == "PZEM, Security"
    assert quoted["To"].addresses[0].addr_spec == "zoe@example.test"


def test_invalid_threading_ids_are_dropped() -> None:
    raw = build(
        in_reply_to="not an id",
        references=[
            "<good@example.test>",
            "<with space@example.test>",
            "<ctl\r\nBcc: x@example.test>",
            "<=?utf-8?q?=0D=0A?=@example.test>",
            "bare@example.test",
            "<good@example.test>",
            "<" + "a" * 300 + "@example.test>",
        ],
    )
    message = parse(raw)
    assert "In-Reply-To" not in message
    assert message["References"] == "<good@example.test> <bare@example.test>"


def test_references_are_capped_keeping_root_and_latest() -> None:
    ids = [f"<m{i}@example.test>" for i in range(50)]
    references = str(parse(build(references=ids))["References"]).split()
    assert len(references) == 20
    assert references[0] == "<m0@example.test>" and references[-1] == "<m49@example.test>"


@pytest.mark.parametrize(
    "bad",
    [
        {"message_id": "no id here"},
        {"message_id": "<a@b>\r\nBcc: x@example.test"},
        {"to": "a@example.test, b@example.test"},
        {"to": "nobody"},
        {"to": "ünicode@example.test"},
        {"from_address": "security@exa mple.nl"},
        {"date": dt.datetime(2026, 11, 27, 14, 0)},
        {"auto_submitted": "yes\r\nBcc: x@example.test"},
        {"extra_headers": {"Bcc": "victim@example.test"}},
        {"extra_headers": {"X-Bad\r\nBcc": "v"}},
        {"extra_headers": {"Subject": "second subject"}},
        {"extra_headers": {"Content-Type": "text/html"}},
    ],
)
def test_compose_refuses_what_it_cannot_send_safely(bad: dict[str, object]) -> None:
    with pytest.raises(ComposeError):
        build(**bad)


def test_extra_headers_are_cleaned() -> None:
    raw = build(extra_headers={"X-Mailtriage-Case": f"{REF}\r\nBcc: x@example.test"})
    assert header_names(raw) == sorted([*BASE_HEADERS, "x-mailtriage-case"])
    assert parse(raw)["X-Mailtriage-Case"] == f"{REF} Bcc: x@example.test"


def test_body_controls_and_line_ends_are_normalised() -> None:
    raw = build(body="one\r\ntwo\rthree\x00\x1b[2J\u202e\nfour")
    assert body_text(raw) == "one\ntwo\nthree[2J\nfour\n"


def test_international_domain_is_encoded() -> None:
    message = parse(build(to="reporter@bücher.example"))
    assert message["To"].addresses[0].addr_spec == "reporter@xn--bcher-kva.example"


# --------------------------------------------------------------------------- ids and subjects


def test_make_message_id() -> None:
    first, second = make_message_id("example.nl"), make_message_id("example.nl")
    assert first != second
    assert re.fullmatch(r"<[^<>@\s]+@example\.nl>", first)
    assert normalize_message_id(first) == first
    with pytest.raises(ComposeError):
        make_message_id("bad domain\r\n")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("<abc@example.test>", "<abc@example.test>"),
        ("abc@example.test", "<abc@example.test>"),
        ("  <a.b+c$d@mail.example.test>  ", "<a.b+c$d@mail.example.test>"),
        ("<abc@[192.0.2.1]>", "<abc@[192.0.2.1]>"),
        ("<abc>", None),
        ("<a b@example.test>", None),
        ("<a@example.test", None),
        ("<a\x00@example.test>", None),
        ("<a@b><c@d>", None),
        ("", None),
    ],
)
def test_normalize_message_id(value: str, expected: str | None) -> None:
    assert normalize_message_id(value) == expected


def test_subject_with_tag() -> None:
    assert subject_with_tag(REF, "Lek in portaal") == f"[{REF}] Lek in portaal"
    assert subject_with_tag(REF, f"Re: [{REF}] Lek") == f"Re: [{REF}] Lek"
    assert subject_with_tag(REF, f"re: [{REF.lower()}] Lek") == f"re: [{REF.lower()}] Lek"
    assert subject_with_tag(REF, "Lek\r\nBcc: x@example.test") == f"[{REF}] Lek Bcc: x@example.test"
    assert subject_with_tag(REF, "") == f"[{REF}]"
    long = subject_with_tag(REF, "x" * 5000)
    assert long.startswith(f"[{REF}] ") and len(long) == len(REF) + 3 + 250


# --------------------------------------------------------------------------- masking


def test_masks_the_reporters_address_in_every_form() -> None:
    text = (
        "Ik ben Sanne.de.Vries@Example.TEST, mailto:sanne.de.vries@example.test "
        "<sanne.de.vries@example.test> en ?u=sanne.de.vries%40example.test"
    )
    masked = mask_personal(text, address="sanne.de.vries@example.test", name=None)
    assert "sanne" not in masked.lower()
    assert masked.count("[reporter]") == 4
    assert "<[reporter]>" in masked


def test_masks_name_tokens_but_not_particles() -> None:
    text = "Groeten, Sanne de Vries. SANNE schreef eerder over de website van de klant."
    masked = mask_personal(text, address=None, name="Sanne de Vries")
    assert masked == "Groeten, [reporter]. [reporter] schreef eerder over de website van de klant."
    # Whole words only: "Vriesland" is not the reporter.
    assert mask_personal("Vriesland", address=None, name="de Vries") == "Vriesland"
    assert mask_personal("de van", address=None, name="de van") == "de van"
    assert mask_personal("Security team", address=None, name="Security Team") == "Security team"


def test_masks_every_other_address() -> None:
    masked = mask_personal(
        "cc jan@example.nl and ops.team+sec@mail.example.test", address=None, name=None
    )
    assert masked == "cc [address] and [address]"


@pytest.mark.parametrize(
    "phone",
    [
        "06-12345678",
        "0612345678",
        "06 12 34 56 78",
        "+31 6 1234 5678",
        "+31 (0)6 12345678",
        "+31612345678",
        "0031 10 123 4567",
        "010-1234567",
        "(010) 123 45 67",
        "088 1346 000",
        "+44 20 7946 0958",
        "+1 202 555 0143",
    ],
)
def test_masks_phone_numbers(phone: str) -> None:
    assert mask_personal(f"Bel me op {phone}.", address=None, name=None) == "Bel me op [phone]."
    assert mask_personal(f"tel:{phone}", address=None, name=None) == "tel:[phone]"


@pytest.mark.parametrize(
    "keep",
    [
        "192.0.2.1",
        "http://192.0.2.1:8080/admin",
        "2001:db8::1",
        "2026-11-27 14:05",
        "27-11-2026 14:05",
        "05-12-2026 10:00",
        "05-12-2026 10 uur",
        "CVE-2024-12345",
        "CVE-2024-0123456",
        "1.2.3",
        "0.10.2",
        "version 10.0.19045.3693",
        "port 8443",
        "root@192.0.2.1",
        "sha256 0123456789abcdef0123456789abcdef",
        "order 20261127140512",
        "1+1234567890",
    ],
)
def test_masking_keeps_technical_details(keep: str) -> None:
    text = f"Zie {keep} voor details."
    assert mask_personal(text, address="sanne@example.test", name="Sanne de Vries") == text


def test_masking_leaves_hostile_text_alone_and_still_masks_what_follows() -> None:
    # Speed is measured in bench/textwork.py; a backtracking pattern shows here as a hang.
    hostile = ("a" * 200_000) + ("0" * 200_000) + ("a.b-" * 50_000) + ("+31 " * 50_000)
    tail = "\nAaa Bbb, a@example.test, +31 6 12345678"
    masked = mask_personal(hostile + tail, address="a@example.test", name="Aaa Bbb " * 50)
    # No address, phone number or name in the hostile part: it comes back as it went in.
    assert masked.startswith(hostile)
    assert masked[len(hostile) :] == "\n[reporter] [reporter], [reporter], [phone]"
