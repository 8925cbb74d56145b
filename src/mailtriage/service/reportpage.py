"""`mailtriage report --html FILE`: one self-contained page with the table and the charts.

Self-contained means it can be mailed, archived or opened offline and still show everything:
the CSS is inline, the charts are PNGs in `data:` URIs, and a Content-Security-Policy lets
the browser load nothing else (no fonts, no scripts, no images from anywhere), so opening it
never tells anyone it was opened.

The charts sit at fixed places at the top (each exactly `CHART_WIDTH` x `CHART_HEIGHT` CSS
pixels below a header of `HEADER_HEIGHT`), the table below them: a screenshot test can look
for them where they must be.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Sequence

from jinja2 import Environment, select_autoescape

from mailtriage.outgoing.charts import DPI, HEIGHT_INCHES, WIDTH_INCHES
from mailtriage.policy.metrics import MonthFigures

CHART_WIDTH = int(WIDTH_INCHES * DPI)
CHART_HEIGHT = int(HEIGHT_INCHES * DPI)
HEADER_HEIGHT = 60

COLUMNS: tuple[tuple[str, str], ...] = (
    ("month", "Month"),
    ("reports", "Reports"),
    ("redirected", "Redirected"),
    ("automated", "Automated"),
    ("acknowledgement_minutes_median", "Ack. median (min)"),
    ("acknowledgement_minutes_p90", "Ack. p90 (min)"),
    ("first_assessment_workdays_median", "1st assessment median (wd)"),
    ("first_assessment_workdays_p90", "1st assessment p90 (wd)"),
    ("first_assessment_within_promise", "Within promise"),
    ("close_workdays_median", "Close median (wd)"),
    ("close_workdays_p90", "Close p90 (wd)"),
    ("open", "Open"),
    ("overdue", "Overdue"),
)

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy"
 content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">
<title>{{ title }}</title>
<style>
body { margin: 0; font-family: sans-serif; color: #222; background: #fff; }
header { height: {{ header_height }}px; box-sizing: border-box; padding: 8px 12px; }
h1 { margin: 0; font-size: 20px; }
header p { margin: 4px 0 0; font-size: 12px; color: #555; }
img.chart { display: block; width: {{ width }}px; height: {{ height }}px; margin: 0; }
table { border-collapse: collapse; margin: 16px 12px; font-size: 12px; }
th, td { border: 1px solid #ccc; padding: 3px 6px; text-align: right; }
td { white-space: nowrap; }
th:first-child, td:first-child { text-align: left; }
footer { margin: 0 12px 16px; font-size: 11px; color: #555; max-width: 780px; }
</style>
</head>
<body>
<header>
<h1>{{ title }}</h1>
<p>{{ span }}; generated {{ generated }}; promise: first assessment within {{ promise }}
working days.</p>
</header>
<img class="chart" id="outcomes" alt="Reports per month by outcome" src="{{ outcomes_src }}">
<img class="chart" id="first-assessment" alt="Working days to first assessment against the
 promise" src="{{ assessment_src }}">
<table>
<thead><tr>{% for key, label in columns %}<th>{{ label }}</th>{% endfor %}</tr></thead>
<tbody>
{% for row in rows %}
<tr>{% for key, label in columns %}<td>{{ row[key] }}</td>{% endfor %}</tr>
{% endfor %}
</tbody>
</table>
<footer>Per calendar month of receipt. Times to first assessment and to close in working days
(the day of receipt is day 0); medians are the middle value (the mean of the two middle ones),
the 90th percentile is the nearest rank. "Within promise" is the share of reports whose first
assessment was given by the promised moment, among those given or already past due.</footer>
</body>
</html>
"""

_ENV = Environment(autoescape=select_autoescape(default=True), trim_blocks=True)


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def cell(key: str, value: object) -> str:
    if value is None:
        return "–"
    if key == "first_assessment_within_promise" and isinstance(value, float):
        return f"{value:.0%}"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def render_page(
    months: Sequence[MonthFigures],
    outcomes_png: bytes,
    assessment_png: bytes,
    promise_workdays: int,
    generated: dt.datetime,
) -> str:
    span = f"{months[0].month} to {months[-1].month}" if months else "no months"
    rows = [{k: cell(k, v) for k, v in m.as_dict().items()} for m in months]
    return _ENV.from_string(PAGE).render(
        title="Security desk figures",
        span=span,
        generated=generated.strftime("%Y-%m-%d %H:%M %Z"),
        promise=promise_workdays,
        header_height=HEADER_HEIGHT,
        width=CHART_WIDTH,
        height=CHART_HEIGHT,
        outcomes_src=data_uri(outcomes_png),
        assessment_src=data_uri(assessment_png),
        columns=COLUMNS,
        rows=rows,
    )
