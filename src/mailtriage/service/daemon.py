"""`mailtriage run`: the long-lived service around intake, the outbox and the jobs.

The main thread owns the mailbox: it ingests, sends what intake queued at once (a reporter
gets the acknowledgement within seconds), then waits for new mail with IMAP IDLE (or sleeps
`poll_interval_seconds` where IDLE is off or missing). APScheduler runs the periodic jobs in a
background thread: the outbox retries, deadline reminders, progress updates, the digest and
the purge; every job reads its work from the store, so a restart only shifts timing.

A lost IMAP or SMTP server is retried with exponential backoff, never a crash. SIGTERM or
SIGINT ends the batch in hand and stops within seconds. Under systemd (`Type=notify`) the
daemon reports READY once the store is migrated and the first pass is done, pings the
watchdog only from the main loop (a hung loop gets restarted), and keeps a status line.

Several daemons may share one store (service/cluster.py): only the one holding the lease
works; the others are READY with `STATUS=standby (active: node-a since …)` and take over
when the lease lapses. A deposed daemon stops working at once and waits as standby again.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import signal
import threading
import time
from collections.abc import Callable
from types import FrameType

from apscheduler.schedulers.background import BackgroundScheduler

from mailtriage.mailbox.base import Mailbox, MailboxError
from mailtriage.service.cluster import Cluster, describe_active
from mailtriage.service.systemd import Notifier
from mailtriage.service.wiring import App
from mailtriage.store.db import StoreUnavailable
from mailtriage.store.lease import LeaseView

log = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 60.0
WAKE_SECONDS = 1.0

# (name, seconds between runs); each job is cheap when there is nothing to do.
SCHEDULE: tuple[tuple[str, int], ...] = (
    ("outbox", 30),
    ("reminders", 300),
    ("progress-updates", 900),
    ("digest", 600),
    # Reporting clocks run in hours, nights included: a 2-hour reminder must not come late.
    ("obligations", 120),
    ("monthly-report", 600),
    ("purge", 3600),
    ("certificate", 3600),
)


class Daemon:
    def __init__(self, app: App, notifier: Notifier, cluster: Cluster | None = None) -> None:
        self.app = app
        self.cluster = cluster or Cluster(app.store, app.config.cluster)
        app.sender.may_send = lambda: self.cluster.active
        self.config = app.config
        self.clock = app.clock
        self.notifier = notifier
        self.stop = threading.Event()
        self._mailbox: Mailbox | None = None
        self._ready = False

    # -- lifecycle -----------------------------------------------------------------------

    def run(self) -> int:
        self._install_signal_handlers()
        cluster = self.cluster
        try:
            # Standby until the lease is ours; a deposed daemon goes back to standby.
            while cluster.wait_until_active(self.stop, self._standby):
                self._serve()
                if not self.stop.is_set():
                    log.warning("deposed: waiting as standby")
                    self.notifier.status("deposed: waiting as standby")
        finally:
            cluster.release()
            log.info("stopped")
        return 0

    def _standby(self, view: LeaseView) -> None:
        status = f"standby (active: {describe_active(view)})"
        if not self._ready:
            self._ready = True
            self.notifier.ready(status)
        else:
            self.notifier.status(status)
        self.notifier.watchdog()

    def _serve(self) -> None:
        """Intake, outbox and jobs, for as long as this daemon holds the lease."""
        scheduler = BackgroundScheduler(
            timezone=self.config.deadlines.tz,
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 600},
        )
        app = self.app
        jobs: dict[str, Callable[[], object]] = {
            # Stops between batches on SIGTERM: a large outbox does not hold up the stop.
            "outbox": lambda: app.sender.deliver_due(should_stop=self.stop.is_set),
            "reminders": app.jobs.first_response_reminders,
            "progress-updates": app.jobs.progress_updates,
            "digest": app.jobs.digest,
            "obligations": app.jobs.obligations,
            "monthly-report": app.jobs.monthly_report,
            "purge": app.purger.run,
            "certificate": app.jobs.certificate_expiry,
        }
        for name, seconds in SCHEDULE:
            scheduler.add_job(
                self._guarded(name, jobs[name]),
                "interval",
                seconds=seconds,
                id=name,
                next_run_time=self.clock() + dt.timedelta(seconds=5),
            )
        scheduler.start()
        try:
            self._loop()
        finally:
            if self.stop.is_set():
                self.notifier.stopping("stopping")
            scheduler.shutdown(wait=True)
            self._close_mailbox()

    def _install_signal_handlers(self) -> None:
        def request_stop(signum: int, _frame: FrameType | None) -> None:
            if not self.stop.is_set():
                log.info("signal %d: finishing the batch in hand, then stopping", signum)
            self.stop.set()

        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)

    # -- the main loop -------------------------------------------------------------------

    def _loop(self) -> None:
        backoff = 1.0
        while not self.stop.is_set() and self.cluster.active:
            try:
                self._pass()
                backoff = 1.0
                self._wait_for_mail()
            except (MailboxError, StoreUnavailable) as exc:
                self._close_mailbox()
                what = "mailbox" if isinstance(exc, MailboxError) else "store"
                log.warning("%s unavailable, retrying in %.0f s: %s", what, backoff, exc)
                status = f"{what} unavailable, retrying in {backoff:.0f} s"
                if not self._ready:
                    # Up and retrying by itself: systemd should not time the start out and
                    # restart us over an IMAP server that is down.
                    self._ready = True
                    self.notifier.ready(status)
                else:
                    self.notifier.status(status)
                self._sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)

    def _pass(self) -> None:
        """The same pass as `run --once` (`App.one_pass`), minus the jobs and the purge:
        the scheduler runs those on their own timetable, so a slow digest never delays an
        acknowledgement. The mailbox is kept open between passes."""
        # Asked between batches: a long backlog keeps the watchdog fed and still stops fast.
        self.app.one_pass(self._kept_mailbox, with_jobs=False, should_stop=self._wake)
        self.notifier.watchdog()
        if not self._ready:
            self._ready = True
            self.notifier.ready("watching the mailbox")
        else:
            self.notifier.status("watching the mailbox")

    def _kept_mailbox(self) -> Mailbox:
        """The mailbox of the previous pass, or a newly opened one (kept for the next)."""
        if self._mailbox is None:
            self._mailbox = self.app.open_mailbox()
        return self._mailbox

    def _wait_for_mail(self) -> None:
        mailbox = self._mailbox
        idle = getattr(mailbox, "supports_idle", None)
        if self.config.mailbox.idle and idle is not None and idle():
            mailbox.idle_wait(  # type: ignore[union-attr]
                self.config.mailbox.poll_interval_seconds, wake=self._wake
            )
        else:
            self._sleep(self.config.mailbox.poll_interval_seconds)

    def _wake(self) -> bool:
        """Called about once a second while waiting, and between batches: the loop is alive,
        so ping the watchdog; True when the daemon should stop."""
        self.notifier.watchdog()
        return self.stop.is_set() or not self.cluster.active

    def _sleep(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds  # a duration: immune to clock steps
        while not self.stop.is_set() and self.cluster.active:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            self.stop.wait(min(remaining, WAKE_SECONDS))
            self.notifier.watchdog()

    def _close_mailbox(self) -> None:
        mailbox, self._mailbox = self._mailbox, None
        if mailbox is not None:
            with contextlib.suppress(MailboxError):
                mailbox.close()

    # -- scheduled jobs ------------------------------------------------------------------

    def _guarded(self, name: str, job: Callable[[], object]) -> Callable[[], None]:
        """A job that logs its failure in one line and waits for its next turn."""

        def run() -> None:
            if self.stop.is_set() or not self.cluster.active:
                return
            try:
                job()
            except (StoreUnavailable, MailboxError) as exc:
                log.warning("job %s failed, will run again: %s", name, exc)
            except Exception:
                log.exception("job %s failed, will run again", name)

        return run
