"""Connecting to the project database, and the one way to write to it.

Every read-modify-write goes through `Database.write()`: a transaction that holds the
write lock from its first statement (BEGIN IMMEDIATE on SQLite, an advisory lock on
PostgreSQL). Without it, a transaction that read rows before another process committed
writes them back stale (an import reverting a reviewer's save), or fails to upgrade its
read lock ("database is locked"). Reads stay unlocked: WAL lets them run beside a writer.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Table, create_engine, event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import ArgumentError, DatabaseError, NoSuchModuleError, OperationalError

from roleext.errors import RoleextError, UsageError
from roleext.i18n import _

DEFAULT_DB = "roleext.db"
DB_ENV = "ROLEEXT_DB"
WRITE_LOCK = 7_301_221
"""PostgreSQL advisory lock key every write transaction takes (SQLite has one writer anyway)."""
BUSY_TIMEOUT_MS = 30_000
"""How long a writer waits for another process's write transaction before giving up."""


class DatabaseBusyError(RoleextError):
    """Another process held the write lock longer than BUSY_TIMEOUT_MS; nothing was written."""


class DatabaseOpenError(UsageError):
    """The project database named by --db or ROLEEXT_DB cannot be opened; the message says why."""


def database_url(db: str | Path | None = None) -> str:
    """A SQLAlchemy URL from a path or URL; default `$ROLEEXT_DB`, else ./roleext.db."""
    value = str(db) if db else os.environ.get(DB_ENV, DEFAULT_DB)
    if "://" in value:
        return value
    path = Path(value).expanduser().resolve()
    if path.is_dir():
        raise DatabaseOpenError(_("{path} is a folder; give the project's database file (e.g. {example})").format(
            path=path, example=path / DEFAULT_DB))
    if not path.parent.is_dir():
        raise DatabaseOpenError(_("the folder {path} of the database does not exist; create it first").format(
            path=path.parent))
    # Never open the file here to sniff it: closing any descriptor of a database file drops
    # every POSIX lock this process holds on it, SQLite's included, and another process may
    # then delete the WAL under a live connection. SQLite itself says "not a database".
    return f"sqlite:///{path}"


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # The driver's own transaction handling is switched off so that `_sqlite_begin` decides
    # how each transaction starts (SQLAlchemy's documented recipe for pysqlite).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")  # first: WAL below may wait for a lock
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    writing = conn.get_execution_options().get("roleext_write", False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if writing else "BEGIN")


class Database:
    """An engine, plus a second handle on it whose transactions take the write lock."""

    def __init__(self, db: str | Path | None = None) -> None:
        self.url = database_url(db)
        try:
            self.engine: Engine = create_engine(self.url)
        except NoSuchModuleError as exc:
            raise DatabaseOpenError(_("no database driver for {scheme}: {reason}").format(
                scheme=self.url.split("://")[0], reason=exc)) from None
        except (ArgumentError, ModuleNotFoundError) as exc:
            raise DatabaseOpenError(_("cannot open the database {url!r}: {reason}").format(
                url=self.url, reason=exc)) from None
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_connect)
            event.listen(self.engine, "begin", _sqlite_begin)
        self._writer = self.engine.execution_options(roleext_write=True)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """One transaction that holds the database's write lock from its first statement."""
        try:
            with self._writer.begin() as conn:
                if self.dialect == "postgresql":
                    conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": WRITE_LOCK})
                yield conn
        except DatabaseError as exc:
            if "file is not a database" in str(exc):
                raise DatabaseOpenError(_("{path} is not a roleext database (not SQLite at all); give another path")
                                        .format(path=self.url.removeprefix("sqlite:///"))) from None
            if not isinstance(exc, OperationalError) or "database is locked" not in str(exc):
                raise
            raise DatabaseBusyError(_(
                "the project database stayed busy for {seconds} s (another process is writing a lot, e.g. a large "
                "import); nothing was saved, try again in a moment").format(seconds=BUSY_TIMEOUT_MS // 1000)) from None

    def dispose(self) -> None:
        self.engine.dispose()


def upsert(conn: Connection, table: Table, row: dict[str, Any], keys: Sequence[str]) -> None:
    """Insert a row, or on a key clash update its other columns.

    An insert that two jobs can race (cache entries, task states) must never raise.
    """
    dialect = sqlite if conn.dialect.name == "sqlite" else postgresql
    statement = dialect.insert(table)
    statement = statement.on_conflict_do_update(
        index_elements=list(keys), set_={c: statement.excluded[c] for c in row if c not in keys})
    conn.execute(statement, row)
