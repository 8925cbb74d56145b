"""The new text of a staff reply: only what staff wrote reaches the reporter.

Each body is built the way a mail client builds a reply to the desk's notification: the staff
member's text on top, then the client's reply boundary, then the quoted notification, which
carries the reporter's address, an internal note and the desk's and staff's addresses. Every
case checks the exact text that would be relayed and that none of those secrets survive.

People and addresses are invented; domains are the reserved example.nl and example.test.
"""

from __future__ import annotations

import pytest

from mailtriage.inbound.quotes import new_text
from mailtriage.inbound.textscan import html_to_text

DESK = "Security Desk <security@example.nl>"
STAFF = "Bram Jansen <bram.jansen@example.nl>"

# What must never reach the reporter: the desk's and staff addresses, the reporter's own
# address as it sits in the case, the internal note, and the notification's case facts.
SECRETS = (
    "security@example.nl",
    "bram.jansen@example.nl",
    "onderzoeker@example.test",
    "Interne notitie",
    "niet delen met de melder",
    "A new case has been opened",
    "First assessment due",
    "mailtriage case",
)

# The desk's notification, as the staff member received it (only what matters here).
NOTIFICATION = [
    "A new case has been opened: SEC-2026-0042.",
    "",
    "Case:                  SEC-2026-0042",
    "First assessment due:  Friday 4 December 2026 (end of that day)",
    "Category:              report",
    "",
    "Interne notitie (Bram): melder is ook klant; niet delen met de melder.",
    "Reporter: Ada de Vries <onderzoeker@example.test>",
    "",
    "The report, from the reporter of SEC-2026-0042. E-mail addresses, the reporter's",
    "name and phone numbers are masked; `mailtriage case SEC-2026-0042` shows the",
    "reporter until the case is purged.",
    "",
    "------------------------------------------------------------------------",
    "Hallo, op https://portaal.example.nl/facturen?id=1042 kan ik de facturen van",
    "andere klanten zien. Groet, A** ** V****, o*********@example.test",
    "------------------------------------------------------------------------",
    "",
    "To answer the reporter, reply to this e-mail and keep [SEC-2026-0042]",
    "in the subject line.",
]

EN_TEXT = [
    "Hello Ada,",
    "",
    "Thank you for your report. We have confirmed the issue in the customer portal and",
    "a fix is planned for Friday 4 December.",
    "",
    "Kind regards,",
    "Bram Jansen",
    "Security team",
]
NL_TEXT = [
    "Beste Ada,",
    "",
    "Dank voor je melding. We hebben het lek in het klantportaal bevestigd; de",
    "oplossing staat gepland voor vrijdag 4 december.",
    "",
    "Met vriendelijke groet,",
    "Team Security",
]


def lines(*parts: str | list[str]) -> str:
    """A body from lines and lists of lines, joined with LF."""
    out: list[str] = []
    for part in parts:
        out.extend([part] if isinstance(part, str) else part)
    return "\n".join(out)


def quoted(text: list[str], prefix: str = "> ") -> list[str]:
    """Lines quoted as a plain-text client quotes them ("> ", and ">" for blank lines)."""
    return [f"{prefix}{line}".rstrip() if line else prefix.rstrip() for line in text]


def assert_relays(body: str, expected: list[str]) -> None:
    result = new_text(body)
    assert result == "\n".join(expected)
    for secret in SECRETS:
        assert secret not in result


# --------------------------------------------------------------------------- Outlook

OUTLOOK_EN_HEADER = [
    "________________________________",
    f"From: {DESK}",
    "Sent: Monday, November 30, 2026 10:15",
    f"To: {STAFF}",
    "Subject: [SEC-2026-0042] New report: Lek in klantportaal",
]
OUTLOOK_NL_HEADER = [
    "-----Oorspronkelijk bericht-----",
    f"Van: {DESK}",
    "Verzonden: maandag 30 november 2026 10:15",
    f"Aan: {STAFF}",
    "Onderwerp: [SEC-2026-0042] New report: Lek in klantportaal",
]


