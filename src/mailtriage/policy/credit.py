"""A reporter's answer to "may we credit you?", as people actually write it.

The acknowledgement asks for a `CREDIT: name` / `VERMELDING: naam` line, but reporters answer
in prose just as often: "Jullie mogen mij vermelden als Jeroen Bakker", "Please credit me as
J. Bakker", "Ik wil liever niet genoemd worden". Missing those breaks the policy's promise
both ways (a willing reporter goes unnamed, an unwilling one is not heard), so this module
reads both the keyword lines and the common Dutch and English sentences.

What is found is only a *request*. Whether it is applied is the caller's call (`casework`):
a credit name is published in the organisation's name, so it is applied directly only from
a reporter mail whose sender the receiving MX authenticated, and only when the reading is
`certain`; otherwise staff are shown the name and confirm it with `#credit NAME`.

Pure: strings in, values out; no I/O, no logging (the text carries names).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["CreditChange", "CreditRequest", "credit_change", "credit_request"]

MAX_NAME = 100
MAX_LINES = 200
_MAX_NAME_WORDS = 6

# The acknowledgement's own examples, quoted back or copied without filling them in.
_PLACEHOLDERS = frozenset(
    {"name", "naam", "je naam", "jouw naam", "your name", "uw naam", "[name]", "[naam]"}
)

_KEYWORD_YES = re.compile(r"^\s*(?:credit|vermelding)\s*:\s*(\S.{0,99}?)\s*$", re.IGNORECASE)
_KEYWORD_NO = re.compile(r"^\s*(?:no credit|geen vermelding)\s*[.!]?\s*$", re.IGNORECASE)

# "… as NAME" / "… als NAME": the sentence names what to credit. Each alternative is
# anchored on words a person uses for exactly this, so "as soon as" or "als je wilt" in an
# unrelated sentence is no match. Bounded repeats only: the text is an attacker's.
_PROSE_YES = (
    # Dutch
    r"(?:je|jullie|u)\s+(?:mag|mogen|kan|kunnen|kunt)\s+(?:mij|me|mijn\s+naam)\s+"
    r"(?:graag\s+|gerust\s+|best\s+)?(?:vermelden|noemen|crediten|opnemen)\s+(?:als|met)\b",
    r"(?:vermeld|noem|credit)\s+(?:mij|me)\s+(?:maar\s+|graag\s+|gerust\s+)?(?:als|met)\b",
    r"(?:ik\s+wil|ik\s+zou)\s+(?:graag\s+|best\s+)?(?:vermeld|genoemd)\s+(?:worden\s+)?"
    r"(?:als|met)\b",
    r"graag\s+(?:vermelding|vermeld|genoemd)\s+(?:als|met|onder)\b",
    r"(?:vermelding|credits?)\s+(?:mag|graag|is\s+goed)\s+(?:als|onder|met)\b",
    # English
    r"(?:you\s+(?:may|can|could)|feel\s+free\s+to|please|kindly)\s+"
    r"(?:credit|mention|list|name|acknowledge|thank)\s+me\s+as\b",
    r"(?:i'?d|i\s+would|i)\s+(?:like|love|prefer|want)\s+to\s+be\s+"
    r"(?:credited|mentioned|listed|acknowledged|named)\s+as\b",
    r"(?:^|[.!?]\s+)credit\s+me\s+as\b",
    r"(?:please\s+)?use\s+(?:the\s+name|my\s+name|the\s+handle|my\s+handle)\b",
)
_PROSE_YES_RE = re.compile(
    r"(?:" + "|".join(_PROSE_YES) + r")[\s:]{0,3}(?P<name>\S[^\n]{0,150})", re.IGNORECASE
)

_PROSE_NO = re.compile(
    r"(?:"
    r"(?:ik\s+wil|ik\s+hoef)\s+(?:liever\s+|graag\s+)?niet\s+(?:vermeld|genoemd|gecrediteerd)"
    r"|(?:vermeld|noem)\s+(?:mij|me|mijn\s+naam)\s+(?:liever\s+)?niet"
    r"|(?:geen|liever\s+geen)\s+(?:vermelding|naamsvermelding|credits?)\s*(?:[.!,]|a\.?u\.?b|$)"
    r"|(?:ik\s+blijf|ik\s+wil)\s+(?:liever\s+)?anoniem"
    r"|(?:do\s+not|don'?t|please\s+don'?t|no\s+need\s+to)\s+(?:credit|mention|name|list)\s+me"
    r"|i\s+(?:do\s+not|don'?t)\s+(?:want|wish|need)\s+to\s+be\s+(?:credited|mentioned|named)"
    r"|(?:i'?d|i\s+would)\s+(?:prefer|rather|like)\s+to\s+(?:stay|remain)\s+anonymous"
    r"|i\s+(?:prefer|want)\s+to\s+(?:stay|remain)\s+anonymous"
    r")",
    re.IGNORECASE,
)
# What ends a name written in a sentence; the full stop of an initial ("J. Bakker") does not.
_NAME_END = re.compile(
    r"(?:(?<!\b[A-Z])[.!?;](?:\s|$)|,\s|\s+(?:en|and|maar|but|please|graag|svp|a\.u\.b)\b)"
)
_QUOTES = "\"'“”‘’«»`"
_SUSPICIOUS = re.compile(r"https?:|www\.|@|\b[a-z0-9-]+\.(?:test|com|nl|net|org|io)\b", re.I)


@dataclass(frozen=True)
class CreditRequest:
    """What the reporter asked: `consent` with `name` (None for a refusal). `certain` is
    False when the reading may be wrong: staff must look before it counts."""

    consent: bool
    name: str | None
    certain: bool
    how: str  # "keyword" or "prose"


def credit_request(text: str) -> CreditRequest | None:
    """The reporter's answer in their own (unquoted) text, if any; the last answer counts."""
    found: CreditRequest | None = None
    for line in text.splitlines()[:MAX_LINES]:
        line = line.strip()
        if not line or line.startswith(">"):
            continue
        answer = _keyword(line) or _prose(line)
        if answer is not None:
            found = answer
    return found


