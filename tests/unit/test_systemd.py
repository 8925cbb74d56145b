"""The sd_notify protocol, spoken to a real AF_UNIX datagram socket, and the shipped unit file.

systemd listens on a datagram socket and reads `KEY=value` lines; these tests bind such a
socket themselves, so the protocol is checked on any machine. Only the last test needs
systemd's tools: `systemd-analyze verify` must accept `mailtriage.service` as shipped.
"""

from __future__ import annotations

import io
import logging
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from mailtriage.service.systemd import (
    MAX_STATUS_CHARS,
    JournalFormatter,
    Notifier,
    configure_logging,
    stream_is_journal,
    syslog_priority,
)

REPO = Path(__file__).resolve().parents[2]
UNIT = REPO / "mailtriage.service"


class Listener:
    """Stands in for systemd: a bound datagram socket that collects what is sent to it."""

    def __init__(self, sock: socket.socket, env_value: str) -> None:
        self.sock = sock
        self.env_value = env_value
        sock.settimeout(2.0)

    def receive(self) -> str:
        return self.sock.recv(4096).decode("utf-8")

    def nothing_waiting(self) -> bool:
        self.sock.settimeout(0.05)
        try:
            self.sock.recv(4096)
        except (TimeoutError, BlockingIOError):
            return True
        finally:
            self.sock.settimeout(2.0)
        return False


def _bound_path_socket(tmp_path: Path) -> tuple[socket.socket, Path]:
    path = tmp_path / "notify"
    if len(os.fsencode(path)) > 100:  # sun_path holds 108 bytes; pytest's names can be long
        path = Path(tempfile.mkdtemp(prefix="sdn-")) / "notify"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    return sock, path


@pytest.fixture
def listener(tmp_path: Path) -> Iterator[Listener]:
    sock, path = _bound_path_socket(tmp_path)
    with sock:
        yield Listener(sock, str(path))


def notifier_for(listener: Listener, **extra: str) -> Notifier:
    return Notifier.from_env({"NOTIFY_SOCKET": listener.env_value, **extra})


def test_ready_watchdog_status_stopping_arrive_as_datagrams(listener: Listener) -> None:
    notifier = notifier_for(listener, WATCHDOG_USEC="60000000", WATCHDOG_PID=str(os.getpid()))
    assert notifier.enabled

    assert notifier.ready()
    assert listener.receive() == "READY=1"
    assert notifier.ready(status="watching INBOX")
    assert listener.receive() == "READY=1\nSTATUS=watching INBOX"
    assert notifier.watchdog()
    assert listener.receive() == "WATCHDOG=1"
    assert notifier.status("3 open cases, 1 overdue")
    assert listener.receive() == "STATUS=3 open cases, 1 overdue"
    assert notifier.stopping()
    assert listener.receive() == "STOPPING=1"
    assert notifier.stopping(status="stopping after the message in hand")
    assert listener.receive() == "STOPPING=1\nSTATUS=stopping after the message in hand"
    assert listener.nothing_waiting()


def test_reloading_and_extend_timeout(listener: Listener) -> None:
    notifier = notifier_for(listener)
    before = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    assert notifier.reloading()
    reloading, monotonic = listener.receive().split("\n")
    assert reloading == "RELOADING=1"
    assert monotonic.startswith("MONOTONIC_USEC=")
    assert int(monotonic.removeprefix("MONOTONIC_USEC=")) >= before
    assert notifier.extend_timeout(90)
    assert listener.receive() == "EXTEND_TIMEOUT_USEC=90000000"


def test_abstract_socket_named_with_at_sign() -> None:
    name = f"mailtriage-test-{os.getpid()}-{uuid.uuid4().hex}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        listener = Listener(sock, "@" + name)
        notifier = notifier_for(listener)
        assert notifier.ready(status="up")
        assert listener.receive() == "READY=1\nSTATUS=up"
        assert notifier.stopping()
        assert listener.receive() == "STOPPING=1"


def test_without_notify_socket_nothing_is_sent_and_nothing_fails(
    listener: Listener,
) -> None:
    for environ in ({}, {"NOTIFY_SOCKET": ""}, {"WATCHDOG_USEC": "1000000"}):
        notifier = Notifier.from_env(environ)
        assert not notifier.enabled
        assert notifier.watchdog_interval is None
        assert notifier.ready(status="x") is False
        assert notifier.status("x") is False
        assert notifier.watchdog() is False
        assert notifier.stopping() is False
        assert notifier.reloading() is False
    assert listener.nothing_waiting()


def test_relative_or_unknown_socket_forms_are_ignored() -> None:
    for value in ("relative/path", "vsock:2:1234", "@"):
        notifier = Notifier.from_env({"NOTIFY_SOCKET": value})
        assert not notifier.enabled
        assert notifier.ready() is False