def test_outlook_en_reply_above_the_divider_and_header_block() -> None:
    assert_relays(lines(EN_TEXT, "", OUTLOOK_EN_HEADER, "", NOTIFICATION), EN_TEXT)


def test_outlook_nl_reply_above_oorspronkelijk_bericht() -> None:
    assert_relays(lines(NL_TEXT, "", OUTLOOK_NL_HEADER, "", NOTIFICATION), NL_TEXT)


def test_outlook_en_original_message_separator() -> None:
    header = ["-----Original Message-----", *OUTLOOK_EN_HEADER[1:]]
    assert_relays(lines(EN_TEXT, "", header, "", NOTIFICATION), EN_TEXT)


def test_outlook_nl_header_block_without_divider_or_addresses() -> None:
    # Exchange shows display names only, and the divider was lost on the way.
    header = [
        "Van: Security Desk",
        "Verzonden: maandag 30 november 2026 10:15",
        "Aan: Bram Jansen",
        "CC: Team Security",
        "Onderwerp: [SEC-2026-0042] New report",
    ]
    assert_relays(lines(NL_TEXT, "", header, "", NOTIFICATION), NL_TEXT)


def test_outlook_for_mac_date_header_and_bold_labels() -> None:
    header = [
        "*From:* Security Desk",
        "*Date:* Monday, 30 November 2026 at 10:15",
        "*To:* Bram Jansen",
        "*Subject:* [SEC-2026-0042] New report",
    ]
    assert_relays(lines(EN_TEXT, "", header, "", NOTIFICATION), EN_TEXT)


def test_outlook_header_block_run_together_on_one_line() -> None:
    header = (
        "From: Security Desk Sent: Monday, November 30, 2026 10:15 AM To: Bram Jansen "
        "Subject: [SEC-2026-0042] New report"
    )
    assert_relays(lines(EN_TEXT, header, NOTIFICATION), EN_TEXT)


def test_outlook_text_with_no_break_spaces_and_crlf() -> None:
    body = lines(NL_TEXT, "\xa0", OUTLOOK_NL_HEADER, "\xa0", NOTIFICATION).replace("\n", "\r\n")
    assert_relays(body, NL_TEXT)


@pytest.mark.parametrize(
    "header",
    [
        [
            "-----Ursprüngliche Nachricht-----",
            f"Von: {DESK}",
            "Gesendet: Montag, 30. November 2026",
        ],
        ["Von: Security Desk", "Gesendet: Montag, 30. November 2026 10:15", "An: Bram Jansen"],
        ["De : Security Desk", "Envoyé : lundi 30 novembre 2026 10:15", "À : Bram Jansen"],
        ["-------- Oorspronkelijk bericht --------", "Datum: 30-11-2026 10:15", f"Van: {DESK}"],
        ["-------- Original message --------", "From: Security Desk", "Date: 30/11/2026 10:15"],
        ["----- Original Message -----", "From: Security Desk", "To: Bram Jansen"],
    ],
    ids=["outlook-de", "outlook-de-no-divider", "outlook-fr", "samsung-nl", "samsung-en", "zimbra"],
)
def test_other_header_blocks_and_dividers(header: list[str]) -> None:
    assert_relays(lines(NL_TEXT, "", header, "", NOTIFICATION), NL_TEXT)


# --------------------------------------------------------------------------- Thunderbird


def test_thunderbird_en_attribution_without_address() -> None:
    body = lines(EN_TEXT, "", "On 30/11/2026 10:15, Security Desk wrote:", quoted(NOTIFICATION))
    assert_relays(body, EN_TEXT)


def test_thunderbird_nl_attribution() -> None:
    body = lines(NL_TEXT, "", "Op 30-11-2026 om 10:15 schreef Security Desk:", quoted(NOTIFICATION))
    assert_relays(body, NL_TEXT)


def test_thunderbird_forwarded_message_subject_first() -> None:
    forward = [
        "-------- Forwarded Message --------",
        "Subject: [SEC-2026-0042] New report",
        "Date: Mon, 30 Nov 2026 10:15:02 +0100",
        f"From: {DESK}",
        f"To: {STAFF}",
    ]
    assert_relays(lines(EN_TEXT, "", forward, "", NOTIFICATION), EN_TEXT)


