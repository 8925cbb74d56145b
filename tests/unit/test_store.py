"""The store keeps mail safe: migrations build it, SQLite runs with the promised settings,
and times come back time-zone aware."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text

from mailtriage.store import Case, Store
from mailtriage.store.db import is_current


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store(f"sqlite:///{tmp_path / 'store.sqlite'}")
    s.upgrade()
    return s


def test_migrations_build_the_schema_and_are_idempotent(store: Store, tmp_path: Path) -> None:
    assert is_current(store.engine)
    store.upgrade()  # a second run changes nothing and does not fail
    tables = {
        row[0]
        for row in sqlite3.connect(tmp_path / "store.sqlite").execute(
            "select name from sqlite_master where type='table'"
        )
    }
    assert {"cases", "messages", "mailbox_sightings", "attachments", "case_events"} <= tables
    assert "alembic_version" in tables


def test_sqlite_runs_with_wal_foreign_keys_and_secure_delete(store: Store) -> None:
    with store.engine.connect() as conn:
        assert conn.execute(text("pragma journal_mode")).scalar() == "wal"
        assert conn.execute(text("pragma foreign_keys")).scalar() == 1
        assert conn.execute(text("pragma secure_delete")).scalar() == 1
        assert conn.execute(text("pragma synchronous")).scalar() == 2  # FULL


def test_times_are_stored_in_utc_and_read_back_aware(store: Store) -> None:
    amsterdam = dt.timezone(dt.timedelta(hours=1))
    received = dt.datetime(2026, 11, 27, 14, 0, tzinfo=amsterdam)
    with store.session() as session:
        session.add(
            Case(
                ref="T-2026-0001",
                year=2026,
                seq=1,
                state="new",
                category="report",
                language="nl",
                received_at=received,
                created_at=received,
                legal_hold=False,
            )
        )
    with store.session() as session:
        case = session.query(Case).one()
        assert case.received_at == received
        assert case.received_at.utcoffset() == dt.timedelta(0)
    with store.engine.connect() as conn:
        raw = conn.execute(text("select received_at from cases")).scalar()
    assert str(raw).startswith("2026-11-27 13:00:00")


def test_naive_datetimes_are_refused(store: Store) -> None:
    from sqlalchemy.exc import StatementError

    with pytest.raises(StatementError, match="time-zone aware"), store.session() as session:
        session.add(
            Case(
                ref="T-2026-0002",
                year=2026,
                seq=2,
                state="new",
                category="report",
                language="nl",
                received_at=dt.datetime(2026, 1, 1),
                created_at=dt.datetime(2026, 1, 1),
                legal_hold=False,
            )
        )