def test_vanished_socket_does_not_raise(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    sock, path = _bound_path_socket(tmp_path)
    notifier = Notifier.from_env({"NOTIFY_SOCKET": str(path), "WATCHDOG_USEC": "2000000"})
    sock.close()
    path.unlink()
    with caplog.at_level(logging.DEBUG, logger="mailtriage.service.systemd"):
        assert notifier.ready() is False
        assert notifier.watchdog() is False
        assert notifier.stopping() is False
    assert "notify to the service manager failed" in caplog.text


def test_socket_nobody_listens_on_does_not_raise(tmp_path: Path) -> None:
    sock, path = _bound_path_socket(tmp_path)
    sock.close()  # the path stays, the listener is gone: ECONNREFUSED
    assert path.exists()
    assert Notifier.from_env({"NOTIFY_SOCKET": str(path)}).ready() is False


def test_watchdog_interval_is_half_of_watchdog_usec(listener: Listener) -> None:
    notifier = notifier_for(listener, WATCHDOG_USEC="60000000")
    assert notifier.watchdog_interval == 30.0
    notifier = notifier_for(listener, WATCHDOG_USEC="60000000", WATCHDOG_PID=str(os.getpid()))
    assert notifier.watchdog_interval == 30.0
    assert notifier_for(listener, WATCHDOG_USEC="500").watchdog_interval == 0.00025


@pytest.mark.parametrize("usec", ["", "0", "-5", "sixty"])
def test_watchdog_off_without_a_usable_watchdog_usec(listener: Listener, usec: str) -> None:
    notifier = notifier_for(listener, WATCHDOG_USEC=usec)
    assert notifier.watchdog_interval is None
    assert notifier.watchdog() is False
    assert listener.nothing_waiting()


def test_watchdog_meant_for_another_process_is_disabled(listener: Listener) -> None:
    other_pid = os.getppid() if os.getppid() != os.getpid() else os.getpid() + 1
    notifier = notifier_for(listener, WATCHDOG_USEC="60000000", WATCHDOG_PID=str(other_pid))
    assert notifier.watchdog_interval is None
    assert notifier.watchdog() is False
    assert listener.nothing_waiting()
    # The rest of the protocol still works: only the watchdog belongs to another process.
    assert notifier.ready()
    assert listener.receive() == "READY=1"


def test_status_is_made_one_bounded_line(listener: Listener) -> None:
    notifier = notifier_for(listener)
    assert notifier.status("fetched 3\r\nREADY=1\rstored\t3\x00 mails\n")
    assert listener.receive() == "STATUS=fetched 3 READY=1 stored 3 mails"

    assert notifier.ready(status="x" * 5000)
    ready, status = listener.receive().split("\n")
    assert ready == "READY=1"
    text = status.removeprefix("STATUS=")
    assert len(text) == MAX_STATUS_CHARS
    assert text.endswith("…")


def test_a_forked_child_sends_nothing(listener: Listener) -> None:
    notifier = notifier_for(listener, WATCHDOG_USEC="60000000")
    pid = os.fork()
    if pid == 0:  # the child: any send would be the parent's news, not the child's
        code = 2
        try:
            code = 1 if notifier.ready() or notifier.watchdog() or notifier.stopping() else 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert listener.nothing_waiting()


@pytest.mark.timed_waits  # Event.wait with a timeout: stalls under libfaketime
def test_wait_pings_the_watchdog_until_stopped(listener: Listener) -> None:
    notifier = notifier_for(listener, WATCHDOG_USEC="100000")  # a ping every 0.05 s
    stop = threading.Event()
    started = time.monotonic()
    assert notifier.wait(stop, 0.22) is False
    assert time.monotonic() - started >= 0.2
    pings = 0
    while not listener.nothing_waiting():
        pings += 1  # nothing_waiting consumed one datagram
    assert pings >= 3

    timer = threading.Timer(0.05, stop.set)
    timer.start()
    started = time.monotonic()
    assert notifier.wait(stop, 30) is True
    assert time.monotonic() - started < 5
    timer.join()


@pytest.mark.timed_waits  # Event.wait with a timeout: stalls under libfaketime
def test_wait_without_watchdog_just_waits(listener: Listener) -> None:
    notifier = notifier_for(listener)
    stop = threading.Event()
    stop.set()
    assert notifier.wait(stop, 30) is True
    assert notifier.wait(threading.Event(), 0.01) is False
    assert listener.nothing_waiting()


# --- logging ---------------------------------------------------------------------------------


def test_syslog_priorities_per_level() -> None:
    assert syslog_priority(logging.CRITICAL) == 2
    assert syslog_priority(logging.ERROR) == 3
    assert syslog_priority(logging.WARNING) == 4
    assert syslog_priority(logging.INFO) == 6
    assert syslog_priority(logging.DEBUG) == 7


def test_journal_formatter_prefixes_every_line() -> None:
    formatter = JournalFormatter()
    record = logging.LogRecord("mailtriage", logging.ERROR, __file__, 1, "boom", None, None)
    assert formatter.format(record) == "<3>ERROR mailtriage: boom"
    try:
        raise ValueError("bad")
    except ValueError:
        record = logging.LogRecord(
            "mailtriage", logging.WARNING, __file__, 1, "failed", None, sys.exc_info()
        )
    lines = formatter.format(record).splitlines()
    assert lines[0] == "<4>WARNING mailtriage: failed"
    assert len(lines) > 2
    assert all(line.startswith("<4>") for line in lines)


def test_journal_stream_is_recognised_by_device_and_inode(tmp_path: Path) -> None:
    with open(tmp_path / "stderr", "w") as stream:
        info = os.fstat(stream.fileno())
        assert stream_is_journal(stream, {"JOURNAL_STREAM": f"{info.st_dev}:{info.st_ino}"})
        assert not stream_is_journal(stream, {"JOURNAL_STREAM": f"{info.st_dev}:1"})
        assert not stream_is_journal(stream, {})
    assert not stream_is_journal(io.StringIO(), {"JOURNAL_STREAM": "1:2"})


def test_configure_logging_picks_the_format(tmp_path: Path) -> None:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    try:
        with open(tmp_path / "journal", "w+") as stream:
            info = os.fstat(stream.fileno())
            journal = {"JOURNAL_STREAM": f"{info.st_dev}:{info.st_ino}"}
            handler = configure_logging(False, stream=stream, environ=journal)
            assert root.level == logging.INFO
            logging.getLogger("mailtriage.test").warning("mailbox unreachable")
            logging.getLogger("mailtriage.test").debug("not shown")
            handler.flush()
            stream.seek(0)
            assert stream.read() == "<4>WARNING mailtriage.test: mailbox unreachable\n"

        plain = io.StringIO()
        configure_logging(True, stream=plain, environ=journal)
        assert root.level == logging.DEBUG
        logging.getLogger("mailtriage.test").debug("details")
        line = plain.getvalue()
        assert not line.startswith("<")
        assert line.endswith(" DEBUG mailtriage.test: details\n")
        assert line[:4].isdigit()  # a timestamp first
    finally:
        for handler in root.handlers[:]:
            root.removeHandler(handler)
        for handler in saved[0]:
            root.addHandler(handler)
        root.setLevel(saved[1])


# --- the unit file ---------------------------------------------------------------------------


def _unit_settings() -> dict[str, list[str]]:
    settings: dict[str, list[str]] = {}
    for line in UNIT.read_text().splitlines():
        if "=" in line and not line.startswith(("#", ";", "[")):
            key, value = line.split("=", 1)
            settings.setdefault(key.strip(), []).append(value.strip())
    return settings


def test_unit_promises_what_the_daemon_does() -> None:
    settings = _unit_settings()
    assert settings["Type"] == ["notify"]
    assert settings["NotifyAccess"] == ["main"]
    assert settings["WatchdogSec"] == ["60s"]
    assert settings["TimeoutStopSec"] == ["15s"]
    assert settings["KillSignal"] == ["SIGTERM"]
    assert settings["ExecStart"] == [
        "/opt/mailtriage/.venv/bin/mailtriage --config /etc/mailtriage/config.toml run"
    ]
    assert settings["StateDirectory"] == ["mailtriage"]
    assert set(settings["RestrictAddressFamilies"][0].split()) == {
        "AF_UNIX",
        "AF_INET",
        "AF_INET6",
    }
    assert settings["WantedBy"] == ["multi-user.target"]


def test_systemd_analyze_verify_accepts_the_unit(tmp_path: Path) -> None:
    """The unit as shipped, except that ExecStart names a binary that exists here."""
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.fail(
            "systemd-analyze is missing: install Debian's systemd package "
            "(apt-get install -y systemd); it verifies mailtriage.service without a running "
            "systemd",
            pytrace=False,
        )
    true = shutil.which("true") or "/bin/true"
    unit = UNIT.read_text().replace(
        "ExecStart=/opt/mailtriage/.venv/bin/mailtriage ", f"ExecStart={true} "
    )
    assert f"ExecStart={true} --config" in unit
    copy = tmp_path / "mailtriage.service"
    copy.write_text(unit)
    result = subprocess.run(
        [analyze, "verify", "--man=no", str(copy)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "SYSTEMD_LOG_COLOR": "0", "SYSTEMD_PAGER": ""},
    )
    complaints = (result.stdout + result.stderr).strip()
    assert result.returncode == 0, complaints
    # verify reports unknown keys and bad values as warnings yet exits 0: none allowed.
    assert complaints == "", complaints
