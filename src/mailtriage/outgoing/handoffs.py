"""Which outbox mails the server accepted from this process, kept where a crash of the
process cannot erase it.

The outbox records outcomes in batches (a write transaction per mail would halve delivery).
Without more, a process killed after the server accepted a mail but before that batch's
record leaves the mail claimed and unrecorded, and its successor sends it again. So each
delivery call keeps a hand-off log: one line with the row id, written as soon as the server
has accepted the mail. A write to a file is in the kernel's page cache when `os.write`
returns, so it outlives the process however it dies, and costs one system call, not a
transaction.

The successor, before taking over a dead sender's claims (`claims.ClaimOwner.is_gone`),
reads that sender's logs: a row the server accepted counts as sent; every other claimed row
is sent again. So a crash of the process sends a mail twice only when it falls between the
server's acceptance and the log line right after it. (Noting the mail earlier, once its last
byte is written, would lose it instead: a server may drop a message whose client vanished
before its answer, as aiosmtpd does.) A crash of the whole host (power, kernel) may lose the
page cache: then up to `outbox.RECORD_EVERY` mails go out twice.

The logs live in a state directory of this host, in a folder per store (named by a hash of
the store's URL, which may hold a password): under `$STATE_DIRECTORY` (systemd's
`StateDirectory=`), else beside a SQLite store, else `$XDG_STATE_HOME/mailtriage` (or
`~/.local/state/mailtriage`). A sender on another host cannot read them and waits for the
claim lease, as before. Without a usable directory the sender works without a log (and says
so): nothing is lost, a crash may double up to `RECORD_EVERY` mails.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

log = logging.getLogger(__name__)

SUFFIX = ".handoffs"


def handoff_directory(store_url: str, environ: Mapping[str, str] = os.environ) -> Path:
    """Where the senders of this host keep their hand-off logs for the store at `store_url`
    (see the module docstring). One folder per store: a desk reads and removes every dead
    sender's log it finds, and must never do so for another store's."""
    store = hashlib.sha256(store_url.encode("utf-8", "replace")).hexdigest()[:16]
    state = environ.get("STATE_DIRECTORY", "").split(":")[0]
    if state:
        return Path(state) / "handoffs" / store
    with contextlib.suppress(ArgumentError):
        url = make_url(store_url)
        if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
            return Path(url.database).resolve().parent / "handoffs" / store
    xdg = environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(xdg) / "mailtriage" / "handoffs" / store


class HandoffLog:
    """The hand-off log of one delivery call (`call`) of one sender (`owner`, a
    `ClaimOwner` token). `open` it before the first mail goes out, so that noting an
    acceptance is a single write."""

    def __init__(
        self, directory: Path, owner: str, call: int | str, writer: str | None = None
    ) -> None:
        self.directory = directory
        self.owner = owner
        # The process that writes the log, when not the owner itself (a sender process):
        # the owner's claims are not taken over while it may still write.
        self.writer = writer or owner
        self.path = directory / log_name(owner, call)
        self._fd: int | None = None
        self._broken = False
        self._unrecorded = False  # lines the store does not know yet

    def open(self) -> None:
        if self._fd is not None or self._broken:
            return
        try:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            self._fd = os.open(
                self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_TRUNC, 0o600
            )
            os.write(self._fd, self._header())
        except OSError as exc:
            self._give_up(exc)

    def accepted(self, row_id: int) -> None:
        """The server has accepted row `row_id`."""
        self._unrecorded = True
        if self._fd is None:
            self.open()
            if self._fd is None:
                return
        try:
            os.write(self._fd, b"%d\n" % row_id)
        except OSError as exc:
            self._give_up(exc)

    def recorded(self) -> None:
        """Every line so far is in the store now: start the log afresh."""
        self._unrecorded = False
        if self._fd is None:
            return
        try:
            os.ftruncate(self._fd, 0)
            os.write(self._fd, self._header())
        except OSError as exc:
            self._give_up(exc)

    def close(self, keep: bool = False) -> None:
        """The call is over. The log goes when the store knows all it says (unless `keep`);
        should a record have failed, it stays for the successor of this process to read."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        os.close(fd)
        if not (keep or self._unrecorded):
            with contextlib.suppress(OSError):
                self.path.unlink()

    def _header(self) -> bytes:
        return f"{self.owner}\n{self.writer}\n".encode("utf-8", "replace")

    def _give_up(self, exc: OSError) -> None:
        self._broken = True
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None
        log.warning(
            "cannot keep the outbox hand-off log in %s (%s): a crash now may send up to a "
            "record's worth of mail twice",
            self.directory,
            exc.strerror or type(exc).__name__,
        )


@dataclass(frozen=True)
class LeftLog:
    """A log a sender left: whose claims, written by whom (its first two lines). The rows
    are read only when wanted: a live sender's own log grows with every mail it sends."""

    path: Path
    owner: str
    writer: str

    def accepted(self) -> frozenset[int]:
        """The rows the server accepted (empty when the log is gone meanwhile). A torn last
        line (a crash mid-write) names no row: the row is sent again."""
        try:
            lines = self.path.read_bytes().split(b"\n")
        except OSError:
            return frozenset()
        # The part after the last newline is torn or empty.
        return frozenset(int(line) for line in lines[2:-1] if line.isdigit())


def log_name(owner: str, call: int | str) -> str:
    """A file name for any owner token (which holds a host name and a namespace path)."""
    digest = hashlib.sha256(owner.encode("utf-8", "replace")).hexdigest()[:32]
    return f"{digest}-{call}{SUFFIX}"


def read_log(path: Path) -> LeftLog | None:
    """The header of the log at `path`; None when it cannot be read or is not one."""
    try:
        with path.open("rb") as file:
            header = [file.readline(), file.readline()]
    except OSError:
        return None
    if not all(line.endswith(b"\n") for line in header):
        return None
    owner, writer = (line[:-1].decode("utf-8", "replace") for line in header)
    return LeftLog(path, owner, writer)


def logs_in(directory: Path) -> Iterator[LeftLog]:
    """Every readable log in `directory` (none when it does not exist)."""
    try:
        paths = sorted(directory.glob("*" + SUFFIX))
    except OSError:
        return
    for path in paths:
        found = read_log(path)
        if found is not None:
            yield found
