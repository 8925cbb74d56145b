"""The reporting clocks on a real store (issue 17): an exploited vulnerability's final report
starts its 14 days when the case reaches `resolved`; a second `#incident` moves no date; the
steps outlive the purge of the case, with the reporter's data gone."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from sqlalchemy import select

from mailtriage.config import load_config
from mailtriage.desk import obligations
from mailtriage.service.wiring import build
from mailtriage.store.models import Case, CaseEvent
from tests.support.clock import AMSTERDAM, FakeClock, local
from tests.support.figures import Builder

STARTED = local(2026, 11, 27, 17, 0)


def the_case(session: object) -> Case:
    return session.scalars(select(Case)).one()  # type: ignore[attr-defined,no-any-return]


def test_the_exploited_final_report_is_due_14_days_after_the_case_is_resolved(
    tmp_path: Path,
) -> None:
    b = Builder(tmp_path)
    b.case(local(2026, 11, 26, 9, 0), ack_minutes=1, answered=local(2026, 11, 26, 15, 0))
    config = b.config
    with b.store.session() as session:
        case = the_case(session)
        rows = obligations.start(session, case, "exploited", STARTED, config.obligations, AMSTERDAM)
        assert rows is not None
        final = next(r for r in rows if r.step == "final")
        assert final.due is None  # nothing fixed yet: no date to give
        # A second #exploited changes nothing.
        assert obligations.start(
            session, case, "exploited", STARTED + dt.timedelta(days=1), config.obligations,
            AMSTERDAM,
        ) is None  # fmt: skip
    with b.store.session() as session:
        assert obligations.settle_final_dues(session, config.obligations, AMSTERDAM) == []
        case = the_case(session)
        resolved = local(2026, 12, 3, 10, 15)
        case.state = "resolved"
        case.events.append(CaseEvent(at=resolved, kind="state", detail={"to": "resolved"}))
    with b.store.session() as session:
        (settled,) = obligations.settle_final_dues(session, config.obligations, AMSTERDAM)
        assert settled.due == local(2026, 12, 17, 10, 15)
        steps = obligations.of_case(session, the_case(session).id)
        assert [(s.step, s.due) for s in steps] == [
            ("early-warning", local(2026, 11, 28, 17, 0)),
            ("notification", local(2026, 11, 30, 17, 0)),
            ("final", local(2026, 12, 17, 10, 15)),
        ]


def test_the_steps_outlive_the_purge_of_their_case(tmp_path: Path) -> None:
    b = Builder(tmp_path)
    b.case(
        local(2026, 6, 1, 9, 0),
        ack_minutes=1,
        answered=local(2026, 6, 2, 9, 0),
        closed=local(2026, 6, 10, 9, 0),
        reason="fixed",
    )
    with b.store.session() as session:
        case = the_case(session)
        obligations.start(
            session, case, "incident", local(2026, 6, 1, 12, 0), b.config.obligations, AMSTERDAM
        )
        obligations.report(session, case, "early-warning", local(2026, 6, 2, 8, 0))
    app = build(load_config(b.config_path), FakeClock(local(2026, 12, 1, 10, 0)))
    try:
        purged = app.purger.run()
    finally:
        app.close()
    assert purged.cases == ["PZEM-SEC-2026-0001"]
    case = json.loads(b.cli("case", "PZEM-SEC-2026-0001", "--json"))
    assert case["reporter"] is None and case["purged_at"]
    assert case["obligations"] == [
        {"kind": "incident", "step": "early-warning", "due": "2026-06-02T12:00:00+02:00",
         "reported_at": "2026-06-02T08:00:00+02:00"},
        {"kind": "incident", "step": "notification", "due": "2026-06-04T12:00:00+02:00",
         "reported_at": None},
        {"kind": "incident", "step": "final", "due": "2026-07-01T12:00:00+02:00",
         "reported_at": None},
    ]  # fmt: skip
