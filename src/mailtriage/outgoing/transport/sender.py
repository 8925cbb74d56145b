"""SMTP delivery from a small process of its own, which finishes the mail in hand when the
desk dies.

The outbox notes every mail the server accepted in a hand-off log (`outgoing/handoffs.py`),
so a successor does not send it again. One window remains when the sender is the desk
itself: the desk killed after the server took a mail and before the log line (a few hundred
microseconds, more while other threads hold the interpreter) sends that mail twice. The
desk is the process that gets killed: it parses hostile mail, holds the big memory (the
OOM killer's choice), and is what an operator or a watchdog kills. So the SMTP connection
lives in this child instead. It reads a claimed batch of (row id, envelope, bytes) from a
pipe, sends the mails one after another, writes each log line when the server has accepted,
and answers row by row (the connection never waits for the desk's interpreter). When the
desk dies, the pipe reaches EOF, which the child sees before each mail: the mail in hand is
finished and logged first, then the child exits; it starts nothing new. The log names the
desk (whose claims the rows carry) and the child (its writer): a successor takes over the
desk's claims only when both are gone, so it never re-sends what the child still finishes.

The child comes from the forkserver the parse pool also uses (a fork of a threaded desk
could inherit a lock held by another thread), is started on the first mail and lives as
long as the desk. Only SMTP with a password (or none) runs here: an OAuth2 login would need
the desk's token source in the child; Graph and the demo's Maildir stay in the desk, with
the hand-off log and its small window.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import threading
from collections.abc import Iterator
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mailtriage.config import Config
from mailtriage.outgoing.claims import ClaimOwner
from mailtriage.outgoing.transport.base import DeliveryError

if TYPE_CHECKING:
    from mailtriage.outgoing.handoffs import HandoffLog
    from mailtriage.outgoing.transport.smtp import SmtpTransport

_READY = "ready"
SKIPPED = "skipped"
PROCESS_NAME = "mailtriage-send"
_START_SECONDS = 30.0
_EXIT_WAIT_SECONDS = 5.0


def _serve(connection: Connection, config: Config, handoff_dir: Path | None, owner: str) -> None:
    """The child's loop. In: ("batch", [(row id, sender, recipient, raw), ...]), ("close",),
    ("stop",). Out, for each row of a batch, as soon as it is done: None (accepted), the
    DeliveryError's fields, or SKIPPED (not handed over: the connection failed on an earlier
    row). Its hand-off log is only ever appended to (a line per mail, a few bytes): the rows
    the desk recorded meanwhile are no longer claimed, so a successor passes over them. A
    clean stop removes the log; EOF without one (the desk died) leaves it for the successor."""
    # A Ctrl-C in the operator's terminal reaches the whole process group: the desk stops
    # the delivery in its own time, and this child must not die with a mail in hand.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with contextlib.suppress(OSError):  # so `ps` and `top` tell it from the parse worker
        Path("/proc/self/comm").write_text(PROCESS_NAME)
    # Imported here, after the name: the forkserver's children start small.
    from mailtriage.outgoing.handoffs import HandoffLog
    from mailtriage.outgoing.transport.smtp import SmtpTransport

    transport = SmtpTransport(config.smtp)
    handoffs = None
    if handoff_dir is not None:
        me = ClaimOwner.current().token
        handoffs = HandoffLog(handoff_dir, owner, f"sender{os.getpid()}", writer=me)
        handoffs.open()
    connection.send(_READY)
    stopped = False
    try:
        while True:
            try:
                request = connection.recv()
            except (EOFError, OSError):
                return  # the desk is gone: nothing is in hand
            if request[0] == "stop":
                stopped = True
                return
            if request[0] == "close":
                transport.close()
                connection.send(None)
                continue
            round_ended = False
            for row_id, sender, recipient, raw in request[1]:
                # While a batch is out, the desk sends nothing: a readable pipe is its EOF.
                if connection.poll(0):
                    return  # the desk died: the mail in hand was finished, start no other
                answer: tuple[str, bool, bool] | str | None = SKIPPED
                if not round_ended:
                    answer = _send_one(transport, handoffs, row_id, sender, recipient, raw)
                    round_ended = isinstance(answer, tuple) and not (answer[1] or answer[2])
                try:
                    connection.send(answer)
                except OSError:
                    return  # the desk died while this mail was in hand: finished and logged
    finally:
        transport.close()
        if handoffs is not None:
            handoffs.close(keep=not stopped)


def _send_one(
    transport: SmtpTransport,
    handoffs: HandoffLog | None,
    row_id: int,
    sender: str,
    recipient: str,
    raw: bytes,
) -> tuple[str, bool, bool] | None:
    try:
        transport.send(sender=sender, recipient=recipient, raw=raw, key="")
    except DeliveryError as exc:
        return (exc.reason, exc.permanent, exc.this_message_only)
    if handoffs is not None:
        handoffs.accepted(row_id)
    return None


def _outcome(answer: Any) -> DeliveryError | None:
    if answer is None:
        return None
    if answer == SKIPPED:  # never handed over: the connection failed on an earlier row
        return DeliveryError("not sent: the connection failed on an earlier mail", permanent=False)
    reason, permanent, only_this = answer
    return DeliveryError(reason, permanent=permanent, this_message_only=only_this)


class SenderProcess:
    """A `Transport` whose SMTP connection lives in a child process (see the module
    docstring); one per desk process, shared by its delivery calls (a lock keeps their
    requests apart). The child keeps the hand-off log itself."""

    def __init__(self, config: Config, handoff_dir: Path | None) -> None:
        self.config = config
        self.handoff_dir = handoff_dir
        self._process: BaseProcess | None = None
        self._connection: Connection | None = None
        self._lock = threading.Lock()

    def send_rows(
        self, rows: list[tuple[int, str, str, bytes]]
    ) -> Iterator[DeliveryError | None]:
        """Send outbox rows (row id, sender, recipient, raw) in this order; yields, row by
        row as the child finishes it, None (accepted) or the DeliveryError. The whole batch
        goes to the child at once, so the SMTP connection never waits for the desk. After a
        failure that ends the round, the child hands no further row of the batch over.
        Close the iterator when leaving early: it reads the answers left, under the lock."""
        with self._lock:
            connection = self._running()
            answered = 0
            try:
                connection.send(("batch", rows))
                while answered < len(rows):
                    answer: Any = connection.recv()
                    answered += 1
                    yield _outcome(answer)
            except (EOFError, OSError) as exc:
                self._lost()
                # Whether the server took the row in hand, only the child's log can say;
                # the successor of this desk reads it when it takes the claims over.
                failure = DeliveryError(
                    f"the sender process ended ({type(exc).__name__})", permanent=False
                )
                for _ in range(answered, len(rows)):
                    yield failure
            finally:
                # Left early (the caller stopped): the rest of the answers must not be read
                # as the next batch's.
                if self._connection is not None:
                    try:
                        for _ in range(answered, len(rows)):
                            connection.recv()
                            answered += 1
                    except (EOFError, OSError):
                        self._lost()

    def send(self, *, sender: str, recipient: str, raw: bytes, key: str) -> None:
        """`Transport.send`, for a mail that is no outbox row (the log cannot name it)."""
        for outcome in self.send_rows([(0, sender, recipient, raw)]):
            if outcome is not None:
                raise outcome

    def close(self) -> None:
        """End the SMTP connection (QUIT); the child waits for the next batch."""
        with self._lock:
            if self._connection is None:
                return
            try:
                self._connection.send(("close",))
                self._connection.recv()
            except (EOFError, OSError):
                self._lost()

    def stop(self) -> None:
        """End the child after a clean stop of the desk (its log goes with it)."""
        with self._lock:
            if self._connection is not None:
                with contextlib.suppress(OSError):
                    self._connection.send(("stop",))
            self._lost()

    def _running(self) -> Connection:
        if self._connection is not None:
            return self._connection
        context = multiprocessing.get_context("forkserver")
        ours, theirs = context.Pipe()
        process = context.Process(
            target=_serve,
            args=(theirs, self.config, self.handoff_dir, ClaimOwner.current().token),
            name="mailtriage-send",
            daemon=True,
        )
        process.start()
        theirs.close()
        try:
            started = ours.poll(_START_SECONDS) and ours.recv() == _READY
        except (EOFError, OSError):
            started = False
        if not started:
            process.kill()
            process.join(_EXIT_WAIT_SECONDS)
            ours.close()
            raise DeliveryError("the sender process did not start", permanent=False)
        self._process, self._connection = process, ours
        return ours

    def _lost(self) -> None:
        connection, process = self._connection, self._process
        self._connection = self._process = None
        if connection is not None:
            connection.close()
        if process is not None:
            process.join(_EXIT_WAIT_SECONDS)
            if process.is_alive():
                process.kill()
                process.join(_EXIT_WAIT_SECONDS)
