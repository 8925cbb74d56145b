"""`mailtriage report` (issue 17): the desk's own figures per month of receipt, exactly.

A store is built here with timings chosen by hand (a real SQLite store through the real
migrations; rows written as the desk writes them, one of them already purged), and the
figures `report --json` and `--csv` print are compared with values worked out below, in
working days on the Dutch calendar (November 2026 has no public holiday).
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

from mailtriage.policy.metrics import median, p90
from mailtriage.service.cli import main
from mailtriage.store.models import MessageStatus
from tests.support.clock import FakeClock, local
from tests.support.figures import NOW, Builder


@pytest.mark.parametrize(
    ("values", "expected_median", "expected_p90"),
    [
        ([7], 7, 7),
        ([1, 2, 3, 4, 5, 10], 3.5, 10),  # rank ceil(5.4) = 6
        ([1, 3, 3, 6], 3, 6),  # rank ceil(3.6) = 4
        ([4, 4, 5], 4, 5),  # rank ceil(2.7) = 3
        (list(range(1, 11)), 5.5, 9),  # rank ceil(9.0) = 9: 90 % of ten values are <= 9
        (list(range(1, 12)), 6, 10),  # rank ceil(9.9) = 10
    ],
)
def test_median_is_the_middle_and_p90_the_nearest_rank(
    values: list[float], expected_median: float, expected_p90: float
) -> None:
    assert median(values) == expected_median
    assert p90(list(reversed(values))) == expected_p90


def test_no_values_give_no_figure() -> None:
    assert median([]) is None and p90([]) is None


@pytest.fixture
def desk(tmp_path: Path) -> Builder:
    b = Builder(tmp_path)
    # October: one report, already purged (its figures must survive that), and one bounce.
    b.case(
        local(2026, 10, 29, 14, 0),
        ack_minutes=30,
        answered=local(2026, 10, 30, 11, 0),  # 1 working day
        closed=local(2026, 11, 2, 9, 0),  # Fri 30, Mon 2: 2 working days
        reason="informative",
        purged=True,
    )
    b.automated(local(2026, 10, 20, 3, 0), MessageStatus.PURGED)
    # November. A: answered the next day, closed fixed after 4 working days.
    b.case(
        local(2026, 11, 2, 9, 0),
        ack_minutes=1,
        answered=local(2026, 11, 3, 15, 0),
        closed=local(2026, 11, 6, 12, 0),
        reason="fixed",
    )
    # B: answered after 3 working days, closed fixed after 4.
    b.case(
        local(2026, 11, 2, 10, 0),
        ack_minutes=3,
        answered=local(2026, 11, 5, 9, 0),
        closed=local(2026, 11, 6, 16, 0),
        reason="fixed",
    )
    # C (Wednesday): Thu 5, Fri 6, Mon 9 = 3 working days; closed as duplicate Wed 11 = 5.
    b.case(
        local(2026, 11, 4, 12, 0),
        ack_minutes=2,
        answered=local(2026, 11, 9, 10, 0),
        closed=local(2026, 11, 11, 10, 0),
        reason="duplicate",
    )
    # D (Friday): due end of Friday 13; answered Monday 16 = 6 working days: late, open.
    b.case(local(2026, 11, 6, 16, 0), ack_minutes=10, answered=local(2026, 11, 16, 9, 0))
    # E: due end of Monday 16, never answered: overdue now, counts against the promise.
    b.case(local(2026, 11, 9, 8, 0), ack_minutes=5)
    # F: due Monday 7 December, not yet: open, not overdue, not counted for the promise.
    b.case(local(2026, 11, 30, 9, 0), ack_minutes=4)
    # A redirected mail and three automated ones.
    b.case(local(2026, 11, 10, 9, 0), category="redirect", closed=local(2026, 11, 10, 9, 1),
           reason="redirected")  # fmt: skip
    for day in (3, 14, 28):
        b.automated(local(2026, 11, day, 22, 0))
    return b


OCTOBER = {
    "month": "2026-10",
    "reports": 1,
    "redirected": 0,
    "automated": 1,
    "acknowledgement_minutes_median": 30.0,
    "acknowledgement_minutes_p90": 30.0,
    "first_assessment_workdays_median": 1.0,
    "first_assessment_workdays_p90": 1.0,
    "close_workdays_median": 2.0,
    "close_workdays_p90": 2.0,
    "first_assessment_within_promise": 1.0,
    "open": 0,
    "overdue": 0,
    "outcomes": {
        "open": 0,
        "fixed": 0,
        "duplicate": 0,
        "not-applicable": 0,
        "informative": 1,
        "spam": 0,
    },
}
NOVEMBER = {
    "month": "2026-11",
    "reports": 6,
    "redirected": 1,
    "automated": 3,
    # minutes 1, 3, 2, 10, 5, 4 -> sorted 1 2 3 4 5 10: median (3 + 4) / 2, p90 rank 6
    "acknowledgement_minutes_median": 3.5,
    "acknowledgement_minutes_p90": 10.0,
    # working days 1, 3, 3, 6: median (3 + 3) / 2, p90 rank ceil(3.6) = 4
    "first_assessment_workdays_median": 3.0,
    "first_assessment_workdays_p90": 6.0,
    # working days 4, 4, 5 (the redirect is no report): median 4, p90 rank 3
    "close_workdays_median": 4.0,
    "close_workdays_p90": 5.0,
    # decided: A, B, C, D (answered) and E (past due); kept: A, B, C -> 3 / 5
    "first_assessment_within_promise": 0.6,
    "open": 3,  # D, E, F
    "overdue": 1,  # E
    "outcomes": {
        "open": 3,
        "fixed": 2,
        "duplicate": 1,
        "not-applicable": 0,
        "informative": 0,
        "spam": 0,
    },
}


def test_report_json_gives_the_hand_computed_figures(desk: Builder) -> None:
    document: dict[str, Any] = json.loads(desk.report("--json", "--to", "2026-11-30"))
    assert document["first_response_workdays"] == 5
    assert document["months"] == [OCTOBER, NOVEMBER]


def test_without_a_range_the_report_runs_from_the_first_receipt_to_today(desk: Builder) -> None:
    months = json.loads(desk.report("--json"))["months"]
    assert months[:2] == [OCTOBER, NOVEMBER]
    assert months[2]["month"] == "2026-12" and months[2]["reports"] == 0


def test_from_and_to_choose_the_days_of_receipt(desk: Builder) -> None:
    only_november = json.loads(desk.report("--json", "--from", "2026-11-01", "--to", "2026-11-30"))[
        "months"
    ]
    assert only_november == [NOVEMBER]
    first_week = json.loads(desk.report("--json", "--from", "2026-11-01", "--to", "2026-11-06"))
    (week,) = first_week["months"]
    assert (week["reports"], week["automated"]) == (4, 1)  # A, B, C, D; the bounce of the 3rd


def test_report_csv_has_one_row_per_month_with_the_same_figures(desk: Builder) -> None:
    rows = list(csv.DictReader(io.StringIO(desk.report("--csv", "--to", "2026-11-30"))))
    assert [r["month"] for r in rows] == ["2026-10", "2026-11"]
    november = rows[1]
    assert november["acknowledgement_minutes_median"] == "3.5"
    assert november["first_assessment_within_promise"] == "0.6"
    assert november["outcome_fixed"] == "2" and november["outcome_open"] == "3"
    assert rows[0]["overdue"] == "0"


def test_an_empty_month_between_two_is_listed_with_zeros(tmp_path: Path) -> None:
    b = Builder(tmp_path)
    b.case(local(2026, 9, 1, 9, 0), ack_minutes=1)
    b.case(local(2026, 11, 2, 9, 0), ack_minutes=1)
    months = json.loads(b.report("--json", "--to", "2026-11-30"))["months"]
    assert [m["month"] for m in months] == ["2026-09", "2026-10", "2026-11"]
    assert months[1]["reports"] == 0 and months[1]["acknowledgement_minutes_median"] is None
    assert months[1]["first_assessment_within_promise"] is None


def test_the_text_table_names_each_month(desk: Builder) -> None:
    text = desk.report()
    assert "2026-10" in text and "2026-11" in text and "60%" in text


def test_a_page_that_cannot_be_written_is_one_line_and_exit_1(
    desk: Builder, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "no-such-folder" / "report.html"
    code = main(
        ["--config", str(desk.config_path), "report", "--html", str(missing)], clock=FakeClock(NOW)
    )
    assert code == 1
    err = capsys.readouterr().err
    assert err.startswith("mailtriage: error: cannot write") and err.count("\n") == 1
