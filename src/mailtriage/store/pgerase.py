"""Making a purge reach the disk on PostgreSQL: rewrite the tables it touched.

PostgreSQL never overwrites a deleted or updated row in place: the old version stays in the
table file (and in its TOAST table and indexes) until VACUUM reclaims the space, and even
then plain VACUUM only marks the space free, leaving the bytes. `VACUUM FULL` writes each
table and its indexes to new files and unlinks the old ones, so no table file of the data
directory holds an erased address any more (what SQLite's `secure_delete` plus the WAL
truncation achieve there). VACUUM cannot run inside a transaction: it gets an AUTOCOMMIT
connection of its own. It locks each table for the moment of the rewrite, which for a desk's
store is a fraction of a second, and runs only after a purge erased something.

What it cannot reach, the README says: the WAL segments (recycled after checkpoints), WAL
archives and base backups keep the old rows until they are rotated away.
"""

from __future__ import annotations

import logging

from sqlalchemy import Engine, text

from mailtriage.store.models import Base

log = logging.getLogger(__name__)


def vacuum_full(engine: Engine) -> list[str]:
    """VACUUM FULL (and ANALYZE, so no statistic keeps an old value) every store table."""
    if engine.dialect.name != "postgresql":
        return []
    done: list[str] = []
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in Base.metadata.sorted_tables:
            quoted = engine.dialect.identifier_preparer.quote(table.name)
            conn.execute(text(f"VACUUM (FULL, ANALYZE) {quoted}"))
            done.append(table.name)
    return done