def _keyword(line: str) -> CreditRequest | None:
    if _KEYWORD_NO.match(line):
        return CreditRequest(consent=False, name=None, certain=True, how="keyword")
    match = _KEYWORD_YES.match(line)
    if match is None:
        return None
    name = _clean(match.group(1))
    if not name or name.lower() in _PLACEHOLDERS:
        return None
    return CreditRequest(consent=True, name=name, certain=_plausible(name), how="keyword")


def _prose(line: str) -> CreditRequest | None:
    line = line[:1000]
    if _PROSE_NO.search(line):
        return CreditRequest(consent=False, name=None, certain=True, how="prose")
    match = _PROSE_YES_RE.search(line)
    if match is None:
        return None
    name = _clean(_NAME_END.split(match.group("name"), maxsplit=1)[0])
    if not name or name.lower() in _PLACEHOLDERS:
        return None
    # A sentence is read by a pattern, not understood: staff look at every name it yields.
    return CreditRequest(consent=True, name=name, certain=False, how="prose")


def _clean(name: str) -> str:
    printable = "".join(ch for ch in name if ch.isprintable()).strip()
    return printable.strip(_QUOTES + " ").strip()[:MAX_NAME]


def _plausible(name: str) -> bool:
    """A name, not an advertisement: no link or address, a handful of words."""
    return not _SUSPICIOUS.search(name) and len(name.split()) <= _MAX_NAME_WORDS


@dataclass(frozen=True)
class CreditChange:
    """What is done with a reporter's credit answer: applied at once, or held for staff."""

    request: CreditRequest
    authenticated: bool  # the receiving MX authenticated the sender (aligned DKIM or DMARC)
    apply: bool


def credit_change(
    request: CreditRequest | None, *, authenticated: bool, consented: bool | None
) -> CreditChange | None:
    """Whether the answer counts at once. A credit name is published in the organisation's
    name and a From address is only a claim: consent or withdrawal counts at once only from a
    mail the MX authenticated and only when it was read with certainty, or when it takes
    nothing back (a refusal where no consent was given). Anything else waits for staff to
    confirm with `#credit NAME` / `#credit withdraw`."""
    if request is None:
        return None
    harmless = not request.consent and not consented
    return CreditChange(request, authenticated, (authenticated and request.certain) or harmless)
