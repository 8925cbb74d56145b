"""Replies and forwards shaped the way real mail clients write them.

Staff answer the desk from Outlook, Thunderbird or Gmail, in Dutch or English, and each
client wraps what they typed in its own quoted history: ">"-quoted lines under an "On …
wrote:" / "Op … schreef …:" attribution (Thunderbird, Gmail), Outlook's "From:/Sent:" or
"Van:/Verzonden:" header block above the unquoted original, Gmail's `<div
class="gmail_quote">` and Outlook's `divRplyFwdMsg` in HTML. Whatever the desk relays to a
reporter must survive all of these, so the tests need mail built the same way rather than
a tidy text with a `>` in front. The shapes follow what the clients produce today (their
attribution formats, line wrapping, HTML skeletons); the people and domains are invented
and reserved (example.nl for the organisation, example.test for everyone else).

Nothing here talks to a server: builders take the mail being answered (as received) and
return the bytes a client would hand its submission server. `authenticated` adds what the
organisation's MX writes on top when the mail passes DKIM/SPF.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import html
import itertools
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses, make_msgid, parsedate_to_datetime
from typing import Literal
from zoneinfo import ZoneInfo

from tests.support.clock import MAIL_DATE

Language = Literal["nl", "en"]

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
MX_ID = "mx.example.nl"

_counter = itertools.count(1)

_NL_DAYS = ("maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag")
_NL_MONTHS = (
    "januari",
    "februari",
    "maart",
    "april",
    "mei",
    "juni",
    "juli",
    "augustus",
    "september",
    "oktober",
    "november",
    "december",
)
_NL_MONTHS_SHORT = (
    "jan",
    "feb",
    "mrt",
    "apr",
    "mei",
    "jun",
    "jul",
    "aug",
    "sep",
    "okt",
    "nov",
    "dec",
)
_NL_DAYS_SHORT = ("ma", "di", "wo", "do", "vr", "za", "zo")


@dataclass(frozen=True)
class Original:
    """The mail being answered or forwarded, as the staff member's client received it."""

    raw: bytes
    sender: str  # the From header as written, e.g. "PZEM Security Team <security@example.nl>"
    sender_name: str
    sender_address: str
    to: str
    subject: str
    date: dt.datetime  # local (Amsterdam) time
    message_id: str
    references: tuple[str, ...]
    text: str  # the decoded text body, with plain newlines

    @classmethod
    def of(cls, raw: bytes) -> Original:
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        part = message.get_body(("plain",))
        assert part is not None, "the original has no text part"
        text = part.get_content()
        assert isinstance(text, str)
        ((name, address),) = getaddresses([str(message["From"])])
        date_header = message["Date"]
        when = parsedate_to_datetime(str(date_header)) if date_header else MAIL_DATE
        return cls(
            raw=raw,
            sender=str(message["From"]),
            sender_name=name,
            sender_address=address,
            to=str(message["To"]),
            subject=str(message["Subject"]),
            date=when.astimezone(AMSTERDAM),
            message_id=str(message["Message-ID"]).strip(),
            references=tuple(str(message.get("References", "")).split()),
            text=text.replace("\r\n", "\n").rstrip("\n"),
        )


# --------------------------------------------------------------------------- headers


def authenticated(raw: bytes, results: str) -> bytes:
    """`raw` with an `Authentication-Results: RESULTS` header on top, where an MX puts it."""
    return f"Authentication-Results: {results}\n".encode() + raw


def mx_pass(address: str, selector: str = "s1") -> str:
    """What the organisation's MX writes for a staff mail that passed DKIM and SPF."""
    domain = address.rpartition("@")[2]
    return (
        f"{MX_ID}; dkim=pass header.d={domain} header.s={selector}; "
        f"spf=pass smtp.mailfrom={address}"
    )


def _reply_headers(
    message: EmailMessage,
    original: Original,
    *,
    sender: str,
    to: str | None,
    prefix: str,
    mailer: str | None,
    date: dt.datetime | None,
) -> None:
    subject = original.subject
    if not subject.lower().startswith(("re:", "antw:")):
        subject = f"{prefix} {subject}"
    message["From"] = sender
    message["To"] = to or original.sender
    message["Subject"] = subject
    message["Date"] = format_datetime(date or MAIL_DATE)
    message["Message-ID"] = make_msgid(f"c{next(_counter)}", domain=sender_domain(sender))
    message["In-Reply-To"] = original.message_id
    message["References"] = " ".join((*original.references, original.message_id))
    if mailer:
        message["User-Agent" if "Thunderbird" in mailer else "X-Mailer"] = mailer


