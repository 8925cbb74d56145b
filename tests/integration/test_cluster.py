"""Several daemons on one store: one active, the others standby, nothing done twice.

Runs on the backend of the run (SQLite, or PostgreSQL with MAILTRIAGE_TEST_STORE=postgresql):
the lease is the same on both. The daemons are real processes as systemd starts them, with one
Dovecot mailbox and one SMTP server between them; the active one is SIGSTOPped past its lease
and resumed (on PostgreSQL; SIGKILLed on SQLite, see below), and SIGKILLed, while reports
arrive. What a user would notice: every report is
stored once, opens one case and gets one acknowledgement, none is lost, and the old leader,
resumed, sends and files nothing. The standby tells systemd who is active; `status --json`
on any node names the active node and the lease's epoch.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mailtriage.config import load_config
from mailtriage.service.cli import main
from mailtriage.store.db import Store
from mailtriage.store.lease import Deposed, Lease
from mailtriage.store.models import JobRun
from tests.support.config import write_config
from tests.support.dovecot import Dovecot
from tests.support.mails import make_mail
from tests.support.postgres import connect_store, on_postgres, store_url
from tests.support.smtp import SmtpServer

pytestmark = pytest.mark.integration

STAFF = "security-team@example.nl"
LEASE_SECONDS = 2


def node_config(root: Path, store_dir: Path, name: str, dovecot: Dovecot, smtp: SmtpServer) -> Path:
    folder = root / name
    folder.mkdir(exist_ok=True)
    return write_config(
        folder,
        {
            "mailbox": dovecot.mailbox_section(
                idle=True, poll_interval_seconds=1, timeout_seconds=5
            ),
            "smtp": smtp.smtp_config(),
            "cases": {"staff_notify": STAFF},
            "store": {"url": store_url(store_dir)},
            "cluster": {"node_name": name, "lease_seconds": LEASE_SECONDS},
        },
    )


def status(config: Path) -> dict[str, Any]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["--config", str(config), "status", "--json"])
    assert code == 0
    result: dict[str, Any] = json.loads(out.getvalue())["cluster"]
    return result


def start(config: Path, **env: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "mailtriage", "--config", str(config), "run"],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def wait_for(condition: Callable[[], bool], seconds: float, what: str) -> float:
    """Seconds it took; fails after `seconds` (a generous bound, not a timing assertion)."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if condition():
            return time.monotonic() - started
        time.sleep(0.05)
    pytest.fail(f"timed out after {seconds:.0f} s waiting for {what}")


def report(i: int) -> bytes:
    return make_mail(
        sender=f"Onderzoeker {i} <onderzoeker{i}@example.test>",
        subject=f"Kwetsbaarheid {i} in het portaal",
        body=f"Op https://portaal{i}.example.nl/login zit een lek (27-11-2026 14:{i % 60:02d}).",
    )


def acks(smtp: SmtpServer) -> dict[str, int]:
    counted: dict[str, int] = {}
    for mail in smtp.received:
        if "auto-replied" in (mail.message["Auto-Submitted"] or ""):
            for rcpt in mail.recipients:
                counted[rcpt] = counted.get(rcpt, 0) + 1
    return counted


def active_is(config: Path, node: str) -> Callable[[], bool]:
    return lambda: status(config)["active_node"] == node


