"""Parsing the next batch in a second process while this one applies the current batch.

Parsing is pure CPU work on bytes already stored, and the rest of intake (IMAP, SQLite) waits
on I/O half the time; on a machine with two cores, overlapping the two nearly hides the cost
of parsing when a mailbox has a backlog. The pool is an optimisation only: whatever goes wrong
with it (the worker dies, the platform cannot start one), intake parses in its own process.
"""

from __future__ import annotations

import logging
import multiprocessing
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from mailtriage.message import InboundMail, ParseError, parse_message

log = logging.getLogger(__name__)

# Bigger mails are parsed in the intake process: shipping them to the worker would cost more
# memory (a copy on each side) than the overlap saves time.
MAX_SHIPPED_BYTES = 2_000_000

Parsed = dict[int, InboundMail | ParseError]


def parse_many(items: list[tuple[int, bytes]]) -> Parsed:
    """Runs in the worker: every message parsed, or the ParseError it raised."""
    results: Parsed = {}
    for message_id, raw in items:
        try:
            results[message_id] = parse_message(raw)
        except ParseError as exc:
            results[message_id] = exc
    return results


class ParsePool:
    def __init__(self) -> None:
        self._executor: ProcessPoolExecutor | None = None
        self._broken = False

    def submit(self, raws: dict[int, bytes]) -> Future[Parsed] | None:
        """Start parsing `raws` in the worker; None when the pool cannot be used."""
        if self._broken:
            return None
        items = [(i, raw) for i, raw in raws.items() if 0 < len(raw) <= MAX_SHIPPED_BYTES]
        if not items:
            return None
        try:
            if self._executor is None:
                context = multiprocessing.get_context("forkserver")
                context.set_forkserver_preload(["mailtriage.message"])
                self._executor = ProcessPoolExecutor(max_workers=1, mp_context=context)
            return self._executor.submit(parse_many, items)
        except (OSError, RuntimeError, BrokenProcessPool) as exc:
            self._give_up(exc)
            return None

    def results(self, future: Future[Parsed] | None) -> Parsed:
        """What the worker parsed; an empty answer (parse here instead) if it failed."""
        if future is None:
            return {}
        try:
            return future.result()
        except (OSError, RuntimeError, BrokenProcessPool) as exc:
            self._give_up(exc)
            return {}

    def _give_up(self, exc: BaseException) -> None:
        log.warning("parse worker unavailable, parsing in-process (%s)", type(exc).__name__)
        self._broken = True
        self.close()

    def close(self) -> None:
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)
