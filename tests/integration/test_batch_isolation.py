"""One failing message in a batch is quarantined alone (pipeline's savepoint fallback).

A batch is applied in one transaction; when any message raises, intake rolls the batch back
and applies it again with one savepoint per message, so only the failing one is quarantined.
No input is known to make `CaseDesk.apply` raise (which is the point of the desk), so the
test builds the desk exactly as the daemon does (`mailtriage.service.wiring.build`) and wraps one
collaborator, the acknowledgement, so that it raises for one marked mail only: the failure
happens half-way through applying that message, after its case row was added and its case
number drawn, which is what the savepoint has to take back. Store, Dovecot and SMTP are real.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mailtriage.config import load_config
from mailtriage.service.wiring import App, build
from tests.support.desk import STAFF_NOTIFY, Desk
from tests.support.dovecot import Dovecot
from tests.support.mails import make_mail
from tests.support.smtp import SmtpServer

pytestmark = pytest.mark.integration

MARK = "[make-this-one-fail]"


class InjectedFailure(Exception):
    """Raised by the test's wrapper, never by the desk itself."""


@pytest.fixture
def desk(tmp_path: Path, dovecot: Dovecot, smtp: SmtpServer) -> Desk:
    return Desk(tmp_path, dovecot, smtp)


@pytest.fixture
def app(desk: Desk) -> Iterator[App]:
    built = build(load_config(desk.config), desk.clock)
    real_acknowledge = built.replies.acknowledge

    def acknowledge(session: Any, ledger: Any, case: Any, mail: Any, *a: Any, **kw: Any) -> Any:
        if MARK in mail.subject:
            raise InjectedFailure("the acknowledgement of the marked mail failed")
        return real_acknowledge(session, ledger, case, mail, *a, **kw)

    built.replies.acknowledge = acknowledge  # type: ignore[method-assign]
    try:
        yield built
    finally:
        built.close()


def test_the_second_of_three_failing_quarantines_it_alone(
    desk: Desk, app: App, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="mailtriage.intake.pipeline")
    senders = ["anna@example.test", "bram@example.test", "cor@example.test"]
    desk.deliver(
        make_mail(sender=f"Anna <{senders[0]}>", subject="XSS in het portaal"),
        make_mail(sender=f"Bram <{senders[1]}>", subject=f"SQL-injectie {MARK}"),
        make_mail(sender=f"Cor <{senders[2]}>", subject="Open redirect op de site"),
    )

    report = app.one_pass().intake

    assert (report.fetched, report.cases_opened, report.quarantined) == (3, 2, 1)
    assert "batch fell back to one savepoint per message" in caplog.text
    with desk.db() as db:
        rows = db.execute(
            "select from_address, status, case_id, quarantine_reason from messages order by id"
        ).fetchall()
        cases = db.execute("select reporter_address, ref from cases order by id").fetchall()
    # (Messages are stored in delivery order; the quarantined one keeps only its raw bytes.)
    assert [(r[0], r[1]) for r in rows] == [
        (senders[0], "case"),
        (None, "quarantined"),
        (senders[2], "case"),
    ]
    assert rows[1][2] is None, "the failed message's half-made case was rolled back"
    assert rows[1][3].startswith("InjectedFailure")
    assert [c[0] for c in cases] == [senders[0], senders[2]]
    refs = [c[1] for c in cases]
    assert refs[1][-4:] == f"{int(refs[0][-4:]) + 1:04d}", "no case number lost to the rollback"

    for address in (senders[0], senders[2]):
        assert len(desk.sent_to(address)) == 1, f"{address} is acknowledged once"
    assert desk.sent_to(senders[1]) == []
    assert desk.sent_to(STAFF_NOTIFY), "staff hear of the quarantine and the two new cases"
