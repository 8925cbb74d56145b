"""The reporting clocks on the store: start them, record a filed step, read them.

`policy/obligations.py` says when each step is due and which notice is owed; this module
keeps one `Obligation` row per step, so the jobs can send each notice once and `case`,
the digest and the escalations show the same dates.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailtriage.config import ObligationsConfig
from mailtriage.policy.cases import State
from mailtriage.policy.obligations import FINAL, STEPS, step_start_and_due
from mailtriage.store.models import Case, CaseEvent, Obligation

# The states in which a case counts as having "reached resolved" for the CRA's final report:
# `resolved` itself, or `closed` straight from work in progress (`#close fixed` without
# passing `#status resolved`).
RESOLVED_STATES = (State.RESOLVED, State.CLOSED)


def start(
    session: Session,
    case: Case,
    kind: str,
    started: dt.datetime,
    durations: ObligationsConfig,
    tz: dt.tzinfo,
) -> list[Obligation] | None:
    """Start `kind`'s clock on `case` at `started`: one row per step. None when it already
    runs (a second `#incident` does not move a legal deadline)."""
    existing = session.scalars(
        select(Obligation).where(Obligation.case_id == case.id, Obligation.kind == kind)
    ).first()
    if existing is not None:
        return None
    resolved = resolved_at(session, case)
    rows = []
    for step in STEPS:
        begins, due = step_start_and_due(kind, step, started, durations, tz, resolved)
        row = Obligation(
            case=case, kind=kind, step=step, started_at=started, begins=begins, due=due
        )
        session.add(row)
        rows.append(row)
    return rows


def report(session: Session, case: Case, step: str, at: dt.datetime) -> list[Obligation]:
    """Record `step` as filed at `at` on every clock of `case` that still waits for it."""
    rows = list(
        session.scalars(
            select(Obligation).where(
                Obligation.case_id == case.id,
                Obligation.step == step,
                Obligation.reported_at.is_(None),
            )
        )
    )
    for row in rows:
        row.reported_at = at
    return rows


def of_case(session: Session, case_id: int) -> Sequence[Obligation]:
    """The steps of a case, in clock then step order."""
    rows = session.scalars(select(Obligation).where(Obligation.case_id == case_id)).all()
    return sorted(rows, key=lambda r: (r.started_at, r.kind, STEPS.index(r.step)))


def resolved_at(session: Session, case: Case) -> dt.datetime | None:
    """When the case first reached `resolved` (or was closed), from its timeline; None while
    it has not. A case opened already closed has no such event: its `closed_at` stands in."""
    # Reaching resolved and going back (a regression) still started the CRA's 14 days: the
    # first such event counts, whatever the state is now.
    if case.id is None:
        return None
    events = session.scalars(
        select(CaseEvent)
        .where(CaseEvent.case_id == case.id, CaseEvent.kind == "state")
        .order_by(CaseEvent.at, CaseEvent.id)
    )
    for event in events:
        if (event.detail or {}).get("to") in RESOLVED_STATES:
            return event.at
    if case.state in RESOLVED_STATES:
        return case.closed_at or case.received_at
    return None


def settle_final_dues(
    session: Session, durations: ObligationsConfig, tz: dt.tzinfo
) -> list[Obligation]:
    """Give every exploited vulnerability's final report whose case has now reached
    `resolved` its due date; the rows that got one."""
    waiting = session.scalars(
        select(Obligation).where(
            Obligation.kind == "exploited",
            Obligation.step == FINAL,
            Obligation.due.is_(None),
            Obligation.reported_at.is_(None),
        )
    ).all()
    settled = []
    for row in waiting:
        resolved = resolved_at(session, row.case)
        if resolved is None:
            continue
        row.begins, row.due = step_start_and_due(
            row.kind, row.step, row.started_at, durations, tz, resolved
        )
        settled.append(row)
    return settled


def open_steps(session: Session) -> list[dict[str, str | None]]:
    """Every reporting step not yet filed, soonest first (steps still waiting for `resolved`
    last): for the digest and `mailtriage status`."""
    rows = session.execute(
        select(Obligation, Case.ref)
        .join(Case, Case.id == Obligation.case_id)
        .where(Obligation.reported_at.is_(None))
    ).all()
    rows.sort(key=lambda r: (r[0].due is None, r[0].due or r[0].started_at, r[0].id))
    return [
        {
            "ref": ref,
            "kind": o.kind,
            "step": o.step,
            "due": o.due.isoformat() if o.due is not None else None,
        }
        for o, ref in rows
    ]