# --------------------------------------------------------------------------- Gmail


def test_gmail_en_attribution() -> None:
    attribution = f"On Mon, 30 Nov 2026 at 10:15, {DESK} wrote:"
    assert_relays(lines(EN_TEXT, "", attribution, "", quoted(NOTIFICATION)), EN_TEXT)


@pytest.mark.parametrize(
    "attribution",
    [
        pytest.param(
            [
                "On Mon, 30 Nov 2026 at 10:15, Security Desk van Gemeente Example <",
                "security@example.nl> wrote:",
            ],
            id="wrapped-inside-the-address",
        ),
        pytest.param(
            [f"On Mon, Nov 30, 2026 at 10:15 AM {DESK}", "wrote:"],
            id="wrapped-before-wrote",
        ),
        pytest.param(
            ["On Mon, 30 Nov 2026 at 10:15,", "Security Desk", "<security@example.nl> wrote:"],
            id="wrapped-over-three-lines",
        ),
    ],
)
def test_gmail_en_attribution_wrapped(attribution: list[str]) -> None:
    assert_relays(lines(EN_TEXT, "", attribution, "", quoted(NOTIFICATION)), EN_TEXT)


def test_gmail_nl_attribution() -> None:
    attribution = f"Op ma 30 nov. 2026 om 10:15 schreef {DESK}:"
    assert_relays(lines(NL_TEXT, "", attribution, "", quoted(NOTIFICATION)), NL_TEXT)


def test_gmail_nl_attribution_wrapped() -> None:
    attribution = [
        "Op ma 30 nov. 2026 om 10:15 schreef Security Desk van Gemeente Example <",
        "security@example.nl>:",
    ]
    assert_relays(lines(NL_TEXT, "", attribution, "", quoted(NOTIFICATION)), NL_TEXT)


@pytest.mark.parametrize(
    "divider",
    ["---------- Forwarded message ---------", "---------- Doorgestuurd bericht ---------"],
)
def test_gmail_forward_divider(divider: str) -> None:
    forward = [
        divider,
        f"Van: {DESK}",
        "Date: ma 30 nov. 2026 om 10:15",
        "Subject: [SEC-2026-0042]",
    ]
    assert_relays(lines(NL_TEXT, "", forward, "", NOTIFICATION), NL_TEXT)


@pytest.mark.parametrize(
    "attribution",
    [
        f"Am Mo., 30. Nov. 2026 um 10:15 Uhr schrieb {DESK}:",
        f"Le lun. 30 nov. 2026 à 10:15, {DESK} a écrit :",
        f"On Monday, November 30, 2026, 10:15:02 AM GMT+1, {DESK} wrote:",
    ],
    ids=["gmail-de", "gmail-fr", "yahoo-en"],
)
def test_attributions_from_other_interface_languages_and_clients(attribution: str) -> None:
    assert_relays(lines(EN_TEXT, "", attribution, "", quoted(NOTIFICATION)), EN_TEXT)


# --------------------------------------------------------------------------- Apple Mail


def test_apple_mail_en_attribution() -> None:
    attribution = f"On 30 Nov 2026, at 10:15, {DESK} wrote:"
    assert_relays(lines(EN_TEXT, "", attribution, "", quoted(NOTIFICATION)), EN_TEXT)


def test_apple_mail_nl_attribution() -> None:
    attribution = f"Op 30 nov. 2026 om 10:15 heeft {DESK} het volgende geschreven:"
    assert_relays(lines(NL_TEXT, "", attribution, "", quoted(NOTIFICATION)), NL_TEXT)


def test_apple_mail_attribution_inside_the_quote() -> None:
    quote = quoted([f"On 30 Nov 2026, at 10:15, {DESK} wrote:", "", *NOTIFICATION])
    assert_relays(lines(EN_TEXT, "", quote), EN_TEXT)


@pytest.mark.parametrize("begin", ["Begin forwarded message:", "Begin doorgestuurd bericht:"])
def test_apple_mail_forward(begin: str) -> None:
    forward = [begin, "", f"From: {DESK}", "Subject: [SEC-2026-0042]", "Date: 30 November 2026"]
    assert_relays(lines(NL_TEXT, "", forward, "", NOTIFICATION), NL_TEXT)


