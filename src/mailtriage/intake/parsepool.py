"""Parsing in a worker process that can be killed: a time limit per message, and overlap.

Every message is parsed (MIME tree, HTML to text, language and indicator scanning: all the
text work that runs on what an attacker wrote) in one worker process, one message at a time,
under a time limit. The parsers are written to be linear, but this is the backstop for the
day one is not: a parse that takes longer than the limit gets the worker killed (a regex in
C cannot be interrupted any other way), and its message comes back as `ParseTimedOut`, which
intake quarantines. A worker that dies mid-parse (the kernel's OOM killer, a signal) is
restarted for the next message; its message comes back as `WorkerDied`, an attempt that
failed without a verdict, which intake retries until `cases.max_attempts`.

A thread in this process drives the worker, so a batch can be parsed while intake applies the
batch before it (on two cores that nearly hides the parse). Should no worker start at all (a
platform without forkserver, say), the results are empty and intake parses in its own
process, with the committed attempt counter as its only protection.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import resource
import signal
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess

from mailtriage.inbound.message import InboundMail, ParseError
from mailtriage.inbound.pgpinbound import PgpInput, parse_incoming
from mailtriage.intake.orphanguard import exit_when_gone

log = logging.getLogger(__name__)

# Far above any honest mail (a 50 MB mail parses in about two seconds on a slow core), far
# below the systemd watchdog and what would stop intake.
PARSE_TIMEOUT_SECONDS = 60.0
_EXIT_WAIT_SECONDS = 5.0
WARM_TIMEOUT_SECONDS = 30.0


class ParseTimedOut(ParseError):
    """The parse went past the time limit; the worker was killed."""


class WorkerDied(Exception):
    """The worker died while parsing this message: a failed attempt without a verdict."""


Parsed = dict[int, InboundMail | ParseError | WorkerDied]


def _limit_written_files(limit: int | None) -> None:
    """In the worker only: no file it writes may grow past `limit` bytes. Decryption streams
    its plaintext into a file (`openpgp.decrypt`), so a compression bomb ends there with
    EFBIG (SIGXFSZ ignored) rather than in the worker's memory. Process-wide, which is why
    intake's own process never sets it."""
    if not limit:
        return
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    hard = resource.getrlimit(resource.RLIMIT_FSIZE)[1]
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))


def _serve(connection: Connection, desk_pid: int, file_limit: int | None = None) -> None:
    """The worker's loop: an id, the PgpInput, then the raw bytes, in; (id, InboundMail or
    ParseError) out; until EOF or None. Encrypted mail is decrypted here, under the time
    limit (`pgpinbound`)."""
    exit_when_gone(desk_pid)  # a killed desk leaves no worker parsing on (see orphanguard)
    _limit_written_files(file_limit)
    connection.send(_READY)
    while True:
        try:
            message_id = connection.recv()
            if message_id is None:
                return
            pgp = connection.recv()
            raw = connection.recv_bytes()
        except (EOFError, OSError):
            return
        result: InboundMail | ParseError
        try:
            result = parse_incoming(raw, pgp)
        except ParseError as exc:
            result = ParseError(*exc.args)  # without its cause, which may not pickle
        connection.send((message_id, result))


_READY = "ready"
_START_SECONDS = 30.0


class _Worker:
    """One worker process and our end of its pipe."""

    def __init__(self, file_limit: int | None = None) -> None:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["mailtriage.intake.parsepool"])  # with message, pgpinbound
        ours, theirs = context.Pipe()
        self.process: BaseProcess = context.Process(
            target=_serve,
            args=(theirs, os.getpid(), file_limit),
            name="mailtriage-parse",
            daemon=True,
        )
        self.process.start()
        theirs.close()
        self.connection = ours
        # The parse limit is for parsing: a worker slow to start on a busy machine must not
        # make the first mail it gets look like a poison mail.
        if not ours.poll(_START_SECONDS) or ours.recv() != _READY:
            self.stop(kill=True)
            raise RuntimeError("the parse worker did not start")

    def parse(
        self, message_id: int, raw: bytes, timeout: float, pgp: PgpInput | None = None
    ) -> InboundMail | ParseError:
        """Parse one message. Raises TimeoutError past `timeout`, EOFError/OSError if the
        worker died; either way the caller throws this worker away."""
        # The bytes as they are (send_bytes), not pickled: a pickle would be one more copy
        # of a 30 MB mail in the desk's memory.
        self.connection.send(message_id)
        self.connection.send(pgp)
        self.connection.send_bytes(raw)
        deadline = time.monotonic() + timeout
        while not self.connection.poll(max(0.0, deadline - time.monotonic())):
            if time.monotonic() >= deadline:
                raise TimeoutError
        answered_id, result = self.connection.recv()
        if answered_id != message_id:
            raise OSError("the parse worker answered for another message")
        assert isinstance(result, InboundMail | ParseError)
        return result

    def stop(self, kill: bool = False) -> None:
        if not kill:
            try:
                self.connection.send(None)
            except OSError:
                kill = True
        if kill and self.process.is_alive():
            self.process.kill()
        self.process.join(_EXIT_WAIT_SECONDS)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(_EXIT_WAIT_SECONDS)
        self.connection.close()


