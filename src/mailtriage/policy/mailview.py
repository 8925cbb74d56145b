"""What the redirect rules read of a mail: its subject and text, lower-cased, URLs blanked,
and the sender's own note above an inline forward.

Its own module so that the rule tables (`redirect_rules.py`) and the engine that applies them
(`redirects.py`) both import it, and neither has to import the other.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from mailtriage.inbound.message import InboundMail

# Where a rule looks. "note" is the sender's own words: the text before an inline-forwarded
# message, so a short "is this real?" is judged without the phishing text under it.
Field = Literal["subject", "text", "note"]

# Everything a mail is judged on is near its top; a megabyte of pasted log adds nothing but
# time. Reports put their vocabulary early, so a veto word is not lost to this cut in practice.
SCAN_CHARS = 20_000


# --------------------------------------------------------------------------- structure

# Inline forwards: the separator lines of Gmail, Outlook, Apple Mail, Thunderbird and the
# Dutch versions, and Outlook's header block ("Van: / Verzonden: / Aan: / Onderwerp:"), also
# in the other languages customers' mail programs speak. Bounded, possessive repeats only: a
# megabyte line, or thousands of indented lines under "From:", must cost one linear pass.
_INLINE_FORWARD = re.compile(
    r"^[ \t>]{0,8}(?:"
    r"-{2,}[ \t]{0,8}(?:forwarded message|original message|doorgestuurd bericht"
    r"|oorspronkelijk bericht|origineel bericht|weitergeleitete nachricht|message transf[eé]r[eé]"
    r"|mensagem encaminhada)[ \t]{0,8}-{2,}"
    r"|(?:begin forwarded message|begin doorgestuurd bericht|doorgestuurd bericht"
    r"|forwarded message)[ \t]{0,4}:"
    r"|(?:from|van|de|von|da)[ \t]{0,4}:[^\n]{1,400}+\n(?:[ \t>]{0,8}+[^\n]{0,400}+\n){0,5}?"
    r"[ \t>]{0,8}+(?:subject|onderwerp|assunto|betreff|objet|oggetto|asunto)[ \t]{0,4}:"
    r")",
    re.MULTILINE,
)
_URL = re.compile(r"(?:https?|hxxps?|ftp)(?::|\[:\])//[^\s<>\"'`]{1,4000}+")


@dataclass(frozen=True)
class MailView:
    """What the rules read: the mail, and its lower-cased fields, built once per mail."""

    mail: InboundMail
    subject: str
    text: str  # URLs replaced by " <url> ": a link's path words are not the sender's words
    note: str
    inline_forward: bool

    @classmethod
    def of(cls, mail: InboundMail) -> MailView:
        text = _URL.sub(" <url> ", mail.text[:SCAN_CHARS].lower())
        marker = _INLINE_FORWARD.search(text)
        return cls(
            mail=mail,
            subject=_URL.sub(" <url> ", mail.subject.lower()),
            text=text,
            note=text[: marker.start()] if marker else text,
            inline_forward=marker is not None,
        )

    def field(self, name: Field) -> str:
        return self.subject if name == "subject" else self.note if name == "note" else self.text
