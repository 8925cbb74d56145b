"""What staff record about a finding (issue 16): CVSS vectors, CWE and CVE ids, case refs,
embargo days — read and validated here, in one pure place.

Why a module of its own: these values outlive the purge (they describe the vulnerability, not
the person), end up in advisories and in other organisations' trackers, and come in by mail,
typed by hand. A wrong one is refused with a sentence that says what was expected, before
anything is applied. CVSS is scored by the maintained `cvss` library (RedHat's), not by
hand-written formulas: CVSS 4.0 scoring is a lookup over macro-vectors nobody should
re-implement.

Pure: no I/O, no logging.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from cvss import CVSS3, CVSS4
from cvss.exceptions import CVSSError

__all__ = [
    "CvssScore",
    "FindingError",
    "parse_case_ref",
    "parse_cve",
    "parse_cvss",
    "parse_cwe",
    "parse_day",
    "severity_of_rating",
]

MAX_VECTOR = 200  # a full CVSS 4.0 vector with every optional metric is about 160 characters

_CWE = re.compile(r"CWE-([1-9][0-9]{0,5})")
# CVE ids: year, then at least four digits (CVE-2014-0160, CVE-2021-44228, CVE-2026-123456).
_CVE = re.compile(r"CVE-((?:19|20)[0-9]{2})-([0-9]{4,19})")
_REF = re.compile(r"[A-Z0-9][A-Z0-9-]{0,40}-[0-9]{4}-[0-9]{4,}")
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")

# CVSS qualitative ratings (the same five words in 3.1 and 4.0) -> the desk's severities.
# "None" (score 0.0) has no counterpart: such a vector is refused (see parse_cvss).
_SEVERITY = {"low": "low", "medium": "medium", "high": "high", "critical": "critical"}


class FindingError(ValueError):
    """The value is not what the command takes; `str(error)` says why, for staff."""


@dataclass(frozen=True)
class CvssScore:
    vector: str  # as the library normalises it: "CVSS:3.1/AV:N/..."
    version: str  # "3.1" or "4.0"
    score: float  # the base score (3.1) / CVSS-B(TE) score (4.0)
    rating: str  # "Low", "Medium", "High", "Critical" (never "None": refused)

    @property
    def severity(self) -> str:
        return severity_of_rating(self.rating)


def parse_cvss(text: str) -> CvssScore:
    """A CVSS 3.1 or 4.0 vector, validated and scored, or `FindingError`.

    Metric names and values are upper-case in both specifications, so the text is
    upper-cased first (a mail client's auto-correct is the usual reason one is not). A vector
    rated None (score 0.0) is refused: it says there is no impact, the desk's severities start
    at low, and calling it low would overstate it — close the case instead, or set a
    severity by name."""
    vector = "".join(text.split()).upper()
    if len(vector) > MAX_VECTOR:
        raise FindingError(f"a CVSS vector is at most {MAX_VECTOR} characters")
    try:
        if vector.startswith("CVSS:3.1/"):
            v3 = CVSS3(vector)
            score = CvssScore(v3.clean_vector(), "3.1", float(v3.scores()[0]), v3.severities()[0])
        elif vector.startswith("CVSS:4.0/"):
            v4 = CVSS4(vector)
            score = CvssScore(v4.clean_vector(), "4.0", float(v4.base_score), str(v4.severity))
        else:
            raise FindingError(
                "a CVSS vector starts with CVSS:3.1/ or CVSS:4.0/ (older versions are not "
                "taken: give the 3.1 vector)"
            )
    except CVSSError as exc:
        raise FindingError(f"not a valid CVSS vector: {exc}") from None
    if score.rating.lower() not in _SEVERITY:
        raise FindingError(
            f"this vector scores {score.score} (rating {score.rating}): no impact, and the "
            "desk's severities start at low. Close the case, or give a severity by name"
        )
    return score


def severity_of_rating(rating: str) -> str:
    return _SEVERITY[rating.lower()]


def parse_cwe(text: str) -> str:
    """'CWE-79' (also written 'cwe-79' or '79'), or `FindingError`."""
    value = text.strip().upper()
    if value.isdigit():
        value = f"CWE-{value}"
    if not _CWE.fullmatch(value):
        raise FindingError(f"#cwe takes a weakness id like CWE-79 (got '{_echo(text)}')")
    return value


def parse_cve(text: str) -> str:
    """'CVE-2026-12345', or `FindingError`."""
    value = text.strip().upper()
    if not _CVE.fullmatch(value):
        raise FindingError(
            f"#cve takes an id like CVE-2026-12345: CVE, the year, at least four digits "
            f"(got '{_echo(text)}')"
        )
    return value


def parse_case_ref(text: str) -> str:
    """A case reference as staff type it ('pzem-sec-2026-5' is not one: give all digits)."""
    value = text.strip().strip("[]").upper()
    if not _REF.fullmatch(value):
        raise FindingError(
            f"give the reference of the case this one duplicates, like PZEM-SEC-2026-0005 "
            f"(got '{_echo(text)}')"
        )
    return value


def parse_day(text: str) -> dt.date:
    """A calendar day written YYYY-MM-DD, or `FindingError`."""
    value = text.strip()
    if not _DAY.fullmatch(value):
        raise FindingError(f"give the day as YYYY-MM-DD, like 2026-12-31 (got '{_echo(text)}')")
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise FindingError(f"there is no such day: {value}") from None


def _echo(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
