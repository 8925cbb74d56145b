"""Cutting a staff member's sign-off from the text they wrote, before it goes to a reporter.

Why: staff answer from Outlook, Thunderbird, Gmail and Apple Mail, and most of them sign
without the RFC 3676 "-- " delimiter: the client appends "Alice de Wit / Security Officer |
PZEM / T +31 … | M +31 6 …", a logo, a confidentiality disclaimer or "Verzonden vanaf mijn
iPhone" straight below the text. The relay speaks for the team, so none of that may reach a
reporter: not the name, not the phone numbers, not the address. `quotes.new_text` has
already cut the quoted history and the "-- " signature; `strip_signature` cuts the rest.

When unsure it cuts too much, never too little: a closing line or a sentence lost can be sent
again, a staff member's mobile number cannot be taken back. The rules, applied in order:

1. **Hard boundaries.** The first line that is certainly not for the reporter cuts it and
   everything below: a contact line (a phone number such as `T +31 118 123 456` or
   `06-12345678`, an e-mail address in a short line, a `Tel:`/`M:`/`E:` label with a number
   or address), a logo placeholder (`[cid:image001.png@…]`, `[image: PZEM]`, `[Logo]`), a
   disclaimer paragraph ("Dit e-mailbericht is uitsluitend bestemd…", "This e-mail is
   intended…", "Disclaimer", "Denk aan het milieu…"), a mobile or app footer ("Verzonden
   vanaf mijn iPhone", "Outlook voor iOS", "Get Outlook for Android"). The short lines
   right above a contact line with no blank line between (name, job title) go with it.
2. **Closings.** A line that is only a closing ("Met vriendelijke groet,", "Groet,", "Mvg",
   "Kind regards,", "Best,", "Thanks," — optionally followed by a name on the same line) ends
   the message when nothing below it reads as prose: the closing stays (it is part of the
   message), the name and title below it go. A team sign-off right below it ("Het
   securityteam", "The PZEM security team") stays: it names the team, not a person. A
   closing with prose after it ("Thanks!" opening a reply) is just text.
3. **A last name block.** Without a closing, a last paragraph of a few short lines that reads
   as a name and job title ("Alice de Wit" / "Security Officer | PZEM") is cut.

Pure: a string in, a string out; no I/O and no logging (the text names people). Linear in
the size of the text: every pattern is anchored and runs on one bounded line.
"""

from __future__ import annotations

import re

__all__ = ["contains_contact", "find_phone", "strip_signature"]

_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)
_MAX_LINE = 400  # longer lines are prose, never a signature line

_SHORT_WORDS = 6  # a signature line (name, title, company) is at most this many words
_SHORT_CHARS = 70
_CONTACT_WORDS = 14  # a line this short holding an address or phone number is a contact line

# --- contact lines --------------------------------------------------------------------------

_PHONE_CANDIDATE = re.compile(r"(?<![\w+])(?:\+|00)?\(?\d[\d\s().\-/]{7,22}\d(?![\w:])")
_DATE_SHAPE = re.compile(r"\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}|\d{4}-\d{1,2}-\d{1,2}")
_EMAIL = re.compile(r"[\w.%+\-]{1,64}@[\w\-]{1,63}(?:\.[\w\-]{1,63}){1,8}")
_CONTACT_LABEL = re.compile(
    r"(?:t|m|f|e|w|tel|telefoon|telephone|phone|mobile|mobiel|mob|gsm|cell|direct|fax"
    r"|email|e-mail|mail|web|website)\s?[:.]?\s",
    re.IGNORECASE,
)
_LOGO = re.compile(r"\[(?:cid:|image\b|logo\b|afbeelding\b|inline\s+image|banner\b)", re.I)

# --- disclaimers and footers ----------------------------------------------------------------

_DISCLAIMER_ALWAYS = re.compile(
    r"(?:disclaimer\b|confidentiality\s+notice|vertrouwelijkheidsverklaring"
    r"|please\s+consider\s+the\s+environment|think\s+before\s+you\s+print"
    r"|denk\s+aan\s+het\s+milieu|aan\s+dit\s+(?:e-?mail)?bericht\s+kunnen\s+geen\s+rechten)",
    re.IGNORECASE,
)
_DISCLAIMER_START = re.compile(
    r"(?:dit|deze|de\s+informatie\s+(?:in|verzonden\s+met)\s+dit)\s+(?:e-?mail|bericht"
    r"|e-?mailbericht|mail)|(?:this|the\s+information\s+(?:in|contained\s+in)\s+this)"
    r"\s+(?:e-?mail|message|communication)|(?:confidential|vertrouwelijk)\b",
    re.IGNORECASE,
)
_DISCLAIMER_WORD = re.compile(
    r"\b(?:intended|bestemd|confidential|vertrouwelijk|geadresseerde|addressee|rechten"
    r"|liability|aansprakelijk|privileged|unauthori[sz]ed|disclos\w*|recipient|ontvanger"
    r"|kvk|koophandel|verwijder\w*|delete)\b",
    re.IGNORECASE,
)
_APP_FOOTER = re.compile(
    r"(?:(?:sent|verzonden|verstuurd)\s+(?:from|with|vanaf|vanuit|met|via)\s+"
    r"(?:my|mijn|outlook|mail\b|blackberry|samsung|galaxy|android|iphone|ipad|yahoo|gmail"
    r"|proton|aol)|(?:get|download)\s+outlook\s+(?:for|voor)|outlook\s+(?:for|voor)"
    r"\s+(?:ios|android)\b)",
    re.IGNORECASE,
)

