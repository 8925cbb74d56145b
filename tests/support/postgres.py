"""A real, private PostgreSQL for integration tests, and the store URL a test should use.

The store must behave the same on SQLite and on PostgreSQL, and only a real server shows the
differences (transactional DDL, strict types, `FOR UPDATE SKIP LOCKED`, VACUUM outside a
transaction). `initdb` builds a cluster in a temporary folder in about a second; the server
listens on a unix socket in that folder only (no TCP port to collide with another engineer's
run), is started once per test process and stopped at its exit, and every test gets a fresh
database of its own.

`MAILTRIAGE_TEST_STORE=postgresql` makes every config written by tests/support/config.py
point at such a database instead of a SQLite file, so the same integration suite runs on both
backends. As root (CI) the server runs as the `postgres` user, which must own the folder.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pwd
import re
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psycopg
from psycopg.types.string import TextLoader

BACKEND_VARIABLE = "MAILTRIAGE_TEST_STORE"
START_TIMEOUT_S = 30.0
PG_PARENTS = (Path("/usr/lib/postgresql"),)


class PostgresUnavailable(RuntimeError):
    """PostgreSQL is not installed; the message says how to get it."""


def backend() -> str:
    """'postgresql' when the tests should run on PostgreSQL, else 'sqlite'."""
    value = os.environ.get(BACKEND_VARIABLE, "sqlite").strip().lower()
    return "postgresql" if value in ("postgresql", "postgres", "pg") else "sqlite"


def on_postgres() -> bool:
    return backend() == "postgresql"


def find_bin_dir() -> Path:
    """The newest /usr/lib/postgresql/<ver>/bin that has initdb and postgres."""
    found: list[tuple[int, Path]] = []
    for parent in PG_PARENTS:
        if not parent.is_dir():
            continue
        for entry in parent.iterdir():
            bin_dir = entry / "bin"
            if entry.name.isdigit() and (bin_dir / "initdb").exists():
                found.append((int(entry.name), bin_dir))
    if found:
        return max(found)[1]
    initdb = shutil.which("initdb")
    if initdb:
        return Path(os.path.realpath(initdb)).parent
    raise PostgresUnavailable(
        "PostgreSQL is not installed (no initdb): run `make postgresql` or `make test`, "
        "which install it through apt"
    )


class Postgres:
    """One private server: a cluster in a temporary folder, reachable on a unix socket."""

    def __init__(self) -> None:
        self.bin_dir = find_bin_dir()
        self.root = Path(tempfile.mkdtemp(prefix="mailtriage-pg-"))
        self.data = self.root / "data"
        self.socket_dir = self.root
        self.user = "mailtriage"
        self._as_postgres = os.geteuid() == 0
        self._lock = threading.Lock()
        self._count = 0
        self._process: subprocess.Popen[bytes] | None = None
        if self._as_postgres:
            # The server refuses to run as root; the postgres user must own its folder.
            entry = pwd.getpwnam("postgres")
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        os.chmod(self.root, 0o700)
        self._start()

    def _command(self, *argv: str) -> list[str]:
        if self._as_postgres:
            return ["runuser", "-u", "postgres", "--", *argv]
        return list(argv)

    def _start(self) -> None:
        subprocess.run(
            self._command(
                str(self.bin_dir / "initdb"),
                "-D",
                str(self.data),
                "-U",
                self.user,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            ),
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        self._process = subprocess.Popen(
            self._command(
                str(self.bin_dir / "postgres"),
                "-D",
                str(self.data),
                "-k",
                str(self.socket_dir),
                "-c",
                "listen_addresses=",
                "-c",
                "fsync=off",
                "-c",
                "full_page_writes=off",
                "-c",
                "max_connections=200",
                "-c",
                "log_min_messages=fatal",
            ),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                with self.connect("postgres"):
                    return
            except psycopg.OperationalError:
                if self._process.poll() is not None or time.monotonic() > deadline:
                    raise PostgresUnavailable("the private PostgreSQL did not start") from None
                time.sleep(0.05)

    def connect(self, database: str, **kwargs: Any) -> psycopg.Connection[Any]:
        return psycopg.connect(host=str(self.socket_dir), user=self.user, dbname=database, **kwargs)

    def url(self, database: str) -> str:
        """The SQLAlchemy URL of `database` on this server (psycopg 3 over the socket)."""
        return f"postgresql+psycopg://{self.user}@/{database}?host={self.socket_dir}"

    def create_database(self) -> str:
        with self._lock:
            self._count += 1
            name = f"t{os.getpid()}_{self._count}"
        with self.connect("postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return name

    def checkpoint(self) -> None:
        with self.connect("postgres", autocommit=True) as conn:
            conn.execute("CHECKPOINT")

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()  # SIGTERM: smart shutdown
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        shutil.rmtree(self.root, ignore_errors=True)


_server: Postgres | None = None
_databases: dict[str, str] = {}


def server() -> Postgres:
    """The process's private server, started on first use and stopped at exit."""
    global _server
    if _server is None:
        _server = Postgres()
        atexit.register(_server.stop)
    return _server