class ParsePool:
    def __init__(
        self, timeout_seconds: float = PARSE_TIMEOUT_SECONDS, file_limit: int | None = None
    ) -> None:
        """`file_limit`: the most a decrypted plaintext may weigh (`max_message_bytes`)."""
        self.timeout_seconds = timeout_seconds
        self.file_limit = file_limit
        self._driver = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mailtriage-parse")
        self._worker: _Worker | None = None
        self._broken = False
        self._started = threading.Event()  # a worker has run (or none can): see `warm`

    def warm(self, timeout: float = WARM_TIMEOUT_SECONDS) -> None:
        """Wait until the worker process has started once (the forkserver's start takes a
        second or more on a busy machine). Intake calls it before it counts attempts, so a
        daemon killed again and again while starting up does not use up the attempts of
        the mail it was about to parse: they are for mail that kills the process."""
        if self._started.is_set() or self._broken:
            return
        self._driver.submit(self._running_worker)
        self._started.wait(timeout)

    def submit(self, raws: dict[int, bytes], pgp: PgpInput | None = None) -> Future[Parsed] | None:
        """Start parsing `raws` in the worker; None when the pool cannot be used. `pgp`:
        the keys to decrypt and check signatures with."""
        if self._broken:
            return None
        items = [(i, raw) for i, raw in raws.items() if raw]
        if not items:
            return None
        return self._driver.submit(self._parse_all, items, pgp)

    def parse(self, raws: dict[int, bytes], pgp: PgpInput | None = None) -> Parsed:
        """Parse `raws` in the worker now (messages left out are to be parsed in-process)."""
        return self.results(self.submit(raws, pgp))

    def results(self, future: Future[Parsed] | None) -> Parsed:
        """What the worker parsed; missing entries are to be parsed in-process."""
        return {} if future is None else future.result()

    def _parse_all(self, items: list[tuple[int, bytes]], pgp: PgpInput | None) -> Parsed:
        """Runs on the driver thread: each message in turn, a fresh worker after a failure."""
        results: Parsed = {}
        for message_id, raw in items:
            worker = self._running_worker()
            if worker is None:
                break  # no worker to be had: the rest is parsed in-process
            try:
                results[message_id] = worker.parse(message_id, raw, self.timeout_seconds, pgp)
            except TimeoutError:
                log.warning(
                    "message %d: parse went past %g s; worker killed",
                    message_id,
                    self.timeout_seconds,
                )
                self._discard_worker(kill=True)
                results[message_id] = ParseTimedOut(
                    f"parse took longer than {self.timeout_seconds:g} s"
                )
            except (EOFError, OSError) as exc:
                log.warning(
                    "message %d: the parse worker died (%s)", message_id, type(exc).__name__
                )
                self._discard_worker(kill=True)
                results[message_id] = WorkerDied("the parse worker died on this message")
        return results

    def _running_worker(self) -> _Worker | None:
        if self._worker is None and not self._broken:
            try:
                self._worker = _Worker(self.file_limit)
            except (OSError, EOFError, RuntimeError, ValueError) as exc:
                log.warning("parse worker unavailable, parsing in-process (%s)", type(exc).__name__)
                self._broken = True
            self._started.set()
        return self._worker

    def _discard_worker(self, kill: bool) -> None:
        worker, self._worker = self._worker, None
        if worker is not None:
            worker.stop(kill=kill)

    def close(self) -> None:
        """Finish what was submitted, then stop the worker."""
        self._driver.shutdown(wait=True, cancel_futures=True)
        self._discard_worker(kill=False)
