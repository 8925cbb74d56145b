"""Masking of the reporter in the copies of report text that staff receive.

Staff notifications end up in staff mailboxes, which no purge reaches, so report text shown
there has the reporter's address, name and phone numbers masked (`mask_personal`). Templates
reach it through the `|mask` filter of `render.Renderer`.

Reports quote URLs, and a URL carries an address or a name percent-encoded
(`?user=sanne%40example.test&name=Sanne+Visser`): those forms are masked too, also right
after another escape (`%3Dsanne...`), where a plain word boundary would not see them start.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from mailtriage.outgoing.compose import MAX_DISPLAY_NAME, clean_header_text

__all__ = ["mask_personal"]

# A run of address characters, started at the start of a run so a megabyte of letters is
# scanned once; the domain needs a dot and is checked in Python (alphabetic TLD), so that
# `root@192.0.2.1` keeps its IP address.
_EMAIL = re.compile(r"(?<![\w.%+\-])[\w.%+\-]{1,64}+@[\w\-]{1,63}(?:\.[\w\-]{1,63}){1,8}(?![\w\-])")
# A start of a word, or the end of a percent escape ("%3D" before a query value).
_START = r"(?:(?<=%[0-9A-Fa-f]{2})|(?<![\w.%+\-]))"
# An address in a URL: "@" percent-encoded once or twice; no "%" in the local part, so the
# escape is where it ends.
_ENCODED_EMAIL = re.compile(
    _START + r"[\w.+\-]{1,64}+(?:%40|%2540)[\w\-]{1,63}(?:\.[\w\-]{1,63}){1,8}(?![\w\-])"
)
# Between the words of a name: white space, or its URL forms ("+", "%20").
_NAME_GAP = r"(?:\s+|\+|%20)"
_SEP = r"[ \u00a0-]"
_PHONE = re.compile(
    r"(?:"
    # Dutch, international form: +31 or 0031, an optional (0), then the 9 national digits.
    rf"(?<![\w+])(?:\+|00)31{_SEP}?(?:\(0\){_SEP}?)?(?:\d{_SEP}?){{8}}\d"
    # Elsewhere: +CC with 8 to 15 digits, or 00CC followed by a separator (not a bare number).
    rf"|(?<![\w+])\+[1-9](?:{_SEP}?(?:\(0\){_SEP}?)?\d){{7,14}}"
    rf"|(?<![\w+])00[1-9]\d{{0,2}}{_SEP}(?:\(0\){_SEP}?)?(?:\d{_SEP}?){{6,12}}\d"
    # Dutch, national form: ten digits starting with 0, the area code maybe in parentheses.
    rf"|(?<![\w.+/\-])(?:"
    rf"0[1-9](?:{_SEP}?\d){{8}}"
    rf"|\(0[1-9]\){_SEP}?(?:\d{_SEP}?){{7}}\d"
    rf"|\(0[1-9]\d\){_SEP}?(?:\d{_SEP}?){{6}}\d"
    rf"|\(0[1-9]\d\d\){_SEP}?(?:\d{_SEP}?){{5}}\d"
    r")"
    r")(?![\w:]|[.,\-]\d)"
)
_DATE_LIKE = re.compile(r"\d{1,2}[-/ ]\d{1,2}[-/ ](?:19|20)\d\d")
_NAME_TOKEN = re.compile(r"[^\W\d_]{2,}")
# Name particles, titles and words that turn up in display names but are no part of a
# person's name; masking them would black out ordinary words across a report.
# fmt: off
_NOT_NAME_TOKENS = frozenset({
    "aan", "admin", "al", "an", "and", "at", "behalf", "bin", "blue", "bounty", "bug", "bv", "by",
    "contact", "da", "das", "de", "del", "della", "den", "der", "dhr", "di", "dos", "dr", "drs",
    "du", "el", "email", "en", "et", "ethical", "for", "from", "gmbh", "hacker", "heer", "het",
    "hunter", "ibn", "in", "inc", "info", "ing", "ir", "is", "it", "jr", "la", "lab", "labs",
    "le", "les", "llc", "ltd", "mail", "meneer", "mevr", "mevrouw", "miss", "mr", "mrs", "ms",
    "mx", "my", "no", "noreply", "nv", "of", "on", "op", "or", "our", "prof", "red", "reply",
    "research", "researcher", "researchers", "sec", "security", "sir", "sr", "support", "te",
    "team", "ten", "ter", "the", "to", "und", "van", "via", "von", "whitehat", "with", "your",
})
# fmt: on
_MAX_NAME_TOKENS = 8

REPORTER = "[reporter]"
ADDRESS = "[address]"
PHONE = "[phone]"


def mask_personal(text: str, *, address: str | None, name: str | None) -> str:
    """The text with the reporter's address and name, every e-mail address and every phone
    number replaced by "[reporter]", "[address]" and "[phone]".

    Errs towards masking a word too many in a staff copy, but leaves IP addresses, dates,
    times, CVE ids, version strings and ports alone: staff need those to act on a report.
    """
    if address and "@" in address:
        forms = "|".join(re.escape(form) for form in _address_forms(address.strip()))
        text = re.sub(
            rf"{_START}(?:mailto:|mailto%3A)?(?:{forms})(?![\w\-]|\.\w)",
            REPORTER,
            text,
            flags=re.IGNORECASE,
        )
    text = _EMAIL.sub(_mask_email, text)
    text = _ENCODED_EMAIL.sub(_mask_email, text)
    text = _PHONE.sub(_mask_phone, text)
    pattern = _name_pattern(name) if name else None
    if pattern is not None:
        text = pattern.sub(REPORTER, text)
    return text


def _address_forms(address: str) -> list[str]:
    """The address as written, and as a URL carries it: "@" (and any other reserved
    character) percent-encoded, once or twice; longest first, so no form masks half of one."""
    once = quote(address, safe="")
    forms = {address, address.replace("@", "%40"), once, once.replace("%", "%25")}
    return sorted(forms, key=len, reverse=True)


def _mask_email(match: re.Match[str]) -> str:
    found = match.group(0)
    top_level = found.rsplit(".", 1)[1]
    return ADDRESS if top_level.isalpha() and len(top_level) >= 2 else found


def _mask_phone(match: re.Match[str]) -> str:
    found = match.group(0)
    return found if _DATE_LIKE.match(found) else PHONE


def _name_pattern(name: str) -> re.Pattern[str] | None:
    """Whole words of the display name, the full name first so "Sanne de Vries" becomes one
    placeholder rather than "[reporter] de [reporter]"."""
    display = clean_header_text(name, MAX_DISPLAY_NAME).strip("\"' ")
    if not display:
        return None
    alternatives: list[str] = []
    if "@" in display:
        alternatives.append(re.escape(display))
        display = display.split("@", 1)[0]
    words = display.split()
    tokens = [
        token for token in _NAME_TOKEN.findall(display) if token.casefold() not in _NOT_NAME_TOKENS
    ]
    if len(words) > 1 and tokens:
        alternatives.append(_NAME_GAP.join(_word_forms(word) for word in words))
    unique = sorted(dict.fromkeys(token.casefold() for token in tokens), key=len, reverse=True)
    alternatives.extend(_word_forms(token) for token in unique[:_MAX_NAME_TOKENS])
    if not alternatives:
        return None
    start = r"(?:(?<=%[0-9A-Fa-f]{2})|(?<!\w))"
    return re.compile(start + "(?:" + "|".join(alternatives) + r")(?!\w)", re.IGNORECASE)


def _word_forms(word: str) -> str:
    """A pattern for one word of a name, also percent-encoded as UTF-8 ("Zo%C3%AB")."""
    encoded = quote(word, safe="")
    if encoded == word:
        return re.escape(word)
    return f"(?:{re.escape(word)}|{re.escape(encoded)})"