def database_for(directory: Path) -> str:
    """The fresh database that belongs to a test's folder (one per folder, made once)."""
    key = str(directory.resolve())
    if key not in _databases:
        _databases[key] = server().create_database()
    return _databases[key]


def store_url(directory: Path) -> str:
    """The store URL a test in `directory` uses on the backend chosen for this run."""
    if on_postgres():
        return server().url(database_for(directory))
    return f"sqlite:///{directory / 'store.sqlite'}"


class _Cursor:
    def __init__(self, cursor: Any) -> None:
        self._cursor = cursor

    def fetchone(self) -> Any:
        return self._cursor.fetchone()

    def fetchall(self) -> list[Any]:
        return list(self._cursor.fetchall())

    def __iter__(self) -> Any:
        return iter(self._cursor.fetchall())


class StoreConnection:
    """The subset of sqlite3.Connection the tests use to look into the store, on PostgreSQL:
    `?` placeholders, `execute(...).fetchone()`, and `with conn:` committing."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self._conn = conn
        # JSON columns as text, as SQLite gives them: the tests json.loads what they read.
        for name in ("json", "jsonb"):
            conn.adapters.register_loader(name, TextLoader)

    def execute(self, sql: str, params: tuple[Any, ...] | list[Any] = ()) -> _Cursor:
        translated = re.sub(r"\?", "%s", sql.replace("%", "%%"))
        return _Cursor(self._conn.execute(translated, tuple(params)))  # type: ignore[arg-type]

    def commit(self) -> None:
        self._conn.commit()

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> StoreConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        if exc[0] is None:
            self._conn.commit()
        else:
            self._conn.rollback()


def connect_store(directory: Path) -> Any:
    """A DB-API connection to the store of the test in `directory`, on either backend."""
    if on_postgres():
        return StoreConnection(server().connect(database_for(directory)))
    import sqlite3

    return sqlite3.connect(directory / "store.sqlite")


def grep_data_dir(needle: bytes) -> list[Path]:
    """Files of the server's data directory (after a CHECKPOINT) that contain `needle`."""
    srv = server()
    srv.checkpoint()
    hits: list[Path] = []
    for path in srv.data.rglob("*"):
        with contextlib.suppress(OSError):
            if path.is_file() and needle in path.read_bytes():
                hits.append(path)
    return hits


def sqlite_only(reason: str) -> Any:
    """Mark a test that checks something only SQLite has; `reason` says why PostgreSQL differs."""
    import pytest

    return pytest.mark.skipif(on_postgres(), reason=f"SQLite only: {reason}")


def table_files(directory: Path) -> list[Path]:
    """After a CHECKPOINT, every file of the test's database in the data directory
    (base/<oid>/: tables, TOAST tables, indexes, free-space maps): where erased rows linger."""
    srv = server()
    name = database_for(directory)
    srv.checkpoint()
    with srv.connect("postgres") as conn:
        row = conn.execute("SELECT oid FROM pg_database WHERE datname = %s", (name,)).fetchone()
    assert row is not None
    folder = srv.data / "base" / str(row[0])
    return sorted(p for p in folder.iterdir() if p.is_file())
