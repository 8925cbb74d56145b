"""`mailtriage run` as an operator runs it: a separate process, real Dovecot, real SMTP.

What a user would notice: a report is acknowledged within seconds (IMAP IDLE), an IMAP
outage loses and doubles nothing and heals by itself, SIGTERM stops the daemon promptly, and
systemd hears READY, WATCHDOG and STOPPING over its notify socket.

These tests need the real clock: the daemon is a process of its own, started as systemd
starts it, and its scheduler and IDLE waits run on real time. So they count only mail whose
number does not depend on the hour — on a working-day morning the digest may come as well.
"""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from tests.support.config import write_config
from tests.support.dovecot import Dovecot
from tests.support.mails import make_mail
from tests.support.postgres import connect_store
from tests.support.smtp import SmtpServer

pytestmark = pytest.mark.integration

STAFF = "security-team@example.nl"


def desk_config(tmp_path: Path, dovecot: Dovecot, smtp: SmtpServer, **mailbox: object) -> Path:
    return write_config(
        tmp_path,
        {
            "mailbox": dovecot.mailbox_section(
                **{"idle": True, "poll_interval_seconds": 30, "timeout_seconds": 5, **mailbox}
            ),
            "smtp": smtp.smtp_config(),
            "cases": {"staff_notify": STAFF},
        },
    )


def start_daemon(config: Path, **env: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "mailtriage", "--config", str(config), "run"],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def stop_daemon(daemon: subprocess.Popen[bytes]) -> tuple[int, float, str]:
    """SIGTERM; returns the exit code, the seconds it took and what it logged."""
    started = time.monotonic()
    daemon.send_signal(signal.SIGTERM)
    try:
        _, err = daemon.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        daemon.kill()
        _, err = daemon.communicate()
        pytest.fail("the daemon did not stop within 30 s of SIGTERM")
    return daemon.returncode, time.monotonic() - started, err.decode(errors="replace")


def wait_for(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    pytest.fail(f"timed out after {seconds:.0f} s waiting for {what}")


def new_case_notices(smtp: SmtpServer) -> int:
    return sum(1 for r in smtp.to(STAFF) if "] New " in str(r.message["Subject"]))


def acks_to(smtp: SmtpServer, address: str) -> int:
    return sum(1 for r in smtp.to(address) if "auto-replied" in (r.message["Auto-Submitted"] or ""))


def report(i: int) -> bytes:
    return make_mail(
        sender=f"Onderzoeker {i} <onderzoeker{i}@example.test>",
        subject=f"Kwetsbaarheid {i} in het portaal",
        body=f"Op https://portaal{i}.example.nl/login zit een lek (27-11-2026 14:{i:02d}).",
    )


@pytest.mark.timed_waits  # the daemon in IDLE: stalls under libfaketime
def test_a_report_is_acknowledged_within_seconds_through_idle(
    dovecot: Dovecot, smtp: SmtpServer, tmp_path: Path
) -> None:
    daemon = start_daemon(desk_config(tmp_path, dovecot, smtp))
    try:
        wait_for(lambda: _count(tmp_path, "alembic_version") > 0, 20, "the store")
        time.sleep(1.0)  # let the first pass finish and IDLE begin
        with dovecot.client() as client:
            client.append("INBOX", report(1))
        appended = time.monotonic()
        # The poll interval is 30 s: an answer within 10 s can only have come through IDLE.
        wait_for(lambda: acks_to(smtp, "onderzoeker1@example.test") == 1, 10, "the acknowledgement")
        assert time.monotonic() - appended < 10
        wait_for(lambda: new_case_notices(smtp) == 1, 10, "the staff notification")
    finally:
        code, seconds, err = stop_daemon(daemon)
    assert code == 0, err
    assert seconds < 10, f"took {seconds:.1f} s to stop"
    assert "Traceback" not in err


@pytest.mark.timed_waits  # backoff and IDLE waits: stall under libfaketime
def test_an_imap_outage_of_30_seconds_loses_nothing_and_heals_by_itself(
    dovecot: Dovecot, smtp: SmtpServer, tmp_path: Path
) -> None:
    daemon = start_daemon(desk_config(tmp_path, dovecot, smtp, poll_interval_seconds=2))
    try:
        with dovecot.client() as client:
            for i in range(5):
                client.append("INBOX", report(i))
        wait_for(lambda: _count(tmp_path, "cases") == 5, 20, "the first five cases")

        dovecot.stop()
        time.sleep(30)
        assert daemon.poll() is None, "the daemon must survive the outage"
        dovecot.start()

        with dovecot.client() as client:
            for i in range(5, 10):
                client.append("INBOX", report(i))
        wait_for(lambda: _count(tmp_path, "cases") == 10, 90, "the cases after the outage")
        wait_for(
            lambda: all(acks_to(smtp, f"onderzoeker{i}@example.test") == 1 for i in range(10)),
            30,
            "every acknowledgement",
        )
    finally:
        code, _, err = stop_daemon(daemon)
    assert code == 0, err
    assert "unavailable, retrying" in err, "the outage should have been noticed and retried"
    assert _count(tmp_path, "messages") == 10
    assert all(acks_to(smtp, f"onderzoeker{i}@example.test") == 1 for i in range(10))
    with dovecot.client() as client:
        assert client.folder_status("INBOX", [b"MESSAGES"])[b"MESSAGES"] == 0


def test_systemd_hears_ready_watchdog_and_stopping(
    dovecot: Dovecot, smtp: SmtpServer, tmp_path: Path
) -> None:
    notify_path = tmp_path / "notify.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(str(notify_path))
    listener.settimeout(0.5)
    heard: list[str] = []

    def hear_until(field: str, seconds: float) -> float:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                heard.extend(listener.recv(4096).decode().splitlines())
            except TimeoutError:
                continue
            if field in heard:
                return time.monotonic()
        pytest.fail(f"no {field} within {seconds:.0f} s; heard {heard}")

    daemon = start_daemon(
        desk_config(tmp_path, dovecot, smtp),
        NOTIFY_SOCKET=str(notify_path),
        WATCHDOG_USEC="2000000",
    )
    try:
        hear_until("READY=1", 30)
        hear_until("WATCHDOG=1", 10)
        assert any(line.startswith("STATUS=") for line in heard)
        signalled = time.monotonic()
        daemon.send_signal(signal.SIGTERM)
        stopping = hear_until("STOPPING=1", 10)
        assert stopping - signalled < 10
        assert daemon.wait(timeout=10) == 0
    finally:
        if daemon.poll() is None:
            daemon.kill()
        daemon.communicate()
        listener.close()


def _count(tmp_path: Path, table: str) -> int:
    try:
        with connect_store(tmp_path) as db:
            return int(db.execute(f"select count(*) from {table}").fetchone()[0])
    except (sqlite3.OperationalError, psycopg.OperationalError, psycopg.errors.UndefinedTable):
        return 0