class NotifyListener:
    """A systemd notify socket: what a daemon told systemd, line by line."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(0.2)
        self.heard: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._listen, daemon=True)
        self._thread.start()

    def _listen(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(TimeoutError, OSError):
                self.heard.extend(self.sock.recv(4096).decode().splitlines())

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()


@pytest.mark.timed_waits  # real daemons, a real lease running out on real time
def test_two_daemons_one_store_every_report_once_through_a_pause_and_a_kill(
    dovecot: Dovecot, smtp: SmtpServer, tmp_path: Path
) -> None:
    config_a = node_config(tmp_path, tmp_path, "node-a", dovecot, smtp)
    config_b = node_config(tmp_path, tmp_path, "node-b", dovecot, smtp)
    listener = NotifyListener(tmp_path / "notify-b")
    node_a = start(config_a)
    node_b: subprocess.Popen[bytes] | None = None
    try:
        wait_for(lambda: _quiet_status(config_a, "node-a"), 30, "node-a to become active")
        node_b = start(config_b, NOTIFY_SOCKET=str(listener.path))
        # The standby is READY and tells systemd who is active.
        wait_for(
            lambda: (
                any(h.startswith("STATUS=standby (active: node-a since ") for h in listener.heard)
                and "READY=1" in listener.heard
            ),
            30,
            "node-b to report standby to systemd",
        )
        first = status(config_b)
        assert first["active_node"] == "node-a"
        assert [s["node"] for s in first["standbys"]] == ["node-b"]

        reporters = [f"onderzoeker{i}@example.test" for i in range(30)]
        with dovecot.client() as client:
            for i in range(10):
                client.append("INBOX", report(i))
        wait_for(lambda: len(acks(smtp)) == 10, 60, "10 acknowledgements from node-a")

        if on_postgres():
            # Paused past its lease: node-b takes over, at the next epoch.
            node_a.send_signal(signal.SIGSTOP)
        else:
            # On SQLite a process paused inside a transaction keeps the file's write lock, and
            # nothing can take over until it resumes (README): there the leader is killed.
            node_a.send_signal(signal.SIGKILL)
            node_a.wait(timeout=10)
        took = wait_for(active_is(config_b, "node-b"), 30, "node-b to take over")
        print(f"takeover after a pause or kill: {took:.1f} s (lease {LEASE_SECONDS} s)")
        second = status(config_a)
        assert second["epoch"] == first["epoch"] + 1
        with dovecot.client() as client:
            for i in range(10, 20):
                client.append("INBOX", report(i))
        if on_postgres():
            # The old leader wakes up mid-delivery: it must neither send nor file.
            node_a.send_signal(signal.SIGCONT)
        else:
            node_a = start(config_a)  # back as the standby
        wait_for(lambda: len(acks(smtp)) == 20, 60, "10 more acknowledgements from node-b")

        # node-b dies; node-a (deposed, standby again) takes over at the next epoch.
        node_b.send_signal(signal.SIGKILL)
        node_b.wait(timeout=10)
        took = wait_for(active_is(config_a, "node-a"), 30, "node-a to take over again")
        print(f"takeover after SIGKILL: {took:.1f} s (lease {LEASE_SECONDS} s)")
        assert status(config_a)["epoch"] == first["epoch"] + 2
        with dovecot.client() as client:
            for i in range(20, 30):
                client.append("INBOX", report(i))
        wait_for(lambda: len(acks(smtp)) == 30, 60, "the last 10 acknowledgements")
        time.sleep(LEASE_SECONDS)  # anything sent twice would have arrived by now

        assert acks(smtp) == {r: 1 for r in reporters}
        with contextlib.closing(connect_store(tmp_path)) as db:
            cases = db.execute(
                "select reporter_address, count(*) from cases group by reporter_address"
            ).fetchall()
            stored = db.execute("select count(*) from messages").fetchone()[0]
        assert sorted(cases) == sorted((r, 1) for r in reporters)
        assert stored == 30
        new_case_notices = [m for m in smtp.to(STAFF) if "] New " in str(m.message["Subject"])]
        assert len(new_case_notices) == 30
    finally:
        for node in (node_a, node_b):
            if node is not None and node.poll() is None:
                node.send_signal(signal.SIGCONT)
                node.send_signal(signal.SIGTERM)
                try:
                    node.communicate(timeout=30)
                except subprocess.TimeoutExpired:
                    node.kill()
                    node.communicate()
        listener.close()


def _quiet_status(config: Path, node: str) -> bool:
    try:
        return status(config)["active_node"] == node
    except Exception:  # the store is not migrated yet: the daemon is still starting
        return False


def test_a_deposed_leader_writes_nothing_and_status_names_the_new_one(tmp_path: Path) -> None:
    config = write_config(tmp_path, {"cluster": {"node_name": "node-a"}})
    url = load_config(config).store.url
    old, new = Store(url), Store(url)
    try:
        old.upgrade()
        # node-a's lease lapses at once (0 s), as if it had been paused past it.
        lease_a = Lease("node-a", 0)
        with old.session(fenced=False) as session:
            lease_a.try_acquire(session)
        old.fence = lease_a.fence
        with old.session() as session:
            session.add(JobRun(job="fenced", key="while-active", at=_now()))
        assert status(config)["epoch"] == 1

        lease_b = Lease("node-b", 60)
        with new.session(fenced=False) as session:
            view = lease_b.try_acquire(session)
        assert lease_b.held and view.epoch == 2
        shown = status(config)
        assert (shown["active_node"], shown["epoch"]) == ("node-b", 2)

        # node-a wakes up and tries to file something: refused, rolled back.
        with pytest.raises(Deposed), old.session() as session:
            session.add(JobRun(job="fenced", key="after-takeover", at=_now()))
        # While node-b leads, a third node is a standby and changes nothing.
        lease_c = Lease("node-c", 60)
        with new.session(fenced=False) as session:
            assert lease_c.try_acquire(session).node_name == "node-b"
        assert not lease_c.held
        with contextlib.closing(connect_store(tmp_path)) as db:
            keys = [r[0] for r in db.execute("select key from job_runs where job = 'fenced'")]
        assert keys == ["while-active"]
    finally:
        old.dispose()
        new.dispose()


def test_run_once_next_to_an_active_daemon_does_nothing_and_says_who_is_active(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "inbox" / "new").mkdir(parents=True)
    (tmp_path / "inbox" / "new" / "1.eml").write_bytes(report(1))
    config = write_config(tmp_path, {"cluster": {"node_name": "node-b"}})
    assert main(["--config", str(config), "db", "upgrade"]) == 0
    store = Store(load_config(config).store.url)
    try:
        with store.session(fenced=False) as session:
            Lease("node-a", 600).try_acquire(session)
    finally:
        store.dispose()
    assert main(["--config", str(config), "run", "--once"]) == 75
    assert "standby (active: node-a since " in capsys.readouterr().err
    with contextlib.closing(connect_store(tmp_path)) as db:
        assert db.execute("select count(*) from messages").fetchone()[0] == 0


def _now() -> Any:
    import datetime as dt

    return dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