# --------------------------------------------------------------------------- phones


@pytest.mark.parametrize(
    "footer",
    ["Sent from my iPhone", "Verstuurd vanaf mijn iPhone", "Verzonden vanaf mijn iPhone"],
)
def test_iphone_reply_loses_its_footer_and_the_quote(footer: str) -> None:
    quote = quoted([f"On 30 Nov 2026, at 10:15, {DESK} wrote:", "", *NOTIFICATION])
    body = lines("Bevestigd, we pakken het vandaag op.", "", footer, "", quote)
    assert_relays(body, ["Bevestigd, we pakken het vandaag op."])


@pytest.mark.parametrize(
    "footer",
    [
        "Get Outlook for iOS<https://aka.ms/o0ukef>",
        "Get Outlook for Android<https://aka.ms/AAb9ysg>",
        "Download Outlook voor iOS<https://aka.ms/o0ukef>",
        "Outlook voor Android downloaden<https://aka.ms/AAb9ysg>",
    ],
)
def test_outlook_mobile_footer(footer: str) -> None:
    body = lines(NL_TEXT, "", footer, OUTLOOK_EN_HEADER, "", NOTIFICATION)
    assert_relays(body, NL_TEXT)


def test_footer_like_staff_sentences_stay() -> None:
    body = lines(
        "Sent from the staging server at 10:00, the request returned 200 and the token.",
        "Verzonden met een termijn van 90 dagen, zoals afgesproken.",
        "Get the logs from the proxy first.",
    )
    assert new_text(body) == body


# --------------------------------------------------------------------------- plain quoting


def test_plain_quote_without_attribution() -> None:
    assert_relays(lines(EN_TEXT, "", quoted(NOTIFICATION, ">")), EN_TEXT)


def test_nested_and_indented_quotes() -> None:
    quote = [
        "  > > A new case has been opened: SEC-2026-0042.",
        " >> Interne notitie: niet delen met de melder",
    ]
    assert_relays(lines(EN_TEXT, "", quote), EN_TEXT)


def test_a_name_wrote_line_without_date_is_dropped_with_its_quote() -> None:
    body = lines(NL_TEXT, "", "Security Desk wrote:", quoted(NOTIFICATION))
    assert_relays(body, NL_TEXT)


def test_interleaved_reply_keeps_only_the_text_above_the_first_quote() -> None:
    # Documented choice: a line between two quoted lines is not trusted to be staff text.
    body = lines(
        "Antwoorden hieronder.",
        "",
        "> Interne notitie (Bram): melder is ook klant; niet delen met de melder.",
        "Dat klopt.",
        "> Reporter: Ada de Vries <onderzoeker@example.test>",
        "Graag haar bedanken.",
    )
    assert_relays(body, ["Antwoorden hieronder."])


def test_bottom_posted_reply_relays_nothing() -> None:
    body = lines(quoted(NOTIFICATION), "", "Fixed on our side, please verify.")
    assert_relays(body, [])


# --------------------------------------------------------------------------- whole bodies


def test_a_reply_without_any_quote_is_unchanged() -> None:
    body = lines(
        NL_TEXT[:4],
        "  - stap 1: inloggen als klant 1042",
        "  - stap 2: het id in de URL verhogen",
        "",
        *NL_TEXT[4:],
    )
    assert new_text(body) == body


def test_a_reply_that_is_only_a_quote_is_empty() -> None:
    body = lines("", "On 30 Nov 2026, at 10:15, Security Desk <security@example.nl> wrote:", "")
    assert new_text(lines(body, quoted(NOTIFICATION))) == ""
    assert new_text(lines(OUTLOOK_NL_HEADER, "", NOTIFICATION)) == ""
    assert new_text("") == ""
    assert new_text("\r\n\xa0\r\n") == ""


