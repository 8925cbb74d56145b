"""Opening the store: engine settings that keep mail safe, and schema migrations.

SQLite is the default, so its settings matter: WAL so readers never block the daemon,
`synchronous=FULL` so a committed raw message survives a power cut before it leaves the
mailbox, foreign keys enforced, `secure_delete` so erased personal data is overwritten, and a
busy timeout so a second process waits for the lock instead of failing at once. Transactions
start with BEGIN IMMEDIATE: a writer takes the lock up front, which avoids the WAL "stale
snapshot" failure when two processes (the daemon and an MTA pipe) write at once.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from mailtriage.datafiles import data_dir

log = logging.getLogger(__name__)


class StoreUnavailable(Exception):
    """The store cannot be opened or written safely right now (locked, full, unreachable)."""


def make_engine(url: str, busy_timeout_seconds: float = 10) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and not path.startswith(":memory:"):
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": busy_timeout_seconds}, future=True)
        _configure_sqlite(engine, int(busy_timeout_seconds * 1000))
        return engine
    return create_engine(url, pool_pre_ping=True, future=True)


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the sqlite3 module so SAVEPOINTs work and we
        # decide when BEGIN happens (SQLAlchemy's documented recipe for pysqlite).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {busy_timeout_ms}")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = FULL")
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.execute("PRAGMA secure_delete = ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def migrations_dir() -> Path:
    """Where the Alembic scripts are: inside the installed package, else in the source tree."""
    found = data_dir("migrations")
    if found is None:
        raise StoreUnavailable("the migrations folder is missing from this installation")
    return found


def alembic_config(engine: Engine) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(migrations_dir()))
    cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return cfg


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest revision (idempotent)."""
    cfg = alembic_config(engine)
    try:
        with engine.begin() as connection:
            cfg.attributes["connection"] = connection
            command.upgrade(cfg, "head")
    except (SQLAlchemyError, OSError) as exc:
        raise StoreUnavailable(f"cannot migrate the store: {describe_db_error(exc)}") from exc


def is_current(engine: Engine) -> bool:
    script = ScriptDirectory.from_config(alembic_config(engine))
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_heads()
    return set(current) == set(script.get_heads())


def describe_db_error(exc: BaseException) -> str:
    """A one-line, data-free description of a database failure for an operator."""
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        return str(exc.orig).splitlines()[0]
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


class Store:
    """The engine and a session factory; one per process."""

    def __init__(self, url: str, busy_timeout_seconds: float = 10) -> None:
        self.url = url
        self.engine = make_engine(url, busy_timeout_seconds)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    def upgrade(self) -> None:
        upgrade(self.engine)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A transaction that commits on success and rolls back on any error.

        Failures of the database itself (locked, disk full, gone) come out as StoreUnavailable:
        nothing was written, try again later. Other errors (a constraint a message broke)
        propagate as they are, so intake can quarantine that message.
        """
        session = self._sessions()
        try:
            with session.begin():
                yield session
        except (OperationalError, InterfaceError) as exc:
            raise StoreUnavailable(describe_db_error(exc)) from exc
        finally:
            session.close()

    def dispose(self) -> None:
        self.engine.dispose()