def sender_domain(sender: str) -> str:
    return sender.rpartition("@")[2].rstrip(">").strip()


def _as_bytes(message: EmailMessage) -> bytes:
    return message.as_bytes(policy=email.policy.default)


# --------------------------------------------------------------------------- quoting helpers


def _quoted(text: str) -> str:
    """Plain-text quoting as Thunderbird and Gmail do it: "> " before text, ">" alone on
    blank lines (no space: format=flowed would read "> " + nothing as a soft break)."""
    return "\n".join(f"> {line}" if line.strip() else ">" for line in text.split("\n"))


def _nl_long(when: dt.datetime) -> str:
    return f"{_NL_DAYS[when.weekday()]} {when.day} {_NL_MONTHS[when.month - 1]} {when.year}"


def _html_lines(text: str) -> str:
    return "<br>\n".join(html.escape(line) if line else "" for line in text.split("\n"))


def _html_paragraphs(text: str) -> str:
    return "\n".join(
        f'<div dir="ltr">{html.escape(line)}</div>' if line else "<div><br></div>"
        for line in text.split("\n")
    )


# --------------------------------------------------------------------------- Thunderbird


def thunderbird_reply(
    original: Original,
    *,
    sender: str,
    text: str,
    language: Language = "en",
    signature: str | None = None,
    to: str | None = None,
    date: dt.datetime | None = None,
) -> bytes:
    """Thunderbird, reply above the quote with the signature below the reply (its "reply
    above" setting): text, "-- " signature, attribution, ">"-quoted original. Plain text."""
    when = original.date
    if language == "nl":
        attribution = f"Op {when:%d-%m-%Y} om {when:%H:%M} schreef {original.sender_name}:"
    else:
        attribution = f"On {when:%d/%m/%Y} {when:%H:%M}, {original.sender_name} wrote:"
    body = text.rstrip("\n") + "\n"
    if signature:
        body += f"\n-- \n{signature.rstrip()}\n"
    body += f"\n{attribution}\n{_quoted(original.text)}\n"
    message = EmailMessage()
    _reply_headers(
        message,
        original,
        sender=sender,
        to=to,
        prefix="Re:",
        mailer="Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Thunderbird/128.5.0",
        date=date,
    )
    if language == "nl":
        message["Content-Language"] = "nl"
    message.set_content(body)
    return _as_bytes(message)


# --------------------------------------------------------------------------- Gmail


def _gmail_attribution_text(original: Original, language: Language) -> str:
    when = original.date
    who = f"{original.sender_name} <{original.sender_address}>"
    if language == "nl":
        day = _NL_DAYS_SHORT[when.weekday()]
        month = _NL_MONTHS_SHORT[when.month - 1]
        return f"Op {day} {when.day} {month} {when.year} om {when:%H:%M} schreef {who}:"
    return f"On {when:%a}, {when.day} {when:%b %Y} at {when:%H:%M}, {who} wrote:"


def _gmail_wrap(line: str, width: int = 72) -> str:
    """Gmail's plain part wraps a long attribution before the address, leaving "Name <"."""
    if len(line) <= width or "<" not in line:
        return line
    head, _, tail = line.partition("<")
    return f"{head}<\n{tail}"


def gmail_reply(
    original: Original,
    *,
    sender: str,
    text: str,
    language: Language = "en",
    signature: str | None = None,
    html_only: bool = False,
    date: dt.datetime | None = None,
) -> bytes:
    """Gmail: multipart/alternative (or, with `html_only`, just the HTML part as some
    Gmail-based apps send it). The reply, the "-- " signature Gmail adds, the attribution
    (wrapped before the address in the plain part), then the quoted original."""
    attribution = _gmail_attribution_text(original, language)
    plain = text.rstrip("\n") + "\n"
    if signature:
        plain += f"\n-- \n{signature.rstrip()}\n"
    plain += f"\n{_gmail_wrap(attribution)}\n\n{_quoted(original.text)}\n"

    signature_html = ""
    if signature:
        signature_html = (
            '<div><br clear="all"></div><br><span class="gmail_signature_prefix">-- </span><br>'
            '<div dir="ltr" class="gmail_signature" data-smartmail="gmail_signature">'
            f'<div dir="ltr">{_html_lines(signature.rstrip())}</div></div>'
        )
    who = html.escape(original.sender_name)
    addr = html.escape(original.sender_address)
    if language == "nl":
        attr_html = html.escape(attribution.split(original.sender_name)[0]) + (
            f'{who} &lt;<a href="mailto:{addr}">{addr}</a>&gt;:'
        )
    else:
        attr_html = html.escape(attribution.split(original.sender_name)[0]) + (
            f'{who} &lt;<a href="mailto:{addr}">{addr}</a>&gt; wrote:'
        )
    body_html = (
        f'<div dir="ltr">{_html_paragraphs(text.rstrip())}{signature_html}</div><br>'
        '<div class="gmail_quote gmail_quote_container">'
        f'<div dir="ltr" class="gmail_attr">{attr_html}<br></div>'
        '<blockquote class="gmail_quote" style="margin:0px 0px 0px 0.8ex;'
        'border-left:1px solid rgb(204,204,204);padding-left:1ex">'
        f"{_html_lines(original.text)}<br>"
        "</blockquote></div>\n"
    )
    message = EmailMessage()
    _reply_headers(message, original, sender=sender, to=None, prefix="Re:", mailer=None, date=date)
    if html_only:
        message.set_content(body_html, subtype="html")
    else:
        message.set_content(plain)
        message.add_alternative(body_html, subtype="html")
    return _as_bytes(message)