def test_the_rfc_3676_signature_is_cut() -> None:
    signature = [
        "-- ",
        "Bram Jansen | Security team",
        "Tel. +31 6 12345678 | bram.jansen@example.nl",
    ]
    assert_relays(lines(EN_TEXT, "", signature), EN_TEXT)
    # The trailing space is often stripped on the way; "--" alone still starts it.
    assert_relays(lines(EN_TEXT, "", "--", *signature[1:], "", OUTLOOK_EN_HEADER), EN_TEXT)


def test_closings_disclaimers_and_hyphen_lists_stay() -> None:
    body = lines(
        "Hi Ada,",
        "",
        "- the fix is live",
        "- please retest",
        "",
        "Best regards,",
        "Team Security",
        "",
        "CONFIDENTIALITY: this e-mail is meant for its addressee only.",
    )
    assert new_text(lines(body, "", OUTLOOK_EN_HEADER, NOTIFICATION)) == body


def test_crlf_blank_runs_and_trailing_whitespace_are_normalised() -> None:
    body = "\r\n\r\n  Hi Ada,  \r\n\r\n\r\n\r\n\r\nThe fix is live.\t\r\n    indented line\r\n\r\n"
    assert new_text(body) == "  Hi Ada,\n\n\nThe fix is live.\n    indented line"


def test_zero_width_characters_do_not_hide_a_boundary() -> None:
    body = lines(EN_TEXT, "\u200b", "\ufeff> Interne notitie: niet delen met de melder")
    assert_relays(body, EN_TEXT)


def test_callers_markers_cut_at_the_notification_itself() -> None:
    # A notification quoted with no attribution, header or "> " at all: the desk's own
    # opening line is a boundary no mail client can take away.
    body = lines(EN_TEXT, "", NOTIFICATION)
    assert new_text(body, markers=["A new case has been opened:"]) == "\n".join(EN_TEXT)
    assert new_text(body, markers=["  a NEW case has been opened  "]) == "\n".join(EN_TEXT)
    assert new_text(body, markers="A new case has been opened:") == "\n".join(EN_TEXT)


def test_the_notification_fence_alone_still_cuts_the_report_text() -> None:
    # Without markers the report (below the desk's dashed fence) is cut all the same.
    body = lines("Fixed.", "", NOTIFICATION[13:])
    assert new_text(body) == "Fixed."


# --------------------------------------------------------------------------- adversarial


def test_wrote_mid_sentence_is_not_a_boundary() -> None:
    body = lines(
        "Hi Ada,",
        "",
        "The researcher wrote: the session token never expires. We agree.",
        "As you wrote: on 1 December at 10:00 the portal was down.",
        "On Monday the other researcher wrote:",
        "the same thing, so this is a duplicate.",
        "Zoals je schreef: het token verloopt nooit.",
        "Op maandag schreef de melder dat het opgelost is.",
        "From now on, the fix is live.",
        "Subject: the customer portal.",
    )
    assert new_text(body) == body


def test_the_reporters_address_and_the_internal_note_never_pass_any_boundary() -> None:
    secret_block = [
        "Interne notitie (Bram): melder is ook klant; niet delen met de melder.",
        "Reporter: Ada de Vries <onderzoeker@example.test>",
    ]
    boundaries = [
        lines("On 30 Nov 2026, at 10:15, Security Desk <security@example.nl> wrote:"),
        lines("Op 30-11-2026 om 10:15 schreef Security Desk:"),
        lines(OUTLOOK_NL_HEADER),
        lines("Sent from my iPhone"),
        lines("-- ", "Bram"),
        lines(">"),
    ]
    for boundary in boundaries:
        for quote in (secret_block, quoted(secret_block)):
            result = new_text(lines("Opgelost.", "", boundary, quote))
            assert result == "Opgelost."


def test_long_lines_are_not_mistaken_for_boundaries() -> None:
    long_line = "On " + "x" * 5000 + " 2026 wrote:"
    assert new_text(long_line) == long_line
    assert new_text("From: " + "a@b " * 1000) == ""  # an address after "From:" cuts


# --------------------------------------------------------------------------- HTML-only replies

