"""The new text of a staff reply: what staff wrote above the quoted notification.

Staff answer a reporter by replying to the desk's notification, from Outlook, Thunderbird,
Gmail or Apple Mail, in English or Dutch. Their mail client appends the notification they
answered: masked report text, internal facts about the case and the desk's and staff
members' addresses. None of that may reach the reporter, so the relay sends only what
`new_text` returns: the text above the first reply boundary, without the RFC 3676 signature
and without the "Sent from my iPhone" footers that phones and Outlook apps add.

The rule is "cut at the first boundary, keep nothing below it". When unsure, this module cuts
too much rather than too little: a sentence cut off can be sent again, a leaked internal note
or address cannot be taken back. Consequences:

- interleaved replies (staff answering between quoted lines) keep only the text above the
  first quoted line. They are rare for this desk, and a staff line between two quoted lines
  cannot be told apart safely from a quoted line whose `>` a client dropped;
- a bottom-posted reply (quote first, text below) comes back empty; so does a reply that is
  only a quote. The caller should treat "" as "nothing to relay" and tell the staff member;
- closings ("Met vriendelijke groet, Team Security") are part of the message and stay. Only
  the "-- " delimiter cuts a signature off, and confidentiality disclaimers are left alone.

Boundaries (each line is looked at with surrounding whitespace, no-break spaces and zero-width
characters removed):

- a quoted line: one starting with `>` (plain-text quoting by every client);
- an attribution line, English or Dutch (plus German and French, which cost nothing): "On …
  wrote:" (Gmail, Thunderbird, Apple Mail, also wrapped over two or three lines), "Op …
  schreef …:" (Gmail and Thunderbird in Dutch), "Op … heeft … het volgende geschreven:" (Apple
  Mail in Dutch), and "Name <address> wrote:" without a date. An attribution must name a date
  or an address, so "On Monday the researcher wrote:" in a staff sentence is not one;
- a header block as Outlook writes it above the quoted mail: "From:/Sent:/To:/Subject:" and
  "Van:/Verzonden:/Aan:/Onderwerp:" (also "Date:"/"Datum:", "Cc:", and the German and French
  labels), on separate lines or on one line; a "From:"/"Van:" line holding an address counts
  on its own, other header lines only when a "From:"/"Van:" is among the next ten lines;
- separator lines: "-----Original Message-----", "-----Oorspronkelijk bericht-----",
  "-------- Forwarded Message --------", "---------- Doorgestuurd bericht ---------",
  "Begin forwarded message:", a line of underscores (Outlook's divider) or a long line of
  dashes (the desk's own notification fences the report with one);
- the signature delimiter "-- " (also "--", as clients and HTML conversion drop the space);
- phone and Outlook footers: "Sent from my iPhone", "Verstuurd vanaf mijn iPhone", "Verzonden
  vanaf mijn iPhone", "Get Outlook for iOS", "Outlook voor iOS downloaden", and the like;
- optionally, lines starting with one of the caller's `markers` (the opening line of the
  desk's own notifications, say), a boundary that does not depend on any mail client.

A "Name wrote:" line left right above the cut (not a boundary by itself: no date, no address)
is dropped with it, and so is the "Name <" half of an attribution wrapped before the address.

HTML-only replies are first made text by `mailtriage.inbound.textscan.html_to_text`. That keeps the
attribution lines and Outlook's header block as text, and prefixes the lines of a
`<blockquote>` with "> ", so the same cut works on them. Outlook's `<hr>` divider is lost on
the way, but the header block below it is not.

Pure: strings in, a string out; no I/O and no logging (the text carries names and addresses).
The quoted part may hold text an attacker wrote (the masked report), so every pattern is
anchored at the start of a line or runs on at most a few hundred characters, and each line is
looked at a bounded number of times: the work is linear in the size of the reply.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["history_start", "new_text"]

# Characters that make a line look blank or shift a marker without being seen.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)

# Longer lines are never attributions or footers: not worth a pattern. (Header and separator
# lines are matched at any length: an anchored pattern costs the same on a long line.)
_MAX_MARKER_LINE = 600
_MAX_FOOTER_LINE = 120
_ATTRIBUTION_LINES = 3  # an attribution wrapped over at most this many lines
_HEADER_WINDOW = 10  # lines after a header line in which the rest of the block is looked for
_MAX_BLANK_RUN = 2

_ATTRIBUTION_START = re.compile(r"(?:on|op|am|le)\s", re.IGNORECASE)
_ATTRIBUTION_VERB = re.compile(
    r"\b(?:wrote|writes|schreef|geschreven|schrieb|a\s+écrit)\b", re.IGNORECASE
)
# "Name <address> wrote:" ends in the verb; a Dutch "… schreef Name <address>:" does not.
_ATTRIBUTION_END = re.compile(
    r"(?:wrote|writes|schreef|geschreven|schrieb|a\s+écrit)\s?:$", re.IGNORECASE
)

_HEADER_LABELS = {
    "from": "from",
    "van": "from",
    "sent": "date",
    "verzonden": "date",
    "date": "date",
    "datum": "date",
    "to": "to",
    "aan": "to",
    "cc": "cc",
    "bcc": "cc",
    "subject": "subject",
    "onderwerp": "subject",
    "reply-to": "reply-to",
    "antwoord aan": "reply-to",
    "importance": "importance",
    "urgentie": "importance",
    "prioriteit": "importance",
    # German and French Outlook, for staff whose Outlook speaks one of them.
    "von": "from",
    "gesendet": "date",
    "an": "to",
    "betreff": "subject",
    "de": "from",
    "envoyé": "date",
    "à": "to",
    "objet": "subject",
}
# "From:", "*From:*", "**Van:**" (bold labels in text made from HTML), at the start of a line.
_HEADER_LINE = re.compile(
    r"[*_]{0,2}(" + "|".join(sorted(_HEADER_LABELS, key=len, reverse=True)) + r")[*_]{0,2}"
    r"\s?:[*_]{0,2}(?:\s|$)",
    re.IGNORECASE,
)
# Outlook's header block run together on one line: "From: X Sent: Y To: Z Subject: …".
_INLINE_HEADER = re.compile(
    r"\s[*_]{0,2}(?:sent|verzonden|date|datum|to|aan|subject|onderwerp|gesendet|betreff|envoyé"
    r"|objet)[*_]{0,2}\s?:\s",
    re.IGNORECASE,
)

_SEPARATOR = re.compile(
    r"-{2,}\s*(?:original\s+message|forwarded\s+message|oorspronkelijk\s+bericht"
    r"|originele?\s+bericht|origineel\s+bericht|doorgestuurd\s+bericht"
    r"|ursprüngliche\s+nachricht|weitergeleitete\s+nachricht|message\s+d'origine"
    r"|message\s+transféré)\s*-*:?"
    r"|(?:begin\s+)?(?:forwarded\s+message|doorgestuurd\s+bericht)\s*:"
    r"|_{10,}"
    r"|-{20,}",
    re.IGNORECASE,
)
_SIGNATURE_DELIMITER = "--"
# Footers are cosmetic, not a leak: a missed one is relayed as it is and the quote below it is
# still cut. So they are matched narrowly, to keep "Sent from the staging server, …" as text.
_FOOTER = re.compile(
    r"(?:sent\s+from\s+my|(?:verstuurd|verzonden)\s+(?:vanaf|vanuit|met)\s+mijn"
    r"|(?:sent|verstuurd|verzonden)\s+(?:from|with|vanaf|vanuit|met)\s+(?:outlook|mail\s+for"
    r"|proton\s*mail|yahoo|gmail|blackberry|samsung|aol|iphone|ipad|android)"
    r"|get\s+outlook\s+for|download\s+outlook\s+voor|outlook\s+voor\s+\S+\s+downloaden)\b",
    re.IGNORECASE,
)
_MAX_FOOTER_WORDS = 10


def new_text(body: str, *, markers: Iterable[str] = ()) -> str:
    """The text a staff member wrote in `body`, without quoted history, footer or signature.

    `body` is the plain text of the reply (CRLF, CR or LF line ends). The result keeps the
    lines above the first reply boundary (see the module docstring), with trailing
    whitespace removed from each line, no blank lines at either end, and at most two blank
    lines in a row. It is "" when the staff member wrote nothing above the quote.

    `markers` are extra boundaries: a line that starts with one of them (case-insensitive,
    after leading whitespace) is cut off with everything below it.
    """
    lines = body.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    plain = [_plain(line) for line in lines]
    if isinstance(markers, str):
        markers = (markers,)  # one marker, not one per character
    folded_markers = tuple(m.strip().casefold() for m in markers if m.strip())

    cut = _first_boundary(plain, folded_markers)
    if cut == len(lines):
        return _tidy(lines)
    kept = plain[:cut]
    _drop_dangling_attribution(kept)
    return _tidy(lines[: len(kept)])


def history_start(body: str, *, markers: Iterable[str] = ()) -> int:
    """The index (into `body` split at CRLF, CR or LF) of the first line of quoted
    history: the first boundary `new_text` cuts at, except the signature delimiter and phone
    footers. Everything above it is what the staff member wrote, signature included; callers
    look there for command lines that must not be mistaken for text (`staffmail`)."""
    lines = body.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if isinstance(markers, str):
        markers = (markers,)
    folded = tuple(m.strip().casefold() for m in markers if m.strip())
    return _first_boundary([_plain(line) for line in lines], folded, signature=False)


def _plain(line: str) -> str:
    return line.translate(_INVISIBLE).replace("\xa0", " ").strip()


def _first_boundary(plain: list[str], markers: tuple[str, ...], *, signature: bool = True) -> int:
    labels = [_header_label(line) if line else None for line in plain]
    for index, line in enumerate(plain):
        if not line:
            continue
        if (
            line.startswith(">")
            or (signature and (line == _SIGNATURE_DELIMITER or _is_footer(line)))
            or (markers and line.casefold().startswith(markers))
            or _is_separator(line)
            or _is_attribution(plain, index)
            or _is_header_block(plain, labels, index)
        ):
            return index
    return len(plain)


def _is_footer(line: str) -> bool:
    return (
        len(line) <= _MAX_FOOTER_LINE
        and len(line.split()) <= _MAX_FOOTER_WORDS
        and _FOOTER.match(line) is not None
    )


def _is_separator(line: str) -> bool:
    return _SEPARATOR.fullmatch(line) is not None


def _is_attribution(plain: list[str], index: int) -> bool:
    line = plain[index]
    if len(line) > _MAX_MARKER_LINE:
        return False
    if _ATTRIBUTION_END.search(line) and "@" in line:
        return True  # "Name <address> wrote:", with or without "On <date>"
    if not _ATTRIBUTION_START.match(line):
        return False
    # Gmail wraps a long "On … wrote:" line; the pieces follow each other without a gap.
    joined = line
    for following in plain[index + 1 : index + _ATTRIBUTION_LINES]:
        if joined.endswith(":") or not following or len(joined) > _MAX_MARKER_LINE:
            break
        joined = f"{joined} {following}"
    return _reads_as_attribution(joined)


def _reads_as_attribution(text: str) -> bool:
    if len(text) > 2 * _MAX_MARKER_LINE or not text.endswith(":"):
        return False
    if "@" not in text and not any(char.isdigit() for char in text):
        return False  # a real attribution names a date, a time or an address
    return _ATTRIBUTION_VERB.search(text) is not None


def _header_label(line: str) -> str | None:
    match = _HEADER_LINE.match(line)
    return _HEADER_LABELS[match.group(1).lower()] if match else None


def _is_header_block(plain: list[str], labels: list[str | None], index: int) -> bool:
    label = labels[index]
    if label is None:
        return False
    line = plain[index]
    if label == "from" and ("@" in line or _INLINE_HEADER.search(line)):
        return True
    seen = {label}
    seen.update(other for other in labels[index + 1 : index + 1 + _HEADER_WINDOW] if other)
    return "from" in seen and len(seen) >= 2


def _drop_dangling_attribution(kept: list[str]) -> None:
    """Drop what is left of an attribution just above the cut.

    "Security Desk wrote:" (no date, no address) is not a boundary by itself but sits right
    above the quote it introduces; "Security Desk <" is the first half of an attribution
    wrapped before the address, whose second half was the boundary.
    """
    while kept and not kept[-1]:
        kept.pop()
    if kept and len(kept[-1]) <= _MAX_MARKER_LINE and _ATTRIBUTION_END.search(kept[-1]):
        kept.pop()
    if kept and kept[-1].endswith("<"):
        kept.pop()


def _tidy(lines: list[str]) -> str:
    out: list[str] = []
    blanks = 0
    for line in lines:
        text = line.rstrip()
        if not _plain(text):
            blanks += 1
            continue
        if out:
            out.extend([""] * min(blanks, _MAX_BLANK_RUN))
        blanks = 0
        out.append(text)
    return "\n".join(out)
