"""One active daemon per store: a lease row with an epoch, and the fence every write passes.

Several `mailtriage run` may share a store (PostgreSQL, or one SQLite file). The one holding
the lease does intake, the outbox and the jobs; the others wait as standby and take the lease
over when it has not been renewed for `lease_seconds`. Each takeover adds one to the epoch.

Renewing on time is not enough to be safe: a leader paused (SIGSTOP, a VM frozen, a long GC)
past its lease wakes up believing it still leads. So every transaction of the active daemon
checks, as its last statement before COMMIT, that the lease row still names this process at
this epoch, and rolls back otherwise (`Deposed`). On PostgreSQL that check takes a share lock
on the lease row, so a takeover (an UPDATE of that row) waits for a write that already passed
its check and the write is ordered before the takeover; on SQLite every transaction already
holds the database's write lock (BEGIN IMMEDIATE). A leader cannot block a takeover for
long: its connections end an idle transaction after `lease_seconds`.

Lease times are the database server's clock (seconds since 1970), not any node's: the nodes'
clocks may disagree, and a test's fake clock must not decide who leads.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import secrets
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from mailtriage.store.db import StoreUnavailable
from mailtriage.store.models import ClusterLease, ClusterNode

LEASE_ROW = 1
NODES_KEPT_SECONDS = 3600.0  # a standby not seen for an hour is no longer listed


class Deposed(StoreUnavailable):
    """This process no longer holds the lease: the write was rolled back, nothing happened."""


@dataclasses.dataclass(frozen=True)
class LeaseView:
    """The lease as one read saw it."""

    node_name: str | None
    holder: str | None
    epoch: int
    acquired_s: float | None
    expires_s: float | None
    now_s: float

    @property
    def live(self) -> bool:
        return self.holder is not None and (self.expires_s or 0.0) > self.now_s


def db_now_seconds(session: Session | Connection) -> float:
    """The database server's time, in seconds since 1970 (not this node's clock)."""
    if session.get_bind().dialect.name == "postgresql":
        sql = "SELECT extract(epoch FROM clock_timestamp())"
    else:
        sql = "SELECT (julianday('now') - 2440587.5) * 86400.0"
    return float(session.execute(text(sql)).scalar_one())


def read_lease(session: Session, *, lock: str | None = None) -> LeaseView:
    query = select(ClusterLease).where(ClusterLease.id == LEASE_ROW)
    if lock == "update":
        query = query.with_for_update()
    elif lock == "share":
        query = query.with_for_update(read=True)
    row = session.execute(query).scalar_one()
    return LeaseView(
        node_name=row.node_name,
        holder=row.holder,
        epoch=row.epoch,
        acquired_s=row.acquired_s,
        expires_s=row.expires_s,
        now_s=db_now_seconds(session),
    )


def new_holder_id(node_name: str) -> str:
    """This process's identity in the lease: node, pid, and a token no restart repeats."""
    return f"{node_name}:{os.getpid()}:{secrets.token_hex(4)}"


def _pid_of(holder: str) -> int | None:
    try:
        return int(holder.rsplit(":", 2)[1])
    except (IndexError, ValueError):
        return None


def _dead_on_this_node(view: LeaseView, node_name: str) -> bool:
    """The holder ran on this node (same name) and its process is gone: a daemon restarted
    after a crash need not wait out its own predecessor's lease."""
    if view.holder is None or view.node_name != node_name:
        return False
    pid = _pid_of(view.holder)
    if pid is None or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


