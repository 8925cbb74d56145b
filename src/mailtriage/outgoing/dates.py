"""Dates written out in words, in Dutch or English, for the mail we send.

The acknowledgement promises a concrete day ("uiterlijk vrijdag 4 december 2026"), so the
wording has to be right on every machine. System locales are not: a Debian host may have no
nl_NL locale, `locale.setlocale` is process-wide (unsafe in a daemon that renders both
languages), and `strftime("%A")` capitalises differently per platform. Hence our own tables.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

__all__ = ["format_date", "format_moment"]

_DAYS: dict[str, tuple[str, ...]] = {
    # Monday first, as `date.weekday()` counts. Dutch day and month names are lower case.
    "nl": ("maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}
_MONTHS: dict[str, tuple[str, ...]] = {
    "nl": (
        "januari", "februari", "maart", "april", "mei", "juni",
        "juli", "augustus", "september", "oktober", "november", "december",
    ),
    "en": (
        "January", "February", "March", "April", "May", "June",
        "July", "August", "September", "October", "November", "December",
    ),
}  # fmt: skip


def format_date(value: dt.date | dt.datetime, language: Literal["nl", "en"]) -> str:
    """'vrijdag 4 december 2026' / 'Friday 4 December 2026'.

    A datetime is shown by its own calendar date: the caller converts it to the local time
    zone first (a due moment of 23:59:59+01:00 is that day, not the next one in UTC).
    """
    if language not in _DAYS:
        raise ValueError(f"no date wording for language {language!r}")
    if isinstance(value, dt.datetime):
        value = value.date()
    if not isinstance(value, dt.date):
        raise TypeError(f"expected a date, got {type(value).__name__}")
    day = _DAYS[language][value.weekday()]
    month = _MONTHS[language][value.month - 1]
    return f"{day} {value.day} {month} {value.year}"


def format_moment(value: dt.datetime, language: Literal["nl", "en"]) -> str:
    """'donderdag 31 december 2026 23:59 (Europe/Amsterdam)': a moment written out with its
    zone by name, so nobody has to guess which midnight is meant (an embargo's end; CERT/CC
    VINCE users asked for exactly this). `value` carries the zone to show (a ZoneInfo)."""
    if value.tzinfo is None:
        raise ValueError("a moment needs a time zone")
    zone = getattr(value.tzinfo, "key", None) or value.strftime("UTC%z")
    return f"{format_date(value, language)} {value:%H:%M} ({zone})"
