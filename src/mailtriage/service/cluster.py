"""This daemon's place in the cluster: wait as standby, lead while the lease is ours.

The lease itself (the row, the epoch, the fence) is in store/lease.py; this module runs it:
a standby polls every third of `lease_seconds` and so takes over within `lease_seconds` plus
one poll after the active node stops renewing; the active node renews from a thread of its
own at the same rate, so a long batch or a slow SMTP server never lets the lease lapse, and
installs the fence on the store so each of its writes checks the epoch before it commits.

A daemon that finds the lease gone (it was paused past it, or the store was unreachable for
longer) stops leading at once: the main loop and the jobs see `active` turn False, and any
write already under way is refused by the fence.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import event

from mailtriage.config import ClusterConfig
from mailtriage.store.db import Store, StoreUnavailable
from mailtriage.store.lease import Lease, LeaseView

log = logging.getLogger(__name__)

MIN_POLL_SECONDS = 0.2


def describe_active(view: LeaseView) -> str:
    """'node-a since 2026-12-01 06:10:02 UTC', as systemd's STATUS= and `status` say it."""
    if not view.live or view.acquired_s is None:
        return "none"
    since = dt.datetime.fromtimestamp(view.acquired_s, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return f"{view.node_name} since {since}"


def _end_idle_transactions(store: Store, lease_seconds: float) -> None:
    """On PostgreSQL, have the server end any transaction of ours left idle for a lease's
    length: a daemon paused mid-transaction (SIGSTOP, a frozen VM) would otherwise hold its
    row locks, and the lease row's, and keep the standby from ever taking over."""
    timeout_ms = max(int(lease_seconds * 1000), 1000)

    @event.listens_for(store.engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        with dbapi_connection.cursor() as cursor:
            cursor.execute(f"SET idle_in_transaction_session_timeout = {timeout_ms}")
        dbapi_connection.commit()

    store.engine.dispose()  # connections opened before this get the setting too


class Cluster:
    """The lease as one daemon process uses it."""

    def __init__(self, store: Store, config: ClusterConfig) -> None:
        self.store = store
        self.lease = Lease(config.node_name, config.lease_seconds)
        self.poll_seconds = max(config.lease_seconds / 3.0, MIN_POLL_SECONDS)
        self._renewed_at = 0.0  # time.monotonic() of the last successful renewal
        self._active = threading.Event()
        self._stop_renewing = threading.Event()
        self._renewer: threading.Thread | None = None
        if store.engine.dialect.name == "postgresql":
            _end_idle_transactions(store, config.lease_seconds)

    @property
    def active(self) -> bool:
        """True while this process holds the lease, as far as it can tell without asking:
        a renewal failed for longer than the lease lasts means another node may lead."""
        if not self._active.is_set():
            return False
        if time.monotonic() - self._renewed_at > self.lease.lease_seconds:
            self._lose("the lease was not renewed in time")
            return False
        return True

    @property
    def epoch(self) -> int | None:
        return self.lease.epoch

    def try_acquire(self) -> LeaseView:
        """One attempt: take (or renew) the lease if we may; the lease as it stands."""
        started = time.monotonic()
        with self.store.session(fenced=False) as session:
            view = self.lease.try_acquire(session)
        if self.lease.held:
            if not self._active.is_set():
                log.debug("active on this store (epoch %d)", view.epoch)
            self._renewed_at = started
            self.store.fence = self.lease.fence
            self._active.set()
        else:
            self._active.clear()
        return view

    def wait_until_active(
        self, stop: threading.Event, on_standby: Callable[[LeaseView], None]
    ) -> bool:
        """Poll until this process leads (True) or `stop` is set (False)."""
        announced: tuple[str | None, int] | None = None
        while not stop.is_set():
            try:
                view = self.try_acquire()
            except StoreUnavailable as exc:
                log.warning("store unavailable while waiting for the lease: %s", exc)
                stop.wait(self.poll_seconds)
                continue
            if self.lease.held:
                log.info("active on this store (epoch %d)", view.epoch)
                self.start_renewing()
                return True
            if announced != (view.holder, view.epoch):
                announced = (view.holder, view.epoch)
                log.info("standby: %s is active (epoch %d)", view.node_name, view.epoch)
            on_standby(view)
            stop.wait(self.poll_seconds)
        return False

    def start_renewing(self) -> None:
        self._stop_renewing.clear()
        self._renewer = threading.Thread(target=self._renew_loop, name="lease", daemon=True)
        self._renewer.start()

    def _renew_loop(self) -> None:
        while not self._stop_renewing.wait(self.poll_seconds):
            try:
                self.try_acquire()
            except StoreUnavailable as exc:
                log.warning("cannot renew the lease: %s", exc)
            if not self.lease.held:
                self._lose("another node took the lease over")
                return

    def _lose(self, why: str) -> None:
        if self._active.is_set():
            log.warning("no longer active: %s", why)
        self._active.clear()
        self.lease.epoch = None  # the fence now refuses every write of this process
        self._stop_renewing.set()

    def stop_renewing(self) -> None:
        self._stop_renewing.set()
        if self._renewer is not None and self._renewer is not threading.current_thread():
            self._renewer.join(timeout=10)
        self._renewer = None

    def release(self) -> None:
        """A clean stop: give the lease up so a standby takes over at its next poll."""
        self.stop_renewing()
        self._active.clear()
        try:
            with self.store.session(fenced=False) as session:
                self.lease.release(session)
        except StoreUnavailable as exc:
            log.warning("cannot release the lease (it will expire): %s", exc)
        self.store.fence = self.lease.fence  # refuses everything from now on
