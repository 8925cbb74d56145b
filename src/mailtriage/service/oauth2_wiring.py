"""The mail logins' token source, with its expiry recorded in the store for `status`.

The token itself lives in the daemon's memory only; what `mailtriage status` (another
process) needs to know is when it runs out, and whether the last attempt to get one failed.
Both are kept as rows of `job_runs` (job "oauth2-token"), which every store already has, so
this needs no schema change. Kept apart from `oauth2.py`, which knows nothing of the store.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from mailtriage.clock import Clock
from mailtriage.config import Config
from mailtriage.mailbox.oauth2 import CachedTokenSource, mail_scopes, token_source
from mailtriage.store.db import Store
from mailtriage.store.models import JobRun

JOB = "oauth2-token"
EXPIRES = "expires_at"
OBTAINED = "obtained_at"


def uses_oauth2(config: Config) -> bool:
    return config.mailbox.auth == "oauth2" or config.smtp.auth == "oauth2"


def mail_token_source(
    config: Config, clock: Clock, store: Store | None
) -> CachedTokenSource | None:
    """The token source IMAP and SMTP share, or None when both log in with a password."""
    if not uses_oauth2(config):
        return None

    def record(expires_at: dt.datetime) -> None:
        if store is None:
            return
        with store.session() as session:
            session.merge(JobRun(job=JOB, key=EXPIRES, at=expires_at))
            session.merge(JobRun(job=JOB, key=OBTAINED, at=clock()))

    return token_source(config, clock, mail_scopes(config), on_new_token=record)


@dataclass(frozen=True)
class TokenRecord:
    expires_at: dt.datetime
    obtained_at: dt.datetime | None


def recorded_token(store: Store) -> TokenRecord | None:
    """The expiry of the newest token any process of this store obtained."""
    with store.session() as session:
        expires = session.get(JobRun, (JOB, EXPIRES))
        obtained = session.get(JobRun, (JOB, OBTAINED))
        if expires is None:
            return None
        return TokenRecord(expires.at, obtained.at if obtained is not None else None)