# --------------------------------------------------------------------------- Outlook


def _outlook_block(original: Original, language: Language) -> list[tuple[str, str]]:
    when = original.date
    if language == "nl":
        return [
            ("Van", f"{original.sender_name} <{original.sender_address}>"),
            ("Verzonden", f"{_nl_long(when)} {when:%H:%M}"),
            ("Aan", original.to),
            ("Onderwerp", original.subject),
        ]
    hour = when.hour % 12 or 12
    return [
        ("From", f"{original.sender_name} <{original.sender_address}>"),
        ("Sent", f"{when:%A}, {when:%B} {when.day}, {when.year} {hour}:{when:%M %p}"),
        ("To", original.to),
        ("Subject", original.subject),
    ]


def outlook_reply(
    original: Original,
    *,
    sender: str,
    text: str,
    language: Language = "en",
    html_only: bool = False,
    date: dt.datetime | None = None,
) -> bytes:
    """Outlook (desktop and web): the reply, a divider, the "From:/Sent:/To:/Subject:" (or
    "Van:/Verzonden:/Aan:/Onderwerp:") block and the original *unquoted* below it. Sent as
    multipart/alternative, or as HTML only (`html_only`), which Outlook does when the
    account is set to send HTML and the recipient is internal. Subject prefix "RE:"."""
    block = _outlook_block(original, language)
    plain = (
        text.rstrip("\n")
        + "\n\n"
        + "_" * 32
        + "\n"
        + "\n".join(f"{label}: {value}" for label, value in block)
        + "\n\n"
        + original.text
        + "\n"
    )
    block_html = "<br>\n".join(f"<b>{label}:</b> {html.escape(value)}" for label, value in block)
    body_html = (
        '<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8">'
        '<style type="text/css" style="display:none;"> P {margin-top:0;margin-bottom:0;} '
        "</style></head>\n"
        '<body dir="ltr">\n'
        '<div class="elementToProof" style="font-family: Aptos, Aptos_EmbeddedFont, '
        'Calibri, Helvetica, sans-serif; font-size: 12pt; color: rgb(0, 0, 0);">\n'
        f"{_html_paragraphs(text.rstrip())}\n</div>\n"
        '<div id="appendonsend"></div>\n'
        '<hr style="display:inline-block;width:98%" tabindex="-1">\n'
        '<div id="divRplyFwdMsg" dir="ltr"><font face="Calibri, sans-serif" '
        'style="font-size:11pt" color="#000000">'
        f"{block_html}</font>\n<div>&nbsp;</div>\n</div>\n"
        '<div class="BodyFragment"><font size="2"><span style="font-size:11pt;">\n'
        f'<div class="PlainText">{_html_lines(original.text)}</div>\n'
        "</span></font></div>\n</body>\n</html>\n"
    )
    message = EmailMessage()
    _reply_headers(
        message,
        original,
        sender=sender,
        to=None,
        prefix="RE:",
        mailer="Microsoft Outlook 16.0",
        date=date,
    )
    message["Thread-Topic"] = original.subject
    message["Content-Language"] = "nl-NL" if language == "nl" else "en-US"
    if html_only:
        message.set_content(body_html, subtype="html")
    else:
        message.set_content(plain)
        message.add_alternative(body_html, subtype="html")
    return _as_bytes(message)


# --------------------------------------------------------------------------- forwards