class Lease:
    """This process's side of the lease: try to take or renew it, fence writes, release it."""

    def __init__(self, node_name: str, lease_seconds: float) -> None:
        self.node_name = node_name
        self.lease_seconds = float(lease_seconds)
        self.holder = new_holder_id(node_name)
        self.epoch: int | None = None  # set while this process holds the lease

    @property
    def held(self) -> bool:
        return self.epoch is not None

    def try_acquire(self, session: Session) -> LeaseView:
        """Take the lease if free, expired or ours (renewing it); the lease as it now is.

        Runs in the caller's transaction, which locks the row (FOR UPDATE on PostgreSQL; on
        SQLite the transaction holds the write lock already).
        """
        if session.get_bind().dialect.name == "postgresql":
            # A takeover must not hang on a lock a paused leader holds: give up this poll.
            session.execute(text("SET LOCAL lock_timeout = '2s'"))
        view = read_lease(session, lock="update")
        expires = view.now_s + self.lease_seconds
        if view.holder == self.holder and view.epoch == self.epoch:
            session.execute(
                update(ClusterLease).where(ClusterLease.id == LEASE_ROW).values(expires_s=expires)
            )
            self._seen(session, "active", view.now_s)
            return dataclasses.replace(view, expires_s=expires)
        if view.live and not _dead_on_this_node(view, self.node_name):
            self.epoch = None
            self._seen(session, "standby", view.now_s)
            return view
        epoch = view.epoch + 1
        session.execute(
            update(ClusterLease)
            .where(ClusterLease.id == LEASE_ROW, ClusterLease.epoch == view.epoch)
            .values(
                holder=self.holder,
                node_name=self.node_name,
                epoch=epoch,
                acquired_s=view.now_s,
                expires_s=expires,
            )
        )
        self.epoch = epoch
        self._seen(session, "active", view.now_s)
        return LeaseView(self.node_name, self.holder, epoch, view.now_s, expires, view.now_s)

    def fence(self, session: Session) -> None:
        """The last statement of every write transaction: still ours, at our epoch?"""
        if self.epoch is None:
            raise Deposed("this daemon does not hold the store's lease")
        view = read_lease(session, lock="share")
        if view.holder != self.holder or view.epoch != self.epoch:
            self.epoch = None
            raise Deposed(f"the lease passed to {view.node_name} (epoch {view.epoch})")

    def release(self, session: Session) -> None:
        """Give the lease up at a clean stop, so a standby takes over at its next poll."""
        session.execute(
            update(ClusterLease)
            .where(ClusterLease.id == LEASE_ROW, ClusterLease.holder == self.holder)
            .values(holder=None, expires_s=None)
        )
        session.execute(ClusterNode.__table__.delete().where(ClusterNode.holder == self.holder))
        self.epoch = None

    def _seen(self, session: Session, role: str, now_s: float) -> None:
        row = session.get(ClusterNode, self.holder)
        if row is None:
            session.add(
                ClusterNode(holder=self.holder, node_name=self.node_name, role=role, seen_s=now_s)
            )
        else:
            row.role = role
            row.seen_s = now_s
        session.execute(
            ClusterNode.__table__.delete().where(ClusterNode.seen_s < now_s - NODES_KEPT_SECONDS)
        )


def cluster_status(session: Session) -> dict[str, Any]:
    """The lease and the nodes, for `mailtriage status`."""
    view = read_lease(session)
    nodes = session.execute(
        select(
            ClusterNode.node_name, ClusterNode.role, ClusterNode.seen_s, ClusterNode.holder
        ).order_by(ClusterNode.node_name)
    ).all()
    since = (
        dt.datetime.fromtimestamp(view.acquired_s, dt.UTC).isoformat()
        if view.live and view.acquired_s is not None
        else None
    )
    return {
        "active_node": view.node_name if view.live else None,
        "active_since": since,
        "epoch": view.epoch,
        "lease_expires_in_seconds": (
            round((view.expires_s or 0.0) - view.now_s, 1) if view.live else None
        ),
        "standbys": [
            {"node": name, "seen_seconds_ago": round(view.now_s - seen, 1)}
            for name, role, seen, holder in nodes
            if role == "standby" and holder != view.holder
        ],
    }


__all__ = ["Deposed", "Lease", "LeaseView", "cluster_status", "db_now_seconds"]
