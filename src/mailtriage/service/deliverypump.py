"""Delivery while intake works: acknowledgements leave during a burst, not after it.

A pass ingests first and delivers after (`App.one_pass`). With a backlog of a thousand reports
that makes every reporter wait for the whole intake, and leaves the SMTP connection idle while
intake waits on IMAP, the parse worker and the disk. The pump runs `OutboxSender.deliver_due`
on a thread of its own for as long as intake runs, so the two waits overlap; the pass still
ends with a delivery of its own after the jobs, so everything queued in the pass goes out in
it. The outbox's claims keep two senders from sending one row twice, so nothing changes in
what is sent, only when.
"""

from __future__ import annotations

import logging
import threading
from types import TracebackType

from mailtriage.outgoing.outbox import DeliveryReport, OutboxSender

log = logging.getLogger(__name__)

IDLE_WAIT_SECONDS = 0.2  # between looks at the outbox when nothing was due


class DeliveryPump:
    def __init__(self, sender: OutboxSender) -> None:
        self.sender = sender
        self.report = DeliveryReport()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="mailtriage-pump", daemon=True)

    def __enter__(self) -> DeliveryPump:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                # Our own stop, not the daemon's: asking that would ping the watchdog from
                # this thread and hide a main loop that hangs. The pass's own delivery after
                # intake asks the daemon.
                done = self.sender.deliver_due(should_stop=self._stop.is_set)
            except Exception as exc:  # the pass's own delivery after intake will try again
                log.warning("delivery during intake stopped: %s", type(exc).__name__)
                return
            self.report.sent += done.sent
            self.report.deferred += done.deferred
            self.report.failed += done.failed
            if done.interrupted:
                self.report.interrupted = True  # the server is away: not again in this pass
                return
            if not (done.sent or done.deferred or done.failed):
                self._stop.wait(IDLE_WAIT_SECONDS)
