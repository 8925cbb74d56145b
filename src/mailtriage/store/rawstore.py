"""The raw bytes of every message, in a table of their own, written without copies.

Kept apart from `messages` because SQLite rewrites a whole record on any update: with the
bytes inline, marking a 25 MB mail as handled would copy 25 MB. On SQLite the bytes are
streamed in through incremental blob I/O (a zeroblob, then chunked writes), so storing a big
mail does not hold extra copies of it in memory; other databases take a plain insert.
"""

from __future__ import annotations

import sqlite3

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from mailtriage.store.db import StoreUnavailable
from mailtriage.store.models import RawMessage

CHUNK = 1024 * 1024


def write_raw(session: Session, message_id: int, raw: bytes) -> None:
    dbapi = session.connection().connection.driver_connection
    if not isinstance(dbapi, sqlite3.Connection) or len(raw) < CHUNK:
        session.execute(insert(RawMessage).values(message_id=message_id, raw=raw))
        return
    session.execute(insert(RawMessage).values(message_id=message_id, raw=func.zeroblob(len(raw))))
    view = memoryview(raw)
    try:
        # message_id is the table's INTEGER PRIMARY KEY, hence its rowid.
        with dbapi.blobopen(RawMessage.__tablename__, "raw", message_id) as blob:
            for start in range(0, len(raw), CHUNK):
                blob.write(view[start : start + CHUNK])
    except sqlite3.OperationalError as exc:  # the disk filled up, say: not a fault of the mail
        raise StoreUnavailable(str(exc)) from exc


def read_raw(session: Session, message_id: int) -> bytes | None:
    return session.scalar(select(RawMessage.raw).where(RawMessage.message_id == message_id))


def erase_raw(session: Session, message_id: int) -> None:
    session.execute(delete(RawMessage).where(RawMessage.message_id == message_id))
