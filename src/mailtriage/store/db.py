"""Opening the store: engine settings that keep mail safe, and schema migrations.

SQLite is the default, so its settings matter: WAL so readers never block the daemon,
`synchronous=FULL` so a committed raw message survives a power cut before it leaves the
mailbox, foreign keys enforced, `secure_delete` so erased personal data is overwritten, and a
busy timeout so a second process waits for the lock instead of failing at once. Transactions
start with BEGIN IMMEDIATE: a writer takes the lock up front, which avoids the WAL "stale
snapshot" failure when two processes (the daemon and an MTA pipe) write at once.

On PostgreSQL (`postgresql+psycopg://`) the server takes care of durability and access;
those SQLite settings, the file modes below and the WAL checks of the purge do not apply
there, and raw mail is sent in binary (see `_configure_postgresql`).

The SQLite files hold every report and reporter address, so they are the owner's alone: the
store's folder 0700 and its files (database, -wal, -shm, -journal) 0600, whichever process
creates them and under whatever umask (an MTA pipe or a manual run inherits 0022, not the
systemd unit's). The database file is created 0600 before SQLite opens it; SQLite gives the
-wal, -shm and -journal files it creates later the database file's mode, and files left
looser by an older version are tightened at every connect.
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event, make_url, text
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from mailtriage.datafiles import data_dir

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

    from mailtriage.config import StoreConfig

log = logging.getLogger(__name__)


class StoreUnavailable(Exception):
    """The store cannot be opened or written safely right now (locked, full, unreachable)."""


PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
SQLITE_COMPANIONS = ("", "-wal", "-shm", "-journal")
READ_ONLY = "mailtriage_read_only"  # an execution option: see `Store.reading`

# The newest migration in migrations/versions. Opening a store compares its alembic_version
# with this by plain SQL, so a store already at head is opened without importing Alembic
# (a quarter of a second of start-up for every read-only command). A unit test holds it equal
# to Alembic's own head: a new migration must update it.
HEAD_REVISION = "0009"


def make_engine(url: str, busy_timeout_seconds: float = 10) -> Engine:
    if url.startswith("sqlite"):
        path = sqlite_file(url)
        if path is not None:
            prepare_private_store(path)
        engine = create_engine(url, connect_args={"timeout": busy_timeout_seconds}, future=True)
        _configure_sqlite(engine, int(busy_timeout_seconds * 1000), path)
        return engine
    engine = create_engine(url, pool_pre_ping=True, future=True)
    if engine.dialect.name == "postgresql":
        _configure_postgresql(engine)
    return engine


def _configure_postgresql(engine: Engine) -> None:
    """Raw mail goes to PostgreSQL in binary: psycopg's default text format would first
    escape a 25 MB message into a 50 MB hex string, a second and bigger copy in memory."""
    from psycopg.types.string import BytesBinaryDumper

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        for kind in (bytes, bytearray, memoryview):
            dbapi_connection.adapters.register_dumper(kind, BytesBinaryDumper)


def sqlite_file(url: str) -> Path | None:
    """The database file of a SQLite URL; None for an in-memory database."""
    database = make_url(url).database
    if not database or database.startswith(":memory:") or database.startswith("file:"):
        return None
    return Path(database)


def prepare_private_store(path: Path) -> None:
    """Make the store's folder and database file private before SQLite first opens them.

    The folder is created 0700. An existing folder is tightened only when it holds nothing
    but this store (the usual /var/lib/mailtriage, created 0755 by an installer or an MTA
    pipe's first run): a folder shared with other files (a home folder, /tmp, the config
    folder) is not ours to lock, and the 0600 files keep the data private there.
    """
    folder = path.parent
    try:
        if not folder.exists():
            folder.mkdir(parents=True, exist_ok=True)
            folder.chmod(PRIVATE_DIR_MODE)  # exactly: a umask may have taken more or less
        elif _holds_only_store(folder, path.name):
            _tighten(folder, PRIVATE_DIR_MODE)
        _create_private_file(path)
    except OSError as exc:
        raise StoreUnavailable(f"cannot create the store {path}: {exc.strerror}") from exc
    tighten_store_files(path)


def _create_private_file(path: Path) -> None:
    """Create `path` empty and 0600 unless it exists (SQLite takes an empty file for a new
    database). O_EXCL: of two processes starting at once, one creates, the other finds it."""
    with suppress(FileExistsError):
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
        os.close(os.open(path, flags, PRIVATE_FILE_MODE))


def tighten_store_files(path: Path) -> None:
    """Set the database and its companion files to 0600 where they are looser."""
    for suffix in SQLITE_COMPANIONS:
        _tighten(Path(f"{path}{suffix}"), PRIVATE_FILE_MODE)


def _holds_only_store(folder: Path, db_name: str) -> bool:
    try:
        return all(entry.startswith(db_name) for entry in os.listdir(folder))
    except OSError:
        return False


def _tighten(path: Path, mode: int) -> None:
    """chmod `path` to `mode` when it allows more; a file we do not own is left alone
    (chmod would fail) and a missing one is fine."""
    try:
        current = stat.S_IMODE(os.stat(path).st_mode)
        if current & ~mode:
            os.chmod(path, current & mode)
    except FileNotFoundError:
        return
    except PermissionError:
        log.warning("cannot restrict the permissions of %s (not its owner)", path)


def _configure_sqlite(engine: Engine, busy_timeout_ms: int, path: Path | None) -> None:
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
        if path is not None:
            tighten_store_files(path)  # the -wal and -shm files now exist

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # A reading transaction (`Store.reading`) takes no write lock: it must not hold up
        # intake while, say, the outbox composes mail.
        if conn.get_execution_options().get(READ_ONLY):
            conn.exec_driver_sql("BEGIN")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")


def migrations_dir() -> Path:
    """Where the Alembic scripts are: inside the installed package, else in the source tree."""
    found = data_dir("migrations")
    if found is None:
        raise StoreUnavailable("the migrations folder is missing from this installation")
    return found


def alembic_config(engine: Engine) -> AlembicConfig:
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(migrations_dir()))
    # Alembic's config is a ConfigParser: a percent-encoded URL (a socket folder, a password
    # with symbols) needs its % doubled.
    url = engine.url.render_as_string(hide_password=False)
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest revision (idempotent).

    A store already at `HEAD_REVISION` is left alone without Alembic; any other (new, behind,
    or of an unknown revision) goes to Alembic exactly as before.
    """
    if stored_revisions(engine) == {HEAD_REVISION}:
        return
    from alembic import command  # only here: Alembic is slow to import and rarely needed

    cfg = alembic_config(engine)
    try:
        with engine.begin() as connection:
            cfg.attributes["connection"] = connection
            command.upgrade(cfg, "head")
    except (SQLAlchemyError, OSError) as exc:
        raise StoreUnavailable(f"cannot migrate the store: {describe_db_error(exc)}") from exc


