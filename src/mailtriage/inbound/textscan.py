"""Reading a report's text: its language, what it points at, and HTML turned into text.

The acknowledgement is sent in the reporter's language and asks for what the policy needs
(the affected URL or IP address, and when it happened) only when the report lacks it. Both
decisions come from this module (HTML bodies are made text first, by `htmltext`, re-exported
here). It is pure — strings in, values out — so it is tested
without fakes, and it sits apart from `message` because none of it needs a parser.

Everything here runs on text an attacker wrote, up to a megabyte on a single line, once per
incoming mail: every pattern is written so the regex engine cannot backtrack over more than
a bounded window (possessive quantifiers, bounded repeats, look-behinds that forbid a match
from starting inside a run), and what a pattern finds is validated in Python afterwards.
Each pattern opens with a one-character look-ahead: the engine rejects most positions on
that alone, which makes punctuation-heavy text several times cheaper to scan.
"""

from __future__ import annotations

import ipaddress
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from mailtriage.inbound.htmltext import html_to_text

__all__ = [
    "Indicators",
    "Language",
    "detect_language",
    "extract_indicators",
    "html_to_text",
]

Language = Literal["nl", "en", "unsure"]


def _word_set(text: str) -> frozenset[str]:
    return frozenset(text.split())


MAX_ITEMS = 50  # per indicator list; a report naming more targets than this is not helped by more
MAX_URL_CHARS = 2048
# Candidates looked at per kind: bounds the validation work on text made of near-misses.
_MAX_CANDIDATES = 5_000
_LANGUAGE_SCAN_CHARS = 100_000  # the opening of a report decides its language


@dataclass(frozen=True)
class Indicators:
    """What the policy asks a reporter for, as found in the text."""

    urls: tuple[str, ...] = ()
    hosts: tuple[str, ...] = ()
    ipv4: tuple[str, ...] = ()
    ipv6: tuple[str, ...] = ()
    datetimes: tuple[str, ...] = ()  # dates and times mentioned, as written

    @property
    def has_target(self) -> bool:
        return bool(self.urls or self.hosts or self.ipv4 or self.ipv6)

    @property
    def has_time(self) -> bool:
        return bool(self.datetimes)


# --------------------------------------------------------------------------- language

# Function words that are frequent in one language and rare in the other. Words shared by
# Dutch and English ("is", "in", "of", "was", "we", "over") are left out: they say nothing.
_DUTCH = _word_set(
    """
    de het een en van ik je jij dat niet met voor zijn er maar om aan ook als bij nog wel naar
    kan kunt dan heb hebt heeft hebben deze wat geen worden wordt werd uw u wij ze onze ons mijn
    jullie daar graag zou zouden kunnen moet moeten door uit tot hoe waar omdat welke dit zich
    al nu sinds op te hun haar toe mee want echter tijdens bent ben wordt waarbij hierbij
    groet groeten vriendelijke beste geachte bedankt alvast mvg kwetsbaarheid gevonden melding
    beveiligingslek lek kwetsbaar website's inloggen gegevens
    """
)
_ENGLISH = _word_set(
    """
    the and to a it that this with for you your are be have has not on at by from or an will
    can would could should there their they which what when where how i my our us me if so but
    do does did been were any all about into than then also only just some these those its
    dear regards thanks thank please hello hi found vulnerability issue affected allows
    attacker able discovered
    """
)
# German and French are the likeliest "neither" on a Dutch mailbox; their function words
# keep a German report from being read as Dutch on a handful of shared spellings.
_OTHER = _word_set(
    """
    der das und ist nicht ich sie es ein eine einen zu den mit sich des auf für im dem auch
    wird werden wir haben bei oder nach wenn sind noch aus einer über kann diese durch bitte
    sehr geehrte grüße freundlichen vielen dank ihre ihr ihnen uns unser wurde dass
    le la les et est une des du que qui pour pas dans sur avec ce il nous vous je au aux ne
    sont été mais ou par plus cette votre vos bonjour merci cordialement madame monsieur
    el los las y es una para con por del como pero más este esta usted gracias
    """
)
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")


