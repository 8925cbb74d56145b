"""A daemon killed with SIGKILL: nothing left running, nothing lost, nothing sent twice.

The daemon runs as an operator runs it (`mailtriage run`, a process of its own) against a
real Dovecot and a real SMTP server, and is killed the way the OOM killer or `systemctl kill`
would kill it: no handler runs. What a user would notice afterwards: no orphaned helper
processes, and after the restart every reporter has exactly one acknowledgement, at once
(the dead process's claims on the outbox are taken over without waiting out the lease).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import psycopg
import pytest

from mailtriage.outgoing.claims import ClaimOwner
from mailtriage.service.cli import main
from tests.support.config import write_config
from tests.support.desk import Desk
from tests.support.dovecot import Dovecot
from tests.support.mails import make_mail
from tests.support.postgres import connect_store, on_postgres
from tests.support.processes import descendants, running
from tests.support.smtp import SmtpServer

pytestmark = pytest.mark.integration

STAFF = "security-team@example.nl"


def _config(tmp_path: Path, dovecot: Dovecot, smtp: SmtpServer) -> Path:
    return write_config(
        tmp_path,
        {
            "mailbox": dovecot.mailbox_section(
                idle=True, poll_interval_seconds=30, timeout_seconds=5
            ),
            "smtp": smtp.smtp_config(),
            # Under libfaketime the desk's clock is moved and Dovecot's is not (it stores a
            # future INTERNALDATE as its own now): at a faked later instant a mail would look
            # months old, and too old for an acknowledgement.
            "cases": {"staff_notify": STAFF, "autoreply_max_age_days": 3650},
        },
    )


def _report(i: int) -> bytes:
    return make_mail(
        sender=f"Onderzoeker {i} <onderzoeker{i}@example.test>",
        subject=f"Kwetsbaarheid {i} in het portaal",
        body=f"Op https://portaal{i}.example.nl/login zit een lek ({i}).",
    )


def _start(config: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "mailtriage", "--config", str(config), "run"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _count(directory: Path, sql: str) -> int:
    """A count from the test's store, on either backend; 0 while the daemon has not made it."""
    if not on_postgres():
        store = directory / "store.sqlite"
        if not store.exists():
            return 0
        try:
            with sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=5) as db:
                return int(db.execute(sql).fetchone()[0])
        except sqlite3.OperationalError:
            return 0  # the tables are not there yet
    try:
        with contextlib.closing(connect_store(directory)) as db:
            return int(db.execute(sql).fetchone()[0])
    except psycopg.Error:
        return 0  # the tables are not there yet


def _store_ready(directory: Path) -> bool:
    """The daemon has made the store (its tables are there)."""
    return _count(directory, "SELECT count(*) + 1 FROM outbox") > 0


def _wait(condition: object, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.02)
    pytest.fail(f"timed out after {seconds:.0f} s waiting for {what}")


def _acks(smtp: SmtpServer) -> Counter[str]:
    return Counter(
        r.recipients[0]
        for r in list(smtp.received)
        if "auto-replied" in (r.message["Auto-Submitted"] or "")
    )


def _append(dovecot: Dovecot, count: int) -> None:
    with dovecot.client() as client:
        for i in range(count):
            client.append("INBOX", _report(i))


@pytest.mark.timed_waits  # a daemon of its own on real time
def test_a_daemon_killed_mid_batch_leaves_none_of_its_processes_running(
    dovecot: Dovecot, smtp: SmtpServer, tmp_path: Path
) -> None:
    _append(dovecot, 120)
    daemon = _start(_config(tmp_path, dovecot, smtp))
    try:
        # Mid-batch: mail stored and the parse pool up (resource tracker, forkserver, worker).
        _wait(lambda: _count(tmp_path, "SELECT count(*) FROM messages") > 0, 30, "intake to start")
        _wait(lambda: len(descendants(daemon.pid)) >= 3, 30, "the parse pool")
        children = descendants(daemon.pid)
    finally:
        daemon.send_signal(signal.SIGKILL)
        daemon.wait()
    _wait(lambda: not any(running(pid) for pid in children), 5, "the daemon's children to exit")


def _progress(directory: Path) -> int:
    """How far the desk has got: messages stored plus mails recorded as sent."""
    return _count(
        directory,
        "SELECT (SELECT count(*) FROM messages) + (SELECT count(*) FROM outbox"
        " WHERE status = 'sent')",
    )