# --- closings -------------------------------------------------------------------------------

_CLOSING = re.compile(
    r"(?P<closing>(?:met\s+)?(?:vriendelijke|hartelijke|beste|warme|zonnige|collegiale)"
    r"\s+groet(?:en)?|met\s+groet(?:en)?|groet(?:en|jes)?|gr|vr\.?\s?gr|m\.?v\.?g|mvg"
    r"|hoogachtend|met\s+dank|alvast\s+bedankt|bedankt|dank\s+(?:je|u)\s+wel|dankjewel"
    r"|tot\s+ziens|(?:with\s+)?(?:kind|best|warm|kindest|warmest|many)\s+regards|regards"
    r"|best|best\s+wishes|all\s+the\s+best|cheers|thanks(?:\s+again)?|many\s+thanks"
    r"|thank\s+you|(?:yours\s+)?sincerely|yours\s+(?:truly|faithfully)|kr|br)"
    r"(?P<punct>\s?[,.!]*)(?:\s+(?P<rest>\S.*))?",
    re.IGNORECASE,
)
_TEAM_SIGNOFF = re.compile(r"(?:[\w\-]+\s+){0,3}[\w\-]*team(?:\s+[\w\-]+){0,2}", re.IGNORECASE)

# --- names and titles -----------------------------------------------------------------------

_PARTICLES = frozenset(
    [
        "de",
        "van",
        "der",
        "den",
        "het",
        "ter",
        "ten",
        "te",
        "'t",
        "in",
        "op",
        "la",
        "le",
        "von",
        "du",
        "da",
        "di",
        "dos",
        "del",
        "bin",
        "el",
    ]
)
_NAME_WORD = re.compile(r"[A-ZÀ-Þ][\w'’.\-]*")
_TITLE_WORD = re.compile(
    r"\b(?:officer|analist|analyst|engineer|specialist|manager|adviseur|advisor|adviser"
    r"|consultant|co[oö]rdinator|ciso|cso|lead|medewerker|teamleider|architect|beheerder"
    r"|director|directeur|head\s+of|hoofd|security|cert|csirt|soc)\b",
    re.IGNORECASE,
)
_SENTENCE_END = (".", "?", "!", ":", ";")


def strip_signature(text: str) -> str:
    """`text` (a staff member's own words, quote already cut) without their sign-off.

    Returns the kept lines with trailing whitespace removed and no blank lines at either end;
    "" when nothing but a signature was written. See the module docstring for the rules."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    plain = [_plain(line) for line in lines]
    kept = _hard_cut(plain)
    closing = _closing_cut(plain[:kept])
    if closing is not None:
        at, closing_line = closing
        out = [*lines[:at], closing_line, *_team_lines(plain, at + 1, kept)]
        return _tidy(out)
    return _tidy(lines[: _name_block_cut(plain[:kept])])


def find_phone(line: str) -> str | None:
    """The first phone number in `line` (international, or a Dutch 10-digit one), or None.

    Dates and times ("27-11-2026 14:05") are not phone numbers."""
    for match in _PHONE_CANDIDATE.finditer(line[:_MAX_LINE]):
        candidate = match.group(0)
        if _DATE_SHAPE.search(candidate):
            continue
        digits = re.sub(r"\D", "", candidate)
        if candidate.startswith(("+", "00", "(+")) and 10 <= len(digits) <= 15:
            return candidate
        if digits.startswith("0") and len(digits) == 10:
            return candidate
    return None


def contains_contact(line: str) -> bool:
    """Whether `line` reads as a signature's contact line (phone, address, labelled item)."""
    plain = _plain(line)
    if not plain or len(plain) > _MAX_LINE:
        return False
    words = len(plain.split())
    has_phone = find_phone(plain) is not None
    has_email = _EMAIL.search(plain) is not None
    if _CONTACT_LABEL.match(plain) and (has_phone or has_email or "www." in plain.lower()):
        return True
    # A sentence that gives a number or an address on purpose is text, not a signature.
    listed = "|" in plain or (words <= _CONTACT_WORDS and not plain.endswith(_SENTENCE_END))
    return (has_phone or has_email) and listed


def _plain(line: str) -> str:
    return line.translate(_INVISIBLE).replace("\xa0", " ").strip()


