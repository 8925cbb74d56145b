"""The Dutch public holidays by name, as the `holidays` package knows them.

Apart from `workdays.py` because the configuration needs it too: `deadlines.holidays_exclude`
is checked against these names when the config is loaded (a typo would silently keep a day
closed), and the config sits below the calendar that reads it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from types import MappingProxyType

LIBERATION_DAY_NL = "Bevrijdingsdag"
LIBERATION_DAY_KEYS = frozenset({"bevrijdingsdag", "liberation day"})

# Operators write the English names they know, which are not always the package's.
_ALIASES = {
    "whit sunday": "pentecost",
    "whit monday": "pentecost monday",
    "boxing day": "second day of christmas",
}

# Years whose holidays define the names `holidays_exclude` may use: a lustrum year, so that
# Bevrijdingsdag is among them, and recent enough to have Koningsdag, not Koninginnedag.
_NAME_SAMPLE_YEARS = (2025, 2026)


def normalise_holiday_name(name: str) -> str:
    """The form in which holiday names are compared: case- and apostrophe-insensitive.

    "Goede Vrijdag" (the contract's spelling) must match the package's "Goede vrijdag", and
    "King’s Day" typed on a phone must match "King's Day".
    """
    key = " ".join(name.replace("\u2019", "'").replace("`", "'").split()).casefold()
    return _ALIASES.get(key, key)


@dataclass(frozen=True)
class Holiday:
    name: str  # Dutch, as staff see it in a "closed because" message
    keys: frozenset[str]  # normalised names (Dutch and English) that exclude it


@cache
def holidays_in(year: int) -> Mapping[dt.date, tuple[Holiday, ...]]:
    """The package's Dutch public holidays of `year`, each known by its Dutch and English name.

    A plain read-only mapping is cached rather than the HolidayBase itself, because looking up
    a date of another year in a HolidayBase silently extends it: a cached one would be mutated.
    """
    # Imported here, not at module level: every config load imports this module, and the
    # package (with its country tables) costs tens of milliseconds that the read-only
    # commands, which compute no deadline, should not pay at start-up.
    import holidays

    dutch = holidays.country_holidays("NL", years=year, language="nl")
    english = holidays.country_holidays("NL", years=year, language="en_US")
    table: dict[dt.date, tuple[Holiday, ...]] = {}
    for day in sorted(dutch):
        nl_names = dutch.get_list(day)
        en_names = english.get_list(day)
        if len(nl_names) == len(en_names):
            # Both lists come from the same definitions in the same order.
            pairs = [(nl, {nl, en}) for nl, en in zip(nl_names, en_names, strict=True)]
        else:  # pragma: no cover - a translation mismatch in some future package version
            pairs = [(nl, {nl, *en_names}) for nl in nl_names]
        table[day] = tuple(
            Holiday(nl, frozenset(normalise_holiday_name(n) for n in names)) for nl, names in pairs
        )
    return MappingProxyType(table)


@cache
def known_holiday_names() -> frozenset[str]:
    """Every normalised name `holidays_exclude` can match (Dutch and English)."""
    names: set[str] = set(LIBERATION_DAY_KEYS)
    for year in _NAME_SAMPLE_YEARS:
        for day_holidays in holidays_in(year).values():
            for holiday in day_holidays:
                names |= holiday.keys
    return frozenset(names)


def unknown_holiday_names(names: Iterable[str]) -> tuple[str, ...]:
    """The entries of a `holidays_exclude` list that name no holiday, for config validation.

    Without this check a typo ("Goede Vrijdg") would silently leave the day closed and every
    deadline around it a day later than the operator intended.
    """
    names = tuple(names)
    if not names:
        return ()  # the usual config: nothing to check, so the holiday tables stay unbuilt
    known = known_holiday_names()
    return tuple(name for name in names if normalise_holiday_name(name) not in known)
