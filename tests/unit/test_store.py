"""The store keeps mail safe: migrations build it, SQLite runs with the promised settings,
and times come back time-zone aware."""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from mailtriage.mailbox.maildir import ensure_maildir
from mailtriage.service.cli import main
from mailtriage.store import Case, Store
from mailtriage.store.db import HEAD_REVISION, alembic_config, is_current, stored_revisions
from tests.support.clock import QUIET_WORKDAY_MORNING, FakeClock
from tests.support.mails import make_mail


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


def test_the_head_revision_constant_is_alembics_head(store: Store) -> None:
    """Opening a store skips Alembic when its alembic_version equals HEAD_REVISION: a new
    migration that does not update the constant would never be applied, so it fails here."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config(store.engine))
    assert script.get_heads() == [HEAD_REVISION]
    assert stored_revisions(store.engine) == {HEAD_REVISION}


def test_a_store_behind_the_newest_schema_is_still_migrated_when_opened(tmp_path: Path) -> None:
    """The plain-SQL check only skips Alembic at head; an older store is upgraded as before."""
    from alembic import command

    old = Store(f"sqlite:///{tmp_path / 'store.sqlite'}")
    cfg = alembic_config(old.engine)
    with old.engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "0008")
    assert stored_revisions(old.engine) == {"0008"}
    assert not is_current(old.engine)
    old.upgrade()
    assert is_current(old.engine)
    old.dispose()


def test_a_new_store_has_no_revision_to_read(tmp_path: Path) -> None:
    """An empty database has no alembic_version table: Alembic builds it from scratch."""
    new = Store(f"sqlite:///{tmp_path / 'store.sqlite'}")
    assert stored_revisions(new.engine) is None
    new.upgrade()
    assert stored_revisions(new.engine) == {HEAD_REVISION}
    new.dispose()


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


# ---------------------------------------------------------------- private files (issue 10)


@pytest.fixture
def loose_umask() -> Iterator[None]:
    """The umask an MTA pipe or a manual run inherits (not the systemd unit's 0077)."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def write_a_case(store: Store) -> None:
    """A write, so the WAL and shared-memory files exist next to the database."""
    at = dt.datetime(2026, 11, 24, 7, 30, tzinfo=dt.UTC)
    with store.session() as session:
        session.add(
            Case(
                ref="T-2026-0001",
                year=2026,
                seq=1,
                state="new",
                category="report",
                language="nl",
                received_at=at,
                created_at=at,
                legal_hold=False,
            )
        )


def assert_private(db: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        assert mode(Path(f"{db}{suffix}")) == 0o600, f"{db.name}{suffix} is {oct(mode(db))}"
    journal = Path(f"{db}-journal")
    assert not journal.exists() or mode(journal) == 0o600


def test_a_new_sqlite_store_is_private_under_a_loose_umask(
    tmp_path: Path, loose_umask: None
) -> None:
    db = tmp_path / "state" / "mailtriage.sqlite"
    store = Store(f"sqlite:///{db}")
    store.upgrade()
    write_a_case(store)
    assert mode(db.parent) == 0o700
    assert_private(db)
    store.dispose()


def test_an_mta_pipe_tightens_a_store_left_readable_by_everyone(
    tmp_path: Path, loose_umask: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """The folder was made 0755 by an installer and an older version left 0644 files:
    the next `mailtriage ingest` (what an MTA pipe runs) makes them private."""
    folder = tmp_path / "state"
    folder.mkdir(mode=0o755)
    db = folder / "mailtriage.sqlite"
    old = Store(f"sqlite:///{db}")
    old.upgrade()  # its pooled connection keeps the -wal and -shm files in place
    for path in folder.iterdir():
        path.chmod(0o644)
    spool, outbox = tmp_path / "in", tmp_path / "out"
    config = tmp_path / "config.toml"
    config.write_text(
        f'[mailbox]\nsource = "maildir"\npath = "{spool}"\n'
        f'[smtp]\ntransport = "maildir"\npath = "{outbox}"\n'
        'from_address = "security@example.nl"\n'
        f'[store]\nurl = "sqlite:///{db}"\n'
    )
    ensure_maildir(spool)
    ensure_maildir(outbox)
    mail = tmp_path / "report.eml"
    mail.write_bytes(make_mail())

    clock = FakeClock(QUIET_WORKDAY_MORNING)
    code = main(["--config", str(config), "ingest", str(mail)], clock=clock)
    assert code == 0
    assert "quarantine" not in capsys.readouterr().err

    assert mode(folder) == 0o700
    assert_private(db)
    old.dispose()


def test_a_store_in_a_shared_folder_keeps_the_folder_but_its_files_are_private(
    tmp_path: Path, loose_umask: None
) -> None:
    """A home folder or the config folder is not the store's to lock; its files still are."""
    (tmp_path / "config.toml").write_text("# the operator's\n")
    tmp_path.chmod(0o755)
    store = Store(f"sqlite:///{tmp_path / 'mailtriage.sqlite'}")
    store.upgrade()
    write_a_case(store)
    assert mode(tmp_path) == 0o755
    assert_private(tmp_path / "mailtriage.sqlite")
    store.dispose()
