"""`mailtriage status [--json]`: what this store's desk is doing, read from the store only.

It runs next to the daemon, as another process, so it can only show what the daemon leaves
in the store: the outbox, the quarantine, the open and overdue cases, and (with OAuth2) when
the daemon's access token runs out and when a configured client certificate expires, and
the reporting steps (`#exploited`, `#incident`) not yet filed. The
token itself never leaves the daemon's memory. The cluster line names the node holding the
store's lease, since when, the lease's epoch and the standbys (store/lease.py).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select

from mailtriage.clock import Clock
from mailtriage.config import Config, ConfigError
from mailtriage.desk import obligations
from mailtriage.mailbox.oauth2 import load_certificate
from mailtriage.policy.cases import State
from mailtriage.service.oauth2_wiring import recorded_token, uses_oauth2
from mailtriage.store.db import Store
from mailtriage.store.lease import cluster_status
from mailtriage.store.models import Case, MessageStatus, OutboxMail, OutboxStatus, StoredMessage


def status_object(config: Config, store: Store, clock: Clock) -> dict[str, Any]:
    now = clock()
    with store.session() as session:
        outbox = dict(
            session.execute(
                select(OutboxMail.status, func.count())
                .where(OutboxMail.status.in_((OutboxStatus.PENDING, OutboxStatus.FAILED)))
                .group_by(OutboxMail.status)
            ).all()
        )
        quarantined = session.scalar(
            select(func.count()).where(StoredMessage.status == MessageStatus.QUARANTINED)
        )
        open_cases = session.scalar(select(func.count()).where(Case.state != State.CLOSED))
        overdue = session.scalar(
            select(func.count()).where(
                Case.state.in_(State.OPEN),
                Case.first_response_at.is_(None),
                Case.first_response_due < now,
            )
        )
        steps = obligations.open_steps(session)
        cluster = cluster_status(session)
    return {
        "cluster": cluster,
        "outbox": {
            "pending": int(outbox.get(OutboxStatus.PENDING, 0)),
            "failed": int(outbox.get(OutboxStatus.FAILED, 0)),
        },
        "quarantine": int(quarantined or 0),
        "cases": {"open": int(open_cases or 0), "overdue": int(overdue or 0)},
        "obligations": [
            {
                **step,
                "late": step["due"] is not None and dt.datetime.fromisoformat(step["due"]) <= now,
            }
            for step in steps
        ],
        "oauth2": oauth2_status(config, store, now),
    }


def oauth2_status(config: Config, store: Store, now: dt.datetime) -> dict[str, Any] | None:
    if not uses_oauth2(config) or config.oauth2 is None:
        return None
    record = recorded_token(store)
    certificate: str | None = None
    if config.oauth2.certificate_file is not None:
        try:
            certificate = load_certificate(config.oauth2.certificate_file)[2].not_after.isoformat()
        except ConfigError:
            certificate = None
    return {
        "provider": config.oauth2.provider,
        "token_expires_at": record.expires_at.isoformat() if record else None,
        "token_obtained_at": (
            record.obtained_at.isoformat() if record and record.obtained_at else None
        ),
        "token_valid": bool(record and record.expires_at > now),
        "certificate_expires_at": certificate,
    }


def status_lines(status: dict[str, Any], tz: dt.tzinfo) -> list[str]:
    cluster = status["cluster"]
    if cluster["active_node"] is None:
        active = f"no node active (epoch {cluster['epoch']})"
    else:
        since = dt.datetime.fromisoformat(cluster["active_since"]).astimezone(tz)
        active = (
            f"active: {cluster['active_node']} since {since.isoformat(timespec='seconds')}"
            f", epoch {cluster['epoch']}"
        )
    standbys = ", ".join(node["node"] for node in cluster["standbys"]) or "none"
    lines = [
        f"cluster: {active}; standby: {standbys}",
        f"outbox: {status['outbox']['pending']} pending, {status['outbox']['failed']} failed",
        f"quarantine: {status['quarantine']}",
        f"cases: {status['cases']['open']} open, {status['cases']['overdue']} overdue",
    ]
    for step in status["obligations"]:
        due = step["due"]
        when = (
            "starts when the case is resolved"
            if due is None
            else ("LATE, was due " if step["late"] else "due ")
            + dt.datetime.fromisoformat(due).astimezone(tz).isoformat(timespec="minutes")
        )
        lines.append(f"obligation: {step['ref']} {step['kind']} {step['step']}, {when}")
    oauth = status["oauth2"]
    if oauth is not None:
        expires = oauth["token_expires_at"]
        if expires is None:
            token = "no token obtained yet"
        else:
            when = dt.datetime.fromisoformat(expires).astimezone(tz).isoformat(timespec="seconds")
            token = f"token valid until {when}" if oauth["token_valid"] else f"expired {when}"
        lines.append(f"oauth2: {oauth['provider']}, {token}")
        if oauth["certificate_expires_at"]:
            cert = dt.datetime.fromisoformat(oauth["certificate_expires_at"]).astimezone(tz)
            lines.append(f"oauth2 certificate: expires {cert.isoformat(timespec='seconds')}")
    return lines