def forward_as_attachment(
    original_raw: bytes, *, sender: str, to: str, text: str, date: dt.datetime | None = None
) -> bytes:
    """Thunderbird's "Forward As Attachment": the staff text, the original as message/rfc822."""
    original = Original.of(original_raw)
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = f"Fwd: {original.subject}"
    message["Date"] = format_datetime(date or MAIL_DATE)
    message["Message-ID"] = make_msgid(f"f{next(_counter)}", domain=sender_domain(sender))
    message.set_content(text)
    inner = email.message_from_bytes(original_raw, policy=email.policy.default)
    message.add_attachment(inner, filename="forwarded message.eml")
    return _as_bytes(message)


def gmail_forward_inline(
    original_raw: bytes, *, sender: str, to: str, text: str, date: dt.datetime | None = None
) -> bytes:
    """Gmail's inline forward: the staff text, "---------- Forwarded message ---------",
    From/Date/Subject/To lines, then the original text."""
    original = Original.of(original_raw)
    when = original.date
    header_date = f"{when:%a}, {when.day} {when:%b %Y} at {when:%H:%M}"
    name = original.sender_name
    body = (
        text.rstrip("\n")
        + "\n\n---------- Forwarded message ---------\n"
        + f"From: {name} <{original.sender_address}>\n"
        + f"Date: {header_date}\n"
        + f"Subject: {original.subject}\n"
        + f"To: <{original.to.split('<')[-1].rstrip('>')}>\n\n\n"
        + original.text
        + "\n"
    )
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = f"Fwd: {original.subject}"
    message["Date"] = format_datetime(date or MAIL_DATE)
    message["Message-ID"] = make_msgid(f"f{next(_counter)}", domain=sender_domain(sender))
    message.set_content(body)
    return _as_bytes(message)


# --------------------------------------------------------------------------- Apple Mail


def _apple_attribution(original: Original, language: Language) -> str:
    when = original.date
    who = f"{original.sender_name} <{original.sender_address}>"
    if language == "nl":
        month = _NL_MONTHS_SHORT[when.month - 1]
        return (
            f"Op {when.day} {month} {when.year}, om {when:%H:%M} heeft {who} "
            "het volgende geschreven:"
        )
    return f"On {when.day} {when:%b %Y}, at {when:%H:%M}, {who} wrote:"


def apple_mail_reply(
    original: Original,
    *,
    sender: str,
    text: str,
    language: Language = "en",
    date: dt.datetime | None = None,
    from_iphone: bool = False,
) -> bytes:
    """Apple Mail (macOS, and iOS with `from_iphone`): multipart/alternative. The reply with
    whatever signature the staff member has (Apple writes no "-- " delimiter: it is part of
    `text`), the "Verstuurd vanaf mijn iPhone" footer when sent from a phone, a blank line, the
    attribution, a blank line, then the original ">"-quoted; the HTML part quotes in
    `<blockquote type="cite">`."""
    attribution = _apple_attribution(original, language)
    if from_iphone:
        footer = "Verstuurd vanaf mijn iPhone" if language == "nl" else "Sent from my iPhone"
        text = f"{text.rstrip()}\n\n{footer}"
    plain = f"{text.rstrip()}\n\n{attribution}\n\n{_quoted(original.text)}\n"
    body_html = (
        '<html><head><meta http-equiv="content-type" content="text/html; charset=utf-8"></head>'
        '<body style="overflow-wrap: break-word; -webkit-nbsp-mode: space; '
        'line-break: after-white-space;">'
        f"{_html_paragraphs(text.rstrip())}"
        f'<div><br><blockquote type="cite"><div>{html.escape(attribution)}</div><br>'
        f"<div>{_html_lines(original.text)}</div></blockquote></div></body></html>\n"
    )
    message = EmailMessage()
    _reply_headers(
        message,
        original,
        sender=sender,
        to=None,
        prefix="Re:",
        mailer="iPhone Mail (22B91)" if from_iphone else "Apple Mail (2.3826.300.87.4.3)",
        date=date,
    )
    message.set_content(plain)
    message.add_alternative(body_html, subtype="html")
    return _as_bytes(message)


REPLY_BUILDERS = {
    "outlook": outlook_reply,
    "thunderbird": thunderbird_reply,
    "gmail": gmail_reply,
    "apple-mail": apple_mail_reply,
}


def reply_as(
    client: str, original: Original, *, sender: str, text: str, language: Language
) -> bytes:
    """A reply to `original` built the way `client` (a key of REPLY_BUILDERS) builds one."""
    return REPLY_BUILDERS[client](original, sender=sender, text=text, language=language)