def stored_revisions(engine: Engine) -> set[str] | None:
    """The revisions in the store's alembic_version table, read with plain SQL; None when
    that cannot be read (a new store without the table, or any other failure: the caller
    then leaves it to Alembic, which reports a real problem properly)."""
    try:
        # A read-only transaction: on SQLite a plain BEGIN, so a read-only command neither
        # waits for nor holds the write lock just to learn the schema is current.
        with engine.connect().execution_options(**{READ_ONLY: True}) as connection:
            rows = connection.execute(text("SELECT version_num FROM alembic_version")).all()
    except SQLAlchemyError:
        return None
    return {row[0] for row in rows}


def is_current(engine: Engine) -> bool:
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config(engine))
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_heads()
    return set(current) == set(script.get_heads())


def describe_db_error(exc: BaseException) -> str:
    """A one-line, data-free description of a database failure for an operator."""
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        return str(exc.orig).splitlines()[0]
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def open_store(config: StoreConfig, migrate: bool = True) -> Store:
    """The configured store, its schema brought to head unless `migrate` is False."""
    store = Store(config.url, config.busy_timeout_seconds)
    if migrate:
        store.upgrade()
    return store


class Store:
    """The engine and a session factory; one per process."""

    def __init__(self, url: str, busy_timeout_seconds: float = 10) -> None:
        self.url = url
        self.engine = make_engine(url, busy_timeout_seconds)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        # Set while a daemon holds the cluster lease (store/lease.py): called as the last
        # statement of every transaction, it refuses the commit of a deposed daemon.
        self.fence: Callable[[Session], None] | None = None

    def upgrade(self) -> None:
        upgrade(self.engine)

    @contextmanager
    def session(self, fenced: bool = True) -> Iterator[Session]:
        """A transaction that commits on success and rolls back on any error.

        Failures of the database itself (locked, disk full, gone) come out as StoreUnavailable:
        nothing was written, try again later. Other errors (a constraint a message broke)
        propagate as they are, so intake can quarantine that message.
        """
        session = self._sessions()
        try:
            with session.begin():
                yield session
                if fenced and self.fence is not None:
                    session.flush()  # the writes first: the check must be the last word
                    self.fence(session)
        except (OperationalError, InterfaceError) as exc:
            raise StoreUnavailable(describe_db_error(exc)) from exc
        finally:
            session.close()

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A transaction for reading only: on SQLite a plain BEGIN (a snapshot, no write lock,
        so writers are not held up). Anything written in it is rolled back."""
        session = self._sessions()
        try:
            session.connection(execution_options={READ_ONLY: True})
            yield session
        except (OperationalError, InterfaceError) as exc:
            raise StoreUnavailable(describe_db_error(exc)) from exc
        finally:
            session.rollback()
            session.close()

    def dispose(self) -> None:
        self.engine.dispose()