GMAIL_HTML_NL = (
    '<div dir="ltr">Hoi Ada,<div><br></div><div>Dank voor je melding. We hebben het lek '
    "bevestigd.</div><div><br></div><div>Met vriendelijke groet,<br>Team Security</div></div>"
    '<br><div class="gmail_quote"><div dir="ltr" class="gmail_attr">Op ma 30 nov. 2026 om '
    '10:15 schreef Security Desk &lt;<a href="mailto:security@example.nl">'
    "security@example.nl</a>&gt;:<br></div>"
    '<blockquote class="gmail_quote" style="margin:0px 0px 0px 0.8ex;border-left:1px solid '
    'rgb(204,204,204);padding-left:1ex">A new case has been opened: SEC-2026-0042.<br>'
    "Interne notitie (Bram): melder is ook klant; niet delen met de melder.<br>"
    "Reporter: Ada de Vries &lt;onderzoeker@example.test&gt;</blockquote></div>"
)
GMAIL_HTML_EN = (
    '<div dir="ltr"><div>Hi Ada,</div><div><br></div><div>The fix is live, see '
    '<a href="https://portaal.example.nl/status">the status page</a>.</div></div><br>'
    '<div class="gmail_quote gmail_quote_container"><div dir="ltr" class="gmail_attr">On Mon, '
    "30 Nov 2026 at 10:15, Security Desk &lt;"
    '<a href="mailto:security@example.nl">security@example.nl</a>&gt; wrote:<br></div>'
    '<blockquote class="gmail_quote">A new case has been opened: SEC-2026-0042.<br>'
    "Reporter: Ada de Vries &lt;onderzoeker@example.test&gt;</blockquote></div>"
)
OUTLOOK_WEB_HTML_EN = (
    '<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8">'
    '<style type="text/css" style="display:none;"> P {margin-top:0;margin-bottom:0;} </style>'
    '</head><body dir="ltr"><div class="elementToProof" style="font-family: Aptos, Calibri, '
    'sans-serif; font-size: 12pt;">Hello Ada,</div><div class="elementToProof"><br></div>'
    '<div class="elementToProof">Thanks, the fix is live.</div><div id="appendonsend"></div>'
    '<hr style="display:inline-block;width:98%" tabindex="-1"><div id="divRplyFwdMsg" '
    'dir="ltr"><font face="Calibri, sans-serif" style="font-size:11pt" color="#000000">'
    "<b>From:</b> Security Desk &lt;security@example.nl&gt;<br><b>Sent:</b> Monday, November "
    "30, 2026 10:15<br><b>To:</b> Bram Jansen &lt;bram.jansen@example.nl&gt;<br><b>Subject:"
    '</b> [SEC-2026-0042] New report</font><div>&nbsp;</div></div><div class="BodyFragment">'
    '<font size="2"><span style="font-size:11pt;"><div class="PlainText">A new case has been '
    "opened: SEC-2026-0042.<br>Interne notitie (Bram): niet delen met de melder.</div></span>"
    "</font></div></body></html>"
)
OUTLOOK_DESKTOP_HTML_NL = (
    '<html xmlns:o="urn:schemas-microsoft-com:office:office"><head><meta name=Generator '
    'content="Microsoft Word 15 (filtered medium)"><style><!--\np.MsoNormal {margin:0cm;}\n'
    '--></style></head><body lang=NL link="#0563C1" style="word-wrap:break-word"><div '
    "class=WordSection1><p class=MsoNormal>Beste Ada,<o:p></o:p></p><p class=MsoNormal><o:p>"
    "&nbsp;</o:p></p><p class=MsoNormal>We hebben het opgelost.<o:p></o:p></p><p "
    "class=MsoNormal><o:p>&nbsp;</o:p></p><div><div style='border:none;border-top:solid "
    "#E1E1E1 1.0pt;padding:3.0pt 0cm 0cm 0cm'><p class=MsoNormal><b>Van:</b> Security Desk "
    "&lt;security@example.nl&gt; <br><b>Verzonden:</b> maandag 30 november 2026 10:15<br>"
    "<b>Aan:</b> Bram Jansen &lt;bram.jansen@example.nl&gt;<br><b>Onderwerp:</b> "
    "[SEC-2026-0042] New report<o:p></o:p></p></div></div><p class=MsoNormal><o:p>&nbsp;"
    "</o:p></p><p class=MsoNormal>A new case has been opened: SEC-2026-0042.<o:p></o:p></p>"
    "<p class=MsoNormal>Reporter: Ada de Vries &lt;onderzoeker@example.test&gt;<o:p></o:p>"
    "</p></div></body></html>"
)
OUTLOOK_IOS_HTML_EN = (
    '<html><body><div dir="ltr">Looking into it now.</div><div dir="ltr"><br></div><div '
    'id="ms-outlook-mobile-signature" dir="ltr">Get <a href="https://aka.ms/o0ukef">Outlook '
    'for iOS</a></div><hr style="display:inline-block;width:98%"><div id="divRplyFwdMsg" '
    'dir="ltr"><b>From:</b> Security Desk &lt;security@example.nl&gt;<br><b>Sent:</b> '
    "Monday, November 30, 2026 10:15:02 AM<br><b>To:</b> Bram Jansen<br><b>Subject:</b> "
    "[SEC-2026-0042] New report</div><div>A new case has been opened: SEC-2026-0042.</div>"
    "</body></html>"
)
THUNDERBIRD_HTML_NL = (
    '<html><head><meta http-equiv="content-type" content="text/html; charset=UTF-8"></head>'
    "<body><p>Beste Ada,</p><p>Het is opgelost.</p><p>Groet,<br>Bram</p>"
    '<div class="moz-cite-prefix">Op 30-11-2026 om 10:15 schreef Security Desk:<br></div>'
    '<blockquote type="cite" cite="mid:desk.42@example.nl">A new case has been opened: '
    "SEC-2026-0042.<br>Interne notitie (Bram): niet delen met de melder.</blockquote>"
    "</body></html>"
)
APPLE_MAIL_HTML_EN = (
    '<html><head><meta http-equiv="content-type" content="text/html; charset=utf-8"></head>'
    '<body dir="auto">Confirmed, thanks.<div><br></div><div>Bram</div><div><br>'
    '<blockquote type="cite"><div>On 30 Nov 2026, at 10:15, Security Desk &lt;'
    'security@example.nl&gt; wrote:</div><br class="Apple-interchange-newline"><div><div>'
    "A new case has been opened: SEC-2026-0042.</div><div>Reporter: Ada de Vries &lt;"
    "onderzoeker@example.test&gt;</div></div></blockquote></div></body></html>"
)


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        pytest.param(
            GMAIL_HTML_NL,
            [
                "Hoi Ada,",
                "",
                "Dank voor je melding. We hebben het lek bevestigd.",
                "",
                "Met vriendelijke groet,",
                "Team Security",
            ],
            id="gmail-nl",
        ),
        pytest.param(
            GMAIL_HTML_EN,
            [
                "Hi Ada,",
                "",
                "The fix is live, see the status page (https://portaal.example.nl/status).",
            ],
            id="gmail-en",
        ),
        pytest.param(
            OUTLOOK_WEB_HTML_EN,
            ["Hello Ada,", "", "Thanks, the fix is live."],
            id="outlook-web-en",
        ),
        pytest.param(
            OUTLOOK_DESKTOP_HTML_NL,
            ["Beste Ada,", "", "We hebben het opgelost."],
            id="outlook-desktop-nl",
        ),
        pytest.param(OUTLOOK_IOS_HTML_EN, ["Looking into it now."], id="outlook-ios-en"),
        pytest.param(
            THUNDERBIRD_HTML_NL,
            ["Beste Ada,", "", "Het is opgelost.", "", "Groet,", "Bram"],
            id="thunderbird-nl",
        ),
        pytest.param(APPLE_MAIL_HTML_EN, ["Confirmed, thanks.", "", "Bram"], id="apple-mail-en"),
    ],
)
def test_html_only_reply_through_html_to_text(html: str, expected: list[str]) -> None:
    assert_relays(html_to_text(html), expected)


def test_html_blockquote_without_attribution() -> None:
    html = (
        '<div>Fixed.</div><blockquote type="cite">Interne notitie (Bram): niet delen met de '
        "melder.</blockquote>"
    )
    assert new_text(html_to_text(html)) == "Fixed."
