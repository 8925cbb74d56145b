"""The report's two charts as PNG images, drawn with matplotlib.

Managers would rather see a picture than a table: reports per month by outcome, and the time
to a first assessment against the promise. The same PNG bytes go into the HTML page (as
`data:` URIs, so the page loads nothing) and onto the monthly mail to staff.

matplotlib's object API with the Agg canvas: no pyplot state, no display, no GUI toolkit,
safe in the daemon's scheduler thread. It is imported when a chart is drawn, not when the
desk starts, because it takes a second to import.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import TYPE_CHECKING

from mailtriage.policy.metrics import OUTCOMES, MonthFigures

if TYPE_CHECKING:
    from matplotlib.figure import Figure

WIDTH_INCHES, HEIGHT_INCHES, DPI = 8.0, 3.6, 100  # 800 x 360 pixels
# Colour-blind-safe (Okabe-Ito), one per outcome in OUTCOMES order.
OUTCOME_COLOURS = ("#999999", "#009E73", "#56B4E9", "#E69F00", "#CC79A7", "#D55E00")


def outcomes_chart(months: Sequence[MonthFigures]) -> bytes:
    """Stacked bars: the reports received each month, by what became of them."""
    figure = _figure()
    axes = figure.add_subplot()
    labels = [m.month for m in months]
    positions = list(range(len(months)))  # numbers, not strings: no categorical-axis guessing
    bottom = [0] * len(months)
    for outcome, colour in zip(OUTCOMES, OUTCOME_COLOURS, strict=True):
        counts = [m.outcomes.get(outcome, 0) for m in months]
        if not any(counts):
            continue
        axes.bar(positions, counts, bottom=bottom, label=outcome, color=colour)
        bottom = [b + c for b, c in zip(bottom, counts, strict=True)]
    axes.set_title("Reports per month of receipt, by outcome")
    axes.set_ylim(0, max(bottom, default=0) * 1.3 + 1)  # room for the legend above the bars
    axes.set_ylabel("reports")
    axes.yaxis.get_major_locator().set_params(integer=True)
    if any(bottom):
        axes.legend(loc="upper left", fontsize="small", ncols=3)
    _tidy(axes, labels)
    return _png(figure)


def first_assessment_chart(months: Sequence[MonthFigures], promise_workdays: int) -> bytes:
    """Median and 90th percentile of the working days to a first assessment per month, with
    the promise as a line: bars above the line are broken promises."""
    figure = _figure()
    axes = figure.add_subplot()
    labels = [m.month for m in months]
    positions = list(range(len(months)))
    width = 0.38
    medians = [m.first_assessment_workdays_median or 0 for m in months]
    p90s = [m.first_assessment_workdays_p90 or 0 for m in months]
    axes.bar([p - width / 2 for p in positions], medians, width, label="median", color="#0072B2")
    axes.bar([p + width / 2 for p in positions], p90s, width, label="90th pct", color="#56B4E9")
    axes.axhline(
        promise_workdays,
        color="#D55E00",
        linestyle="--",
        label=f"promise: {promise_workdays} working days",
    )
    for position, month in zip(positions, months, strict=True):
        share = month.first_assessment_within_promise
        if share is not None:
            axes.annotate(
                f"{share:.0%}",
                (position, max(medians[position], p90s[position], promise_workdays)),
                textcoords="offset points",
                xytext=(0, 4),
                ha="center",
                fontsize="small",
            )
    axes.set_xticks(positions)
    axes.set_title("Working days to first assessment (share within the promise above)")
    axes.set_ylabel("working days")
    axes.set_ylim(0, max([*medians, *p90s, promise_workdays]) * 1.3 + 0.5)
    axes.legend(loc="upper left", fontsize="small", ncols=3)
    _tidy(axes, labels)
    return _png(figure)


def _figure() -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=(WIDTH_INCHES, HEIGHT_INCHES), dpi=DPI, layout="constrained")


def _tidy(axes: object, labels: list[str]) -> None:
    axes.set_xticks(range(len(labels)), labels, rotation=45 if len(labels) > 8 else 0)  # type: ignore[attr-defined]
    axes.spines[["top", "right"]].set_visible(False)  # type: ignore[attr-defined]


def _png(figure: Figure) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(figure)
    out = io.BytesIO()
    # No timestamp or software chunk: the same figures give the same bytes.
    figure.savefig(out, format="png", dpi=DPI, metadata={"Software": None})
    return out.getvalue()