def detect_language(text: str) -> Language:
    """Return "nl" or "en" when the text is clearly one of them, else "unsure".

    Short texts (fewer than 8 words), texts mixing both languages in similar measure, and
    texts in another language all come back "unsure": the caller then answers in both.
    """
    words = _WORD.findall(text[:_LANGUAGE_SCAN_CHARS].lower())
    if len(words) < 8:
        return "unsure"
    dutch = english = other = 0
    for word in words:
        if word in _DUTCH:
            dutch += 1
        if word in _ENGLISH:
            english += 1
        if word in _OTHER:
            other += 1
    best, second = max(dutch, english), min(dutch, english)
    # A report is mostly words of its own language; under ~1 in 10 function words it is
    # code, logs or a third language, and guessing would answer in the wrong one.
    if best < 3 or best < 0.08 * len(words) or other >= best:
        return "unsure"
    if second * 2 > best:
        return "unsure"  # genuinely bilingual
    return "nl" if dutch > english else "en"


# --------------------------------------------------------------------------- indicators

# Top-level domains accepted for a bare host name. A closed list keeps "report.pdf" and
# "config.json" out; URLs need no list because their scheme already says "this is a host".
_GENERIC_TLDS = _word_set(
    """
    com net org info biz edu gov mil int arpa name pro aero coop museum mobi asia tel travel
    jobs app dev io ai co me tv cloud online site tech store shop xyz top club live blog news
    email company group services solutions digital network systems energy amsterdam frl
    brussels vlaanderen berlin london paris eus cat page link click website space fun icu
    work one global agency bank insurance support host hosting server security software
    portal today world life media studio center codes tools
    test example invalid localhost local internal lan intranet corp home
    """
)
# Country codes, minus those that are also everyday file extensions (listed below: a
# three-label name such as www.example.pl still counts, "setup.py" does not).
_COUNTRY_TLDS = _word_set(
    """
    ac ad ae af ag al am ao aq ar as at au aw ax az ba bb bd be bf bg bh bi bj bm bn bo br bs
    bt bw by bz ca cd cf cg ch ci ck cl cm cn cr cu cv cw cx cy cz de dj dk dm do dz ec ee eg
    er es et eu fi fj fk fm fo fr ga gd ge gf gg gh gi gl gm gn gp gq gr gs gt gu gw gy hk hm
    hn hr ht hu id ie il im in iq ir is it je jm jo jp ke kg kh ki km kn kp kr kw ky kz la lb
    lc li lk lr ls lt lu lv ly ma mc me mg mh mm mn mp mq mr mt mu mv mw mx my mz na nc ne
    nf ng ni nl no np nr nu nz om pa pe pf pg ph pk pn pr pt pw qa re ro ru rw sa sb sc sd se
    sg si sj sk sl sm sn sr ss st su sv sx sy sz tc td tf tg th tj tk tl tm tn to tr tt tw tz
    ua ug uk us uy uz va vc ve vg vi vn vu wf ws ye yt za zm zw
    """
)
_FILE_LIKE_TLDS = _word_set("py pl sh md rs so ps mo ml cc pm mk gz zip mov")

