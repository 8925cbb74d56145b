"""The monthly figures to staff: last month's numbers, with the two charts attached.

Queued by the jobs on the first working day of a month with only the month's name; the
figures and charts are computed when the mail is composed, from the same store query and
pure computation as `mailtriage report` (`store/figures.py`, `policy/metrics.py`), so the
mail and the command never disagree. The charts cover the last twelve months up to the
reported one (fewer when the desk is younger), so a trend is visible.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass

from mailtriage.outgoing.charts import first_assessment_chart, outcomes_chart
from mailtriage.outgoing.compose import OutgoingFile
from mailtriage.outgoing.mailkinds._base import LetterError, MailKind, Payload, Source
from mailtriage.policy.metrics import MonthFigures
from mailtriage.store.figures import report_months

CHART_MONTHS = 12


@dataclass(frozen=True)
class MonthlyPayload(Payload):
    month: str  # YYYY-MM
    month_name: str  # "November 2026"
    figures: MonthFigures
    promise_workdays: int
    chart_months: tuple[MonthFigures, ...]  # the months the charts show, oldest first


class StaffMonthlyReport(MailKind[MonthlyPayload]):
    name = "staff_monthly_report"
    audience = "staff"
    guard = "none"
    forms = ("en",)

    def build(self, source: Source) -> MonthlyPayload:
        month = str(source.saved.get("month", ""))
        try:
            year, number = (int(part) for part in month.split("-"))
            last_day = dt.date(year, number, calendar.monthrange(year, number)[1])
        except ValueError as exc:
            raise LetterError(f"{self.name}: not a month: {month!r}") from exc
        months = report_months(source.session, source.config.deadlines, source.now, None, last_day)
        this = [m for m in months if m.month == month]
        figures = this[0] if this else MonthFigures(month=month)
        return MonthlyPayload(
            month=month,
            month_name=f"{calendar.month_name[number]} {year}",
            figures=figures,
            promise_workdays=source.config.deadlines.first_response_workdays,
            chart_months=tuple(months[-CHART_MONTHS:]) or (figures,),
        )

    def files(self, source: Source, payload: MonthlyPayload) -> list[OutgoingFile]:
        months = list(payload.chart_months)
        return [
            OutgoingFile(f"reports-{payload.month}.png", "image/png", outcomes_chart(months)),
            OutgoingFile(
                f"first-assessment-{payload.month}.png",
                "image/png",
                first_assessment_chart(months, payload.promise_workdays),
            ),
        ]


KINDS = (StaffMonthlyReport,)
