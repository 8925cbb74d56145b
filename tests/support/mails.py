"""Small invented mails for tests: reserved domains, invented people."""

from __future__ import annotations

import datetime as dt
import itertools
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from tests.support.clock import MAIL_DATE

_counter = itertools.count(1)


def make_mail(
    *,
    sender: str = "Alice Onderzoeker <alice@example.test>",
    to: str = "security@example.nl",
    subject: str = "Kwetsbaarheid in het klantportaal",
    body: str = (
        "Hallo,\n\nIk heb een XSS-kwetsbaarheid gevonden op https://portal.example.nl/zoek "
        "op 27-11-2026 om 14:05. Met vriendelijke groet, Alice\n"
    ),
    message_id: str | None = None,
    in_reply_to: str | None = None,
    headers: dict[str, str] | None = None,
    date: dt.datetime | None = None,
) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(date or MAIL_DATE)
    msg["Message-ID"] = message_id or make_msgid(f"t{next(_counter)}", domain="example.test")
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
        msg["References"] = in_reply_to
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body)
    return msg.as_bytes()
