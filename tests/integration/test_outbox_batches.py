"""`run --once` sends the whole outbox, however much is due.

Before, one pass stopped after three rounds of 500 mails and left the rest for a later pass
although the command promises to send the outbox. Here 1,600 notices wait (what a burst of
800 reports queues) and one `run --once` must deliver every one, each exactly once. The
transport is the Maildir one (a real folder a real MTA could pick up), so the test stays
fast; the SMTP path is the same code (`OutboxSender`), exercised by the other tests.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pytest

from mailtriage.config import load_config
from mailtriage.mailbox.maildir import ensure_maildir
from mailtriage.service.cli import main
from mailtriage.service.wiring import build
from tests.support.clock import QUIET_WORKDAY_MORNING, FakeClock
from tests.support.config import write_config
from tests.support.postgres import connect_store

pytestmark = pytest.mark.integration

STAFF = "security-team@example.nl"


def test_one_run_once_sends_every_due_row_however_many(tmp_path: Path) -> None:
    inbox, outbox = tmp_path / "inbox", tmp_path / "outbox"
    ensure_maildir(inbox)
    ensure_maildir(outbox)
    config = write_config(
        tmp_path,
        {
            "mailbox": {"source": "maildir", "path": str(inbox)},
            "smtp": {
                "transport": "maildir",
                "path": str(outbox),
                "from_address": "security@example.nl",
            },
            "cases": {"staff_notify": STAFF},
        },
    )
    clock = FakeClock(QUIET_WORKDAY_MORNING)
    app = build(load_config(config), clock)
    try:
        with app.store.session() as session:
            for n in range(1600):
                app.replies.notify_staff(
                    session, "staff_purge_incomplete", {"wal_bytes": 4096 + n, "attempts": 4}
                )
    finally:
        app.close()

    assert main(["--config", str(config), "run", "--once"], clock=clock) == 0

    delivered = list((outbox / "new").iterdir()) + list((outbox / "cur").iterdir())
    assert len(delivered) == 1600
    with contextlib.closing(connect_store(tmp_path)) as db:
        statuses = dict(db.execute("select status, count(*) from outbox group by status"))
    assert statuses == {"sent": 1600}


def test_an_empty_store_lists_no_cases_in_either_form(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The listing is written row by row now; with no row it still says so as it did."""
    config = write_config(
        tmp_path,
        {
            "mailbox": {"source": "maildir", "path": str(tmp_path / "inbox")},
            "smtp": {
                "transport": "maildir",
                "path": str(tmp_path / "out"),
                "from_address": "security@example.nl",
            },
        },
    )
    clock = FakeClock(QUIET_WORKDAY_MORNING)
    assert main(["--config", str(config), "cases", "--json"], clock=clock) == 0
    assert json.loads(capsys.readouterr().out) == []
    assert main(["--config", str(config), "cases"], clock=clock) == 0
    assert capsys.readouterr().out == "no cases\n"


def test_a_sender_that_is_no_longer_the_active_node_hands_nothing_more_to_the_server(
    tmp_path: Path,
) -> None:
    """The store's fence cannot stop an SMTP connection: a leader paused mid-batch and
    resumed after its lease passed on must not send the rest of the batch it had claimed.
    The sender asks before every mail; what it had not handed over stays unsent."""
    inbox, outbox = tmp_path / "inbox", tmp_path / "outbox"
    ensure_maildir(inbox)
    ensure_maildir(outbox)
    config = write_config(
        tmp_path,
        {
            "mailbox": {"source": "maildir", "path": str(inbox)},
            "smtp": {
                "transport": "maildir",
                "path": str(outbox),
                "from_address": "security@example.nl",
            },
            "cases": {"staff_notify": STAFF},
        },
    )
    app = build(load_config(config), FakeClock(QUIET_WORKDAY_MORNING))
    try:
        with app.store.session() as session:
            for n in range(20):
                app.replies.notify_staff(
                    session, "staff_purge_incomplete", {"wal_bytes": 4096 + n, "attempts": 4}
                )
        asked = iter([True, True, True])  # the lease is lost after the third mail
        app.sender.may_send = lambda: next(asked, False)
        report = app.sender.deliver_due()
    finally:
        app.close()
    delivered = list((outbox / "new").iterdir()) + list((outbox / "cur").iterdir())
    assert len(delivered) == 3
    assert report.interrupted
    with contextlib.closing(connect_store(tmp_path)) as db:
        statuses = dict(db.execute("select status, count(*) from outbox group by status"))
    assert statuses.get("sent") == 3 and sum(statuses.values()) == 20
