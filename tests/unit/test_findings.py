"""What staff record about a finding, read and checked before anything is applied (issue 16):
CVSS vectors scored by the `cvss` library, CWE and CVE ids, case references, embargo days;
and the pure pieces around them: when a duplicate may be purged, how a large set of files is
split over mails, the working day of an embargo reminder."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from mailtriage.config import DeadlinesConfig
from mailtriage.desk.duplicates import purge_start
from mailtriage.desk.embargoes import workdays_before
from mailtriage.outgoing.casefiles import MAIL_OVERHEAD, _unique, split
from mailtriage.outgoing.dates import format_moment
from mailtriage.policy.findings import (
    FindingError,
    parse_case_ref,
    parse_cve,
    parse_cvss,
    parse_cwe,
    parse_day,
)
from mailtriage.policy.workdays import Calendar
from mailtriage.store.models import Case

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
T0 = dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("vector", "version", "score", "severity"),
    [
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "3.1", 9.8, "critical"),
        ("cvss:3.1/av:n/ac:h/pr:l/ui:r/s:u/c:l/i:n/a:n", "3.1", 2.6, "low"),
        ("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:L/VI:N/VA:N/SC:N/SI:N/SA:N", "4.0", 6.9, "medium"),
        ("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", "4.0", 9.3, "critical"),
    ],
)
def test_a_cvss_vector_is_scored_and_its_rating_is_the_severity(
    vector: str, version: str, score: float, severity: str
) -> None:
    parsed = parse_cvss(vector)
    assert (parsed.version, parsed.score, parsed.severity) == (version, score, severity)
    assert parsed.vector == parsed.vector.upper()


@pytest.mark.parametrize(
    ("vector", "why"),
    [
        ("CVSS:3.1/AV:N/AC:L", "not a valid CVSS vector"),
        ("CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "not a valid CVSS vector"),
        ("CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "CVSS:3.1/ or CVSS:4.0/"),
        ("AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "CVSS:3.1/ or CVSS:4.0/"),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N", "no impact"),
        ("CVSS:3.1/" + "AV:N/" * 100, "at most"),
    ],
)
def test_a_vector_that_does_not_parse_or_scores_none_is_refused(vector: str, why: str) -> None:
    with pytest.raises(FindingError, match=why):
        parse_cvss(vector)


def test_cwe_cve_and_references() -> None:
    assert parse_cwe("cwe-79") == parse_cwe("79") == "CWE-79"
    assert parse_cve(" cve-2026-12345 ") == "CVE-2026-12345"
    assert parse_case_ref("[pzem-sec-2026-0005]") == "PZEM-SEC-2026-0005"
    for bad in ("XSS", "CWE-", "CWE-0", "CWE-79x"):
        with pytest.raises(FindingError, match="CWE-79"):
            parse_cwe(bad)
    for bad in ("CVE-26-1", "CVE-2026-123", "2026-12345", "CVE-2026-1234x"):
        with pytest.raises(FindingError, match="CVE-2026-12345"):
            parse_cve(bad)
    with pytest.raises(FindingError):
        parse_case_ref("the other one")


def test_days() -> None:
    assert parse_day("2026-12-31") == dt.date(2026, 12, 31)
    with pytest.raises(FindingError, match="YYYY-MM-DD"):
        parse_day("31-12-2026")
    with pytest.raises(FindingError, match="no such day"):
        parse_day("2026-02-30")


def test_a_moment_is_written_out_with_its_zone_by_name() -> None:
    end = dt.datetime(2026, 12, 31, 23, 59, 59, tzinfo=AMSTERDAM)
    assert format_moment(end, "nl") == "donderdag 31 december 2026 23:59 (Europe/Amsterdam)"
    assert format_moment(end, "en") == "Thursday 31 December 2026 23:59 (Europe/Amsterdam)"


def test_reminders_count_working_days_back_past_christmas() -> None:
    calendar = Calendar.from_config(DeadlinesConfig())
    end = dt.date(2026, 12, 31)
    assert workdays_before(calendar, end, 2) == dt.date(2026, 12, 29)
    assert workdays_before(calendar, end, 10) == dt.date(2026, 12, 16)


def _case(ref: str, **fields: object) -> Case:
    return Case(ref=ref, state=fields.pop("state", "closed"), **fields)


def test_a_duplicate_is_purged_only_after_its_reporter_heard_of_the_fix() -> None:
    original = _case("O", state="fixing")
    duplicate = _case("D", closed_at=T0, duplicate_of=original)
    assert purge_start(duplicate) is None  # still waiting to be told
    later = T0 + dt.timedelta(days=30)
    duplicate.resolved_notice_at = later
    assert purge_start(duplicate) == later  # the erasure date the closing notice named
    other = _case("D2", closed_at=T0, duplicate_of=_case("O2", closed_at=later))
    assert purge_start(other) == later  # closed for another reason: nothing left to tell
    assert purge_start(_case("X", closed_at=T0)) == T0


def test_files_are_split_to_stay_under_the_mail_size() -> None:
    limit = MAIL_OVERHEAD + 300_000
    assert split([], limit) == [[]]
    assert split([100, 100], limit) == [[0, 1]]
    assert split([150_000, 150_000, 10], limit) == [[0], [1, 2]]
    assert split([10, 5_000_000, 10], limit) == [[0], [1], [2]]  # too large alone goes alone


def test_names_are_made_unique() -> None:
    taken = {"report.txt", "poc.py"}
    assert _unique("report.txt", taken) == "report (2).txt"
    assert _unique("poc.py", taken | {"poc (2).py"}) == "poc (3).py"
    assert _unique("README", {"README"}) == "README (2)"
    assert _unique("new.py", taken) == "new.py"
