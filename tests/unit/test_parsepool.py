"""The parse worker as a backstop: a parse past the time limit, or a worker that dies, costs
that one message an attempt and never the messages after it. Real worker processes, real
signals; no fakes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from email.message import EmailMessage
from pathlib import Path

from mailtriage.inbound.message import InboundMail, ParseError
from mailtriage.intake.parsepool import ParsePool, ParseTimedOut, WorkerDied
from tests.support.mails import make_mail
from tests.support.processes import running


def big_mail(megabytes: int) -> bytes:
    """A mail whose honest parse takes a while: a large attachment to decode and hash."""
    msg = EmailMessage()
    msg["From"] = "Mallory Aanvaller <mallory@example.test>"
    msg["To"] = "security@example.nl"
    msg["Subject"] = "groot"
    msg.set_content("bijlage")
    msg.add_attachment(os.urandom(megabytes * 1_000_000), "application", "octet-stream")
    return msg.as_bytes()


def test_messages_parse_in_the_worker_and_parse_errors_come_back() -> None:
    pool = ParsePool()
    try:
        parsed = pool.parse({1: make_mail(), 2: b" \r\n \r\n"})
    finally:
        pool.close()
    assert isinstance(parsed[1], InboundMail)
    assert isinstance(parsed[2], ParseError) and "empty message" in str(parsed[2])


def test_a_parse_past_the_time_limit_kills_the_worker_and_the_next_mail_still_parses() -> None:
    pool = ParsePool(timeout_seconds=0.05)
    try:
        # A 15 MB mail takes a few tenths of a second to parse (more on a slow machine); a
        # small one a millisecond or two.
        parsed = pool.parse({1: big_mail(15), 2: make_mail()})
    finally:
        pool.close()
    assert isinstance(parsed[1], ParseTimedOut)
    assert str(parsed[1]) == "parse took longer than 0.05 s"
    assert isinstance(parsed[2], InboundMail)


def _kill_worker_once_busy(pool: ParsePool, stop: threading.Event) -> None:
    """SIGKILL the worker once it holds a big mail (the test's stand-in for the OOM killer)."""
    while not stop.is_set():
        worker = pool._worker
        if worker is not None and worker.process.pid is not None:
            status = _status(worker.process.pid)
            if status.get("VmRSS", 0) > 50_000:  # kB: idle it has 20 MB; now it holds the big mail
                os.kill(worker.process.pid, signal.SIGKILL)
                return
        time.sleep(0.005)


def _status(pid: int) -> dict[str, int]:
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return {}
    return {
        key: int(value.split()[0])
        for key, _, value in (line.partition(":") for line in lines)
        if value.strip().endswith("kB")
    }


def test_a_worker_killed_mid_parse_costs_only_that_mail() -> None:
    pool = ParsePool()
    stop = threading.Event()
    killer = threading.Thread(target=_kill_worker_once_busy, args=(pool, stop))
    killer.start()
    try:
        parsed = pool.parse({1: make_mail(), 2: big_mail(15), 3: make_mail()})
    finally:
        stop.set()
        killer.join()
        pool.close()
    assert isinstance(parsed[1], InboundMail)
    assert isinstance(parsed[2], WorkerDied)
    assert isinstance(parsed[3], InboundMail)


def test_a_worker_busy_when_the_desk_is_killed_ends_at_once() -> None:
    """A worker in the middle of a long parse when the desk is SIGKILLed (nobody left to
    enforce the time limit) ends within a second, instead of parsing on under PID 1."""
    # The "desk" starts a "worker" that guards itself as parse workers do, then parses
    # (sleeps) for a minute; the desk prints the worker's pid and waits.
    worker = (
        "import os, time; from mailtriage.intake.orphanguard import exit_when_gone; "
        "exit_when_gone(os.getppid()); print(os.getpid(), flush=True); time.sleep(60)"
    )
    desk = (
        "import subprocess, sys, time; "
        f"w = subprocess.Popen([sys.executable, '-c', {worker!r}]); time.sleep(60)"
    )
    proc = subprocess.Popen([sys.executable, "-c", desk], stdout=subprocess.PIPE)
    assert proc.stdout is not None
    worker_pid = int(proc.stdout.readline())
    assert running(worker_pid)
    proc.kill()
    proc.wait()
    deadline = time.monotonic() + 5
    while running(worker_pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not running(worker_pid), "the worker outlived the desk"