def _hard_cut(plain: list[str]) -> int:
    """The index of the first line that starts what is certainly not for the reporter."""
    for index, line in enumerate(plain):
        if not line:
            continue
        if _LOGO.match(line) or _APP_FOOTER.match(line) or _is_disclaimer(plain, index):
            return _walk_back(plain, index)
        if contains_contact(line):
            return _walk_back(plain, index)
    return len(plain)


def _is_disclaimer(plain: list[str], index: int) -> bool:
    line = plain[index]
    if _DISCLAIMER_ALWAYS.match(line):
        return True
    if index > 0 and plain[index - 1]:
        return False  # a disclaimer starts a paragraph
    if not _DISCLAIMER_START.match(line):
        return False
    paragraph = " ".join(_paragraph(plain, index))[: _MAX_LINE * 4]
    return _DISCLAIMER_WORD.search(paragraph) is not None


def _paragraph(plain: list[str], index: int) -> list[str]:
    out: list[str] = []
    for line in plain[index : index + 12]:
        if not line:
            break
        out.append(line)
    return out


def _walk_back(plain: list[str], index: int) -> int:
    """Move a cut up over the name and title lines written right above it (no blank line
    between): they belong to the same signature block. A closing stays above the cut."""
    while index > 0 and plain[index - 1] and _is_signature_line(plain[index - 1]):
        if _CLOSING.fullmatch(plain[index - 1]):
            break
        index -= 1
    return index


def _is_signature_line(line: str) -> bool:
    """A name, a title, a company or an address: short, and not a sentence. Items set off
    by "|" or "·" ("PZEM N.V. | Postbus 123 | 4330 AA Middelburg") are a signature's way of
    listing, never prose."""
    if _is_listing(line):
        return True
    return (
        len(line) <= _SHORT_CHARS
        and len(line.split()) <= _SHORT_WORDS
        and not line.endswith(_SENTENCE_END)
        and not line.endswith(",")
    )


def _is_listing(line: str) -> bool:
    return len(line) <= 2 * _SHORT_CHARS and ("|" in line or " · " in line)


def _is_prose(line: str) -> bool:
    if _is_listing(line):
        return False
    words = len(line.split())
    return words >= 8 or (words >= 3 and line.endswith(_SENTENCE_END))


def _closing_cut(plain: list[str]) -> tuple[int, str] | None:
    """(index, the closing as it stays) of the last closing line with no prose below it."""
    for index in range(len(plain) - 1, -1, -1):
        line = plain[index]
        if not line or len(line) > _SHORT_CHARS:
            continue
        match = _CLOSING.fullmatch(line)
        if match is None or not _closing_rest_is_a_name(match.group("rest")):
            continue
        if any(_is_prose(after) for after in plain[index + 1 :]):
            return None  # "Thanks!" opening a reply, or a P.S. after the sign-off: text
        kept = (match.group("closing") + match.group("punct")).strip()
        return index, kept
    return None


def _closing_rest_is_a_name(rest: str | None) -> bool:
    """ "Groet, Alice" is a closing; "Best practice is to …" is not."""
    return rest is None or (_is_name(rest) and len(rest.split()) <= 4)


def _team_lines(plain: list[str], start: int, stop: int) -> list[str]:
    """The team sign-off lines right below a closing ("Het securityteam"), which stay."""
    out: list[str] = []
    for line in plain[start:stop]:
        if not line:
            if out:
                break
            continue
        if not _is_team_signoff(line):
            break
        out.append(line)
    return out


def _is_team_signoff(line: str) -> bool:
    return (
        len(line) <= 60
        and _TEAM_SIGNOFF.fullmatch(line) is not None
        and not any(ch.isdigit() or ch in "@|/" for ch in line)
    )


def _name_block_cut(plain: list[str]) -> int:
    """Where a last paragraph that reads as name and title starts, else the end."""
    end = len(plain)
    while end and not plain[end - 1]:
        end -= 1
    start = end
    while start and plain[start - 1]:
        start -= 1
    block = plain[start:end]
    if not block or start == 0 or len(block) > 5:
        return len(plain)
    if not all(_is_signature_line(line) for line in block):
        return len(plain)
    if any(_is_team_signoff(line) for line in block):
        return len(plain)
    if _is_name(block[0]) or any("|" in line or _TITLE_WORD.search(line) for line in block):
        return start
    return len(plain)


def _is_name(text: str) -> bool:
    """ "Alice de Wit", "A. de Wit", "Alice": capitalised words and Dutch particles only."""
    words = text.strip().rstrip(",").split()
    if not 1 <= len(words) <= 4:
        return False
    capitalised = 0
    for word in words:
        if word.lower() in _PARTICLES:
            continue
        if not _NAME_WORD.fullmatch(word) or any(ch.isdigit() for ch in word):
            return False
        capitalised += 1
    return capitalised >= 1


def _tidy(lines: list[str]) -> str:
    out = [line.rstrip() for line in lines]
    while out and not _plain(out[-1]):
        out.pop()
    while out and not _plain(out[0]):
        out.pop(0)
    return "\n".join(out)
