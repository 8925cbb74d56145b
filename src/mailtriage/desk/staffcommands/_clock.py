"""What `#exploited` and `#incident` share: starting a reporting clock at the mail's arrival.

The clock starts when the staff mail arrived (its stored arrival time), not when the desk got
round to reading it: a desk that was down for an hour must not hand staff an hour the law
does not give them.
"""

from __future__ import annotations

from mailtriage.desk import obligations
from mailtriage.desk.staffcommands.base import StepContext
from mailtriage.policy.obligations import STEPS


def start_clock(context: StepContext, kind: str, law: str) -> str:
    """Start `kind`'s clock on the case; the line for the confirmation."""
    config = context.replies.config
    started = context.message.arrived_at
    rows = obligations.start(
        context.session,
        context.case,
        kind,
        started,
        config.obligations,
        config.deadlines.tz,
    )
    if rows is None:
        return f"{kind} clock already running; its dates are unchanged"
    context.event("obligation", {"kind": kind, "started": started.isoformat()})
    tz = config.deadlines.tz
    dues = ", ".join(
        f"{row.step} due {row.due.astimezone(tz):%Y-%m-%d %H:%M}"
        if row.due is not None
        else f"{row.step} due {config.obligations.exploited_final_days} days after the case "
        "reaches resolved"
        for row in sorted(rows, key=lambda r: STEPS.index(r.step))
    )
    return f"{kind} clock started ({law}): {dues}"
