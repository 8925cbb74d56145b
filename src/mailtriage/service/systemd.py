"""Running under systemd: readiness, watchdog and status (sd_notify), and logs fit for journald.

The daemon runs as a `Type=notify` service (`mailtriage.service` at the top of the repository).
systemd then needs three things from it: a `READY=1` once the store is migrated and the loop
is about to start, a `WATCHDOG=1` at least every `WatchdogSec` while the loop is healthy (so a
daemon stuck on a dead IMAP connection gets restarted instead of silently answering no one),
and `STOPPING=1` when it shuts down. The protocol is one datagram of `KEY=value` lines sent
to the AF_UNIX socket named by `$NOTIFY_SOCKET` (sd_notify(3)); that is a few lines of code,
so this module implements it with the standard library instead of depending on a binding to
libsystemd. Outside systemd (no `$NOTIFY_SOCKET`), every call does nothing.

A notification is a courtesy to the service manager: a failed send is logged at debug level
and never raised, since the daemon must not die because systemd went away or restarted.

Status text shows in `systemctl status`, readable by every local user: like the logs, it must
never carry a reporter's address or message text. It is made one line and bounded here.

`configure_logging` sends log records to stderr; when stderr is the journal's stream
(`$JOURNAL_STREAM`), lines carry no timestamp (journald adds its own) and start with the
syslog priority prefix `<N>` of sd-daemon(3), so `journalctl -p warning` finds the warnings.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
import threading
import time
from collections.abc import Mapping
from typing import TextIO

log = logging.getLogger(__name__)

# systemd shows the status in one line of `systemctl status`; anything longer is noise.
MAX_STATUS_CHARS = 200

# A send blocks only when systemd's queue is full; it must not stall the daemon for long.
SEND_TIMEOUT_SECONDS = 1.0


class Notifier:
    """Sends sd_notify(3) messages to the service manager; a no-op when there is none.

    Create it with `Notifier.from_env()` in the main process. A process forked from it (the
    parse worker) sends nothing: with `NotifyAccess=main` systemd would reject it anyway.
    """

    def __init__(self, address: str | None, watchdog_usec: int | None = None) -> None:
        """`address`: a filesystem path, or an abstract socket name starting with NUL;
        None disables every notification. `watchdog_usec`: systemd's WATCHDOG_USEC, or None
        when the watchdog is off (or meant for another process)."""
        self._address = address
        self._watchdog_usec = watchdog_usec if watchdog_usec and watchdog_usec > 0 else None
        self._pid = os.getpid()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Notifier:
        """The notifier systemd asked for through NOTIFY_SOCKET, WATCHDOG_USEC, WATCHDOG_PID."""
        address = _socket_address(environ.get("NOTIFY_SOCKET", ""))
        watchdog_usec: int | None = None
        raw_usec = environ.get("WATCHDOG_USEC", "")
        raw_pid = environ.get("WATCHDOG_PID", "")
        if address is not None and raw_usec:
            try:
                usec = int(raw_usec)
                meant_for_us = not raw_pid or int(raw_pid) == os.getpid()
            except ValueError:
                log.debug("ignoring malformed WATCHDOG_USEC/WATCHDOG_PID")
            else:
                if meant_for_us and usec > 0:
                    watchdog_usec = usec
        return cls(address, watchdog_usec)

    @property
    def enabled(self) -> bool:
        """True when a service manager listens (NOTIFY_SOCKET was set and usable)."""
        return self._address is not None

    @property
    def watchdog_interval(self) -> float | None:
        """Seconds between watchdog pings (half of WATCHDOG_USEC, as sd_watchdog_enabled(3)
        recommends), or None when the watchdog is off."""
        if self._address is None or self._watchdog_usec is None:
            return None
        return self._watchdog_usec / 2_000_000

    def ready(self, status: str | None = None) -> bool:
        """Start-up is done: systemd considers the service started."""
        return self.send("READY=1", *_status_field(status))

    def status(self, text: str) -> bool:
        """A one-line state for `systemctl status`; never personal data or message text."""
        return self.send(*_status_field(text))

    def watchdog(self) -> bool:
        """The loop is healthy. Sent only while the watchdog is on and meant for us."""
        if self.watchdog_interval is None:
            return False
        return self.send("WATCHDOG=1")

    def stopping(self, status: str | None = None) -> bool:
        """Shutdown has begun."""
        return self.send("STOPPING=1", *_status_field(status))

    def reloading(self, status: str | None = None) -> bool:
        """A reload has begun; send `ready()` when it is done (MONOTONIC_USEC: systemd 253+)."""
        now_usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        return self.send("RELOADING=1", f"MONOTONIC_USEC={now_usec}", *_status_field(status))

    def extend_timeout(self, seconds: float) -> bool:
        """Ask for more time to start or stop (a long migration): from now, `seconds` more."""
        return self.send(f"EXTEND_TIMEOUT_USEC={max(0, int(seconds * 1_000_000))}")

    def wait(self, stop: threading.Event, timeout: float) -> bool:
        """Wait up to `timeout` seconds for `stop`, pinging the watchdog meanwhile.

        For the loop's idle wait between healthy passes; returns True when `stop` was set.
        Never call it around work that may hang: the point of the watchdog is that no ping
        goes out then.
        """
        interval = self.watchdog_interval
        deadline = time.monotonic() + max(0.0, timeout)
        while True:
            if interval is not None:
                self.watchdog()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return stop.is_set()
            if stop.wait(remaining if interval is None else min(interval, remaining)):
                return True

    def send(self, *fields: str) -> bool:
        """Send one datagram of `KEY=value` lines; True when it went out. Never raises."""
        if self._address is None or not fields or os.getpid() != self._pid:
            return False
        payload = "\n".join(fields).encode("utf-8")
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.settimeout(SEND_TIMEOUT_SECONDS)
                sock.sendto(payload, self._address)
        except OSError as exc:
            log.debug("notify to the service manager failed: %s", exc)
            return False
        return True


def _socket_address(value: str) -> str | None:
    """NOTIFY_SOCKET as an address for sendto: '@name' is the abstract socket '\\0name'."""
    if not value:
        return None
    if value.startswith("@") and len(value) > 1:
        return "\0" + value[1:]
    if value.startswith("/"):
        return value
    # Other forms (vsock:, relative paths) are not for a daemon like this one.
    log.debug("ignoring NOTIFY_SOCKET in an unsupported form")
    return None


def one_line(text: str, limit: int = MAX_STATUS_CHARS) -> str:
    """`text` as one bounded line: line breaks and other control characters become spaces."""
    flat = " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())
    if len(flat) > limit:
        flat = flat[: limit - 1].rstrip() + "…"
    return flat


def _status_field(text: str | None) -> tuple[str, ...]:
    return () if text is None else (f"STATUS={one_line(text)}",)


# --- logging --------------------------------------------------------------------------------

# sd-daemon(3): SD_CRIT "<2>", SD_ERR "<3>", SD_WARNING "<4>", SD_INFO "<6>", SD_DEBUG "<7>".
_PRIORITIES = (
    (logging.CRITICAL, 2),
    (logging.ERROR, 3),
    (logging.WARNING, 4),
    (logging.INFO, 6),
)
_DEBUG_PRIORITY = 7

JOURNAL_FORMAT = "%(levelname)s %(name)s: %(message)s"
PLAIN_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def syslog_priority(levelno: int) -> int:
    """The syslog priority journald should record for a logging level."""
    for level, priority in _PRIORITIES:
        if levelno >= level:
            return priority
    return _DEBUG_PRIORITY


class JournalFormatter(logging.Formatter):
    """Prefixes every line of a record with `<N>`, so a traceback's lines keep its priority
    (journald reads each line of the stream as an entry of its own)."""

    def __init__(self, fmt: str = JOURNAL_FORMAT) -> None:
        super().__init__(fmt)

    def format(self, record: logging.LogRecord) -> str:
        prefix = f"<{syslog_priority(record.levelno)}>"
        return "\n".join(prefix + line for line in super().format(record).splitlines())


def stream_is_journal(stream: TextIO, environ: Mapping[str, str] = os.environ) -> bool:
    """True when `stream` is the journal's stream that systemd connected (JOURNAL_STREAM
    is "device:inode" of it; a redirected stderr in a child does not match)."""
    expected = environ.get("JOURNAL_STREAM", "")
    if not expected:
        return False
    try:
        info = os.fstat(stream.fileno())
    except (OSError, ValueError, AttributeError):
        return False
    return expected == f"{info.st_dev}:{info.st_ino}"


def configure_logging(
    verbose: bool,
    stream: TextIO | None = None,
    environ: Mapping[str, str] = os.environ,
) -> logging.Handler:
    """Log to stderr (or `stream`): journald's format when it is the journal, else with
    timestamps. Replaces the root logger's handlers; returns the new handler."""
    target = stream if stream is not None else sys.stderr
    handler = logging.StreamHandler(target)
    if stream_is_journal(target, environ):
        handler.setFormatter(JournalFormatter())
    else:
        handler.setFormatter(logging.Formatter(PLAIN_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    # `-v` is for the desk's own debugging: libraries that log every step at DEBUG (the
    # charts' font matching writes hundreds of lines per mail) would drown it, and can fill
    # a pipe a supervisor reads only now and then until the daemon blocks writing its log.
    for noisy in QUIET_LIBRARIES:
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return handler


QUIET_LIBRARIES = ("matplotlib", "PIL", "fontTools", "asyncio")