_URL = re.compile(
    r"(?=[hf])(?<![\w.])(?:https?|hxxps?|ftp)(?::|\[:\])//"
    r"(?:\[[0-9a-f:.]{2,45}\])?"  # an IPv6 literal host
    # Brackets end a URL ("[https://…][1]") unless they defang a dot: "example[.]nl".
    rf"(?:[^\s<>\"'`{{}}|\\^\[\]]|\[(?:\.|dot)\]){{1,{MAX_URL_CHARS}}}+",
    re.IGNORECASE,
)
# A run of name characters with at least one dot. Starts are refused inside a run (look-
# behind) and the run is possessive, so a megabyte of "a.a.a." is one linear pass.
# Latin, Greek and Cyrillic letters only: scripts written without spaces (CJK) would glue
# a host name to the sentence around it.
_NAME = r"0-9A-Za-z_\u00c0-\u024f\u0370-\u03ff\u0400-\u04ff-"
_HOST = re.compile(rf"(?=[{_NAME}])(?<![{_NAME}.@])[{_NAME}]++(?:\.[{_NAME}]++)++(?!@)")
_LABEL = re.compile(r"[^\W_](?:[\w-]{0,61}[^\W_])?")
_TLD = re.compile(r"[^\W\d_]{2,24}|xn--[a-z0-9-]{1,59}")
_IPV4 = re.compile(r"(?=\d)(?<![\d.])\d{1,3}(?:\.\d{1,3}){3}(?!\.?\d)")
_IPV6 = re.compile(r"(?=[0-9a-f:])(?<![\w:.])[0-9a-f:][0-9a-f:.]{1,44}+(?![\w:.])", re.IGNORECASE)
_DEFANGED_DOT = re.compile(r"\[\.\]|\(\.\)|\{\.\}|\[dot\]|\(dot\)", re.IGNORECASE)

_MONTHS = (
    # Full names before abbreviations: alternation takes the first that fits.
    "januari|februari|maart|april|mei|juni|juli|augustus|september|oktober|november|december|"
    "january|february|march|may|june|july|august|october|"
    "jan|feb|mrt|mar|apr|jun|jul|aug|sept|sep|okt|oct|nov|dec"
)
_DAY = r"(?:3[01]|[12]\d|0?[1-9])"
_YEAR = r"(?:19|20)\d\d"
# "4 dec. 2026" keeps its dot; "before 5 december." does not take the full stop.
_ABBREVIATION_DOT = r"(?:\.(?=[ \t]{1,3}\d))?"
_CLOCK = r"(?:[01]?\d|2[0-3])[:][0-5]\d(?::[0-5]\d(?:[.,]\d{1,9})?)?"
_DATETIME = re.compile(
    r"(?=[0-9a-z])(?<![\w/.:-])(?:"
    # ISO 8601 date, optionally with a time and zone
    rf"(?P<iso>{_YEAR}([-/])(?:0?[1-9]|1[0-2])\2{_DAY}"
    rf"(?:[T ]{_CLOCK}(?:[ ]?(?:Z|UTC|[+-](?:[01]\d|2[0-3]):?[0-5]\d))?)?)(?![\d])"
    # 04-12-2026, 4/12/2026, 04.12.2026 (also month-first; both are "a date")
    r"|(?P<num>(?P<a>\d{1,2})([-/.])(?P<b>\d{1,2})\5" + _YEAR + r")(?![\d])"
    # 4 december 2026, 4th Dec., 4 mei
    rf"|(?P<dmy>{_DAY}(?:st|nd|rd|th|e|de|ste)?\.?[ \t]{{1,3}}(?:{_MONTHS})\b{_ABBREVIATION_DOT}"
    rf"(?:,?[ \t]{{1,3}}{_YEAR}(?![\d]))?)"
    # December 4, 2026 / december 2026
    rf"|(?P<mdy>(?:{_MONTHS})\b{_ABBREVIATION_DOT}[ \t]{{1,3}}(?:{_DAY}(?:st|nd|rd|th)?(?![\d])"
    rf"(?:,?[ \t]{{1,3}}{_YEAR}(?![\d]))?|{_YEAR}(?![\d])))"
    # 14.05 uur, 14:05 uur
    r"|(?P<uur>(?:[01]?\d|2[0-3])[.:][0-5]\d[ \t]?uur\b)"
    # 14:05, 14:05:33
    rf"|(?P<time>{_CLOCK})(?![\d:]|\.\d)"
    r")",
    re.IGNORECASE,
)
_SPACES = re.compile(r"\s+")