@pytest.mark.timed_waits  # daemons of their own on real time
def test_a_dozen_sigkills_during_a_backlog_then_one_pass_acknowledge_every_reporter_once(
    dovecot: Dovecot, smtp: SmtpServer, tmp_path: Path
) -> None:
    """Issue 14: 300 reports waiting, the daemon SIGKILLed at a random moment of its work a
    dozen times, then one `run --once`: every reporter has exactly one acknowledgement, none
    waiting and none doubled. A mail the server had in full when the kill came is in the
    dead daemon's hand-off log, so its successor does not send it again."""
    reports, kills = 300, 12
    _append(dovecot, reports)
    config = _config(tmp_path, dovecot, smtp)
    shuffle = random.Random(14)
    killed_working = 0
    for _ in range(kills):
        before = _progress(tmp_path)
        daemon = _start(config)
        try:
            # A random moment once the daemon works (a kill in its start-up proves little):
            # storing reports, retrying the ones a kill left, sending their mail.
            deadline = time.monotonic() + 5
            while _progress(tmp_path) == before and time.monotonic() < deadline:
                time.sleep(0.005)
            time.sleep(shuffle.uniform(0.0, 0.2))
        finally:
            daemon.send_signal(signal.SIGKILL)
            daemon.wait()
        killed_working += _progress(tmp_path) > before
    # The backlog may be done before the last kills (a pass takes a few seconds): then they
    # kill an idle daemon, which must cost nothing either.
    print(f"{killed_working} of {kills} kills fell while the daemon worked")
    assert killed_working >= kills // 3, "a third of the kills must fall while it works"
    assert main(["--config", str(config), "run", "--once"]) == 0
    acks = _acks(smtp)
    expected = {f"onderzoeker{i}@example.test" for i in range(reports)}
    assert set(acks) == expected, f"unacknowledged: {sorted(expected - set(acks))[:5]}"
    doubled = {address: n for address, n in acks.items() if n > 1}
    assert not doubled, f"acknowledged more than once: {doubled}"
    assert _count(tmp_path, "SELECT count(*) FROM outbox WHERE status != 'sent'") == 0


def test_a_killed_desks_sender_finishes_the_mail_in_hand_and_nothing_goes_twice(
    dovecot: Dovecot, smtp: SmtpServer, tmp_path: Path
) -> None:
    """The server accepts the acknowledgement; the staff notice is in the sender's hand (the
    server scans it slowly) when the desk is SIGKILLed, before it recorded either. The
    sender process finishes the notice and exits; the next pass finds both in its hand-off
    log and sends neither again."""
    reporter = "traag@example.test"
    smtp.answer_late.add(STAFF)
    smtp.answer_delay_seconds = 1.0
    with dovecot.client() as client:
        client.append(
            "INBOX", make_mail(sender=f"Trage Server <{reporter}>", body="Lek in de portal.")
        )
    config = _config(tmp_path, dovecot, smtp)
    desk = subprocess.Popen(
        [sys.executable, "-m", "mailtriage", "--config", str(config), "run", "--once"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert smtp.answer_held.wait(60), "the staff notice never reached the server"
        children = descendants(desk.pid)
    finally:
        desk.send_signal(signal.SIGKILL)
        desk.wait()
    # The notice in the sender's hand is unrecorded; so is, most often, the acknowledgement
    # accepted just before it (unless the two went out in different batches).
    unrecorded = "SELECT count(*) FROM outbox WHERE status = 'sending'"
    assert _count(tmp_path, unrecorded) >= 1, "the kill must come before the record"
    _wait(lambda: not any(running(pid) for pid in children), 10, "the sender to finish")
    assert len(smtp.to(STAFF)) == 1, "the sender finished the notice in hand"
    smtp.answer_late.clear()
    assert main(["--config", str(config), "run", "--once"]) == 0
    assert len(smtp.to(reporter)) == 1, "the acknowledgement went out twice"
    sent = Counter(r.message["Message-ID"] for r in smtp.received)
    assert [m for m, n in sent.items() if n > 1] == [], "a mail went out twice"
    assert _count(tmp_path, "SELECT count(*) FROM outbox WHERE status != 'sent'") == 0


def test_a_dead_local_senders_claims_are_taken_over_at_once_another_hosts_after_the_lease(
    dovecot: Dovecot, smtp: SmtpServer, tmp_path: Path
) -> None:
    """The claims a killed sender left: a process of this host that is gone is known to be
    gone, so its mail goes out in the very next pass; a claim made on another host cannot be
    checked and waits for its lease (5 minutes) to run out."""
    desk = Desk(tmp_path, dovecot, smtp)
    smtp.stop()  # nothing leaves in the first pass: the acknowledgements stay queued
    desk.deliver(
        make_mail(sender="Eerste Melder <eerste@example.test>", body="Lek in het portaal."),
        make_mail(sender="Tweede Melder <tweede@example.test>", body="Lek in de app."),
    )
    desk.run_once()
    smtp.start()
    dead = subprocess.run(
        [
            sys.executable,
            "-c",
            "from mailtriage.outgoing.claims import ClaimOwner as O; print(O.current().token)",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    me = ClaimOwner.current()
    remote = ClaimOwner("another-host.example.nl", me.boot, me.pid, me.started).token
    lease_end = (desk.clock.now + dt.timedelta(minutes=5)).astimezone(dt.UTC)
    with contextlib.closing(desk.db()) as db, db:
        # As a sender leaves them when it is killed between claim and send.
        for address, owner in (("eerste@example.test", dead), ("tweede@example.test", remote)):
            db.execute(
                "update outbox set status = 'sending', claimed_by = ?, next_attempt_at = ?"
                " where recipient = ?",
                (owner, lease_end.strftime("%Y-%m-%d %H:%M:%S.%f"), address),
            )
    desk.run_once()
    assert len(desk.sent_to("eerste@example.test")) == 1, "the dead process's claim is free"
    assert desk.sent_to("tweede@example.test") == [], "another host's claim keeps its lease"
    desk.clock.advance(dt.timedelta(minutes=5, seconds=1))
    desk.run_once()
    assert len(desk.sent_to("tweede@example.test")) == 1
    assert len(desk.sent_to("eerste@example.test")) == 1