def extract_indicators(text: str) -> Indicators:
    """URLs, host names, IPv4 and IPv6 addresses, and dates/times mentioned in `text`.

    Each list keeps first-seen order without duplicates and holds at most MAX_ITEMS. URLs and
    dates are returned as written; host names lower-cased; IP addresses in canonical form.
    Defanged forms ("hxxp://", "example[.]nl") are recognised.
    """
    urls = _Collector()
    hosts = _Collector()
    for match in _limited(_URL.finditer(text)):
        url = _trim_url(match.group())
        if urls.add(url, url):
            host = _url_host(url)
            if host:
                hosts.add(host, host)
        if urls.full:
            break

    # Defanged dots are read as dots for names and addresses; the replacement is linear.
    plain = _DEFANGED_DOT.sub(".", text) if "[" in text or "(" in text or "{" in text else text

    for match in _limited(_HOST.finditer(plain)):
        if hosts.full:
            break
        host = _valid_host(match.group())
        if host:
            hosts.add(host, host)

    ipv4 = _Collector()
    for match in _limited(_IPV4.finditer(plain)):
        try:
            address = str(ipaddress.IPv4Address(match.group()))
        except ValueError:
            continue
        ipv4.add(address, address)
        if ipv4.full:
            break

    ipv6 = _Collector()
    for match in _limited(_IPV6.finditer(plain)):
        candidate = match.group().rstrip(".")
        if candidate.count(":") < 2 or candidate == "::":
            continue
        try:
            address = str(ipaddress.IPv6Address(candidate))
        except ValueError:
            continue
        ipv6.add(address, address)
        if ipv6.full:
            break

    datetimes = _Collector()
    for match in _limited(_DATETIME.finditer(text)):
        if match.group("num") and not _plausible_numeric_date(match):
            continue
        written = _SPACES.sub(" ", match.group()).strip()
        datetimes.add(written.lower(), written)
        if datetimes.full:
            break

    return Indicators(
        urls=urls.items(),
        hosts=hosts.items(),
        ipv4=ipv4.items(),
        ipv6=ipv6.items(),
        datetimes=datetimes.items(),
    )


def _limited(matches: Iterator[re.Match[str]]) -> Iterator[re.Match[str]]:
    return itertools.islice(matches, _MAX_CANDIDATES)


class _Collector:
    """Ordered, de-duplicated, capped."""

    def __init__(self) -> None:
        self._seen: dict[str, str] = {}

    @property
    def full(self) -> bool:
        return len(self._seen) >= MAX_ITEMS

    def add(self, key: str, value: str) -> bool:
        if not value or self.full or key in self._seen:
            return False
        self._seen[key] = value
        return True

    def items(self) -> tuple[str, ...]:
        return tuple(self._seen.values())


def _trim_url(url: str) -> str:
    # Sentence punctuation and the closing bracket of "(see https://…)" are not the URL's.
    while url:
        last = url[-1]
        unbalanced = (last == ")" and url.count("(") < url.count(")")) or (
            last == "]" and url.count("[") < url.count("]")
        )
        if last in ".,;:!?*" or unbalanced:
            url = url[:-1]
        else:
            break
    return url


def _url_host(url: str) -> str | None:
    rest = url.split("//", 1)[1] if "//" in url else ""
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0]
    authority = authority.rpartition("@")[2]
    if authority.startswith("["):
        return None  # an IPv6 literal; the address scan reports it
    host = _DEFANGED_DOT.sub(".", authority).split(":", 1)[0]
    return _valid_host(host, strict_tld=False)


def _valid_host(token: str, *, strict_tld: bool = True) -> str | None:
    host = token.strip(".-").lower()
    if len(host) > 253 or "." not in host:
        return None
    labels = host.split(".")
    tld = labels[-1]
    if not all(_LABEL.fullmatch(label) for label in labels) or not _TLD.fullmatch(tld):
        return None
    if strict_tld:
        if tld in _FILE_LIKE_TLDS:
            if len(labels) < 3:
                return None
        elif tld not in _GENERIC_TLDS and tld not in _COUNTRY_TLDS and not tld.startswith("xn--"):
            return None
    return host


def _plausible_numeric_date(match: re.Match[str]) -> bool:
    first, second = int(match.group("a")), int(match.group("b"))
    day_first = 1 <= first <= 31 and 1 <= second <= 12
    month_first = 1 <= first <= 12 and 1 <= second <= 31
    return day_first or month_first
