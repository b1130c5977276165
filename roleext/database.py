"""Connecting to the project database, and the one way to write to it.

Every read-modify-write goes through `Database.write()`: a transaction that holds the
write lock from its first statement (BEGIN IMMEDIATE on SQLite, an advisory lock on
PostgreSQL). Without it, a transaction that read rows before another process committed
writes them back stale (an import reverting a reviewer's save), or fails to upgrade its
read lock ("database is locked"). Reads stay unlocked: WAL lets them run beside a writer.

The two stores behave alike: a writer waits up to BUSY_TIMEOUT_MS on either, threads of
one process queue for the lock without holding a connection each, and text never holds
NUL (PostgreSQL cannot store it), so a project moves from one store to the other.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Table, create_engine, event, make_url, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import ArgumentError, DatabaseError, NoSuchModuleError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from roleext.errors import RoleextError, UsageError
from roleext.i18n import _

DEFAULT_DB = "roleext.db"
DB_ENV = "ROLEEXT_DB"
WRITE_LOCK = 7_301_221
"""PostgreSQL advisory lock key every write transaction takes (SQLite has one writer anyway)."""
BUSY_TIMEOUT_MS = 30_000
"""How long a writer waits for another process's write transaction before giving up; on
PostgreSQL also how long a connection waits for a free slot on a full server."""
POOL_ENV = "ROLEEXT_DB_POOL"
POSTGRES_POOL = 2
"""Connections one process opens to PostgreSQL at most (`$ROLEEXT_DB_POOL` overrides it);
its threads take turns on them, waiting up to BUSY_TIMEOUT_MS. Forty processes then fit
the server's default max_connections of 100; a pool that grew with the threads would not,
and the processes beyond it would fail ("sorry, too many clients already")."""
POSTGRES_DRIVER = "postgresql+psycopg"
"""The one PostgreSQL driver roleext supports (psycopg 3, the `postgres` extra)."""
INSTALL_POSTGRES = 'pip install -e ".[postgres]"'
_SERVER_FULL = ("too many clients", "remaining connection slots are reserved", "too many connections for")
"""What PostgreSQL says when its max_connections, or a database's or role's connection limit,
are taken (no SQLSTATE reaches the client)."""


class DatabaseBusyError(RoleextError):
    """Another process held the write lock longer than BUSY_TIMEOUT_MS; nothing was written."""


class DatabaseOpenError(UsageError):
    """The project database named by --db or ROLEEXT_DB cannot be opened; the message says why."""


def database_url(db: str | Path | None = None) -> str:
    """A SQLAlchemy URL from a path or URL; default `$ROLEEXT_DB`, else ./roleext.db.

    `postgresql://` and `postgres://` (what servers and hosting panels hand out) mean psycopg 3."""
    value = str(db) if db else os.environ.get(DB_ENV, DEFAULT_DB)
    for scheme in ("postgresql://", "postgres://"):
        if value.startswith(scheme):
            return POSTGRES_DRIVER + "://" + value.removeprefix(scheme)
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


def _postgres_connect(dialect: Dialect, _record: Any, cargs: Any, cparams: Any) -> Any:
    """Connect, waiting up to BUSY_TIMEOUT_MS for a slot while the server is full.

    SQLite has no connection limit; without this wait, processes beyond PostgreSQL's
    max_connections fail at once ("sorry, too many clients already")."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    pause = 0.05
    while True:
        try:
            return dialect.connect(*cargs, **cparams)
        except dialect.loaded_dbapi.OperationalError as exc:
            if not any(words in str(exc) for words in _SERVER_FULL) or time.monotonic() > deadline:
                raise
        time.sleep(pause * random.uniform(0.5, 1.5))  # jitter: waiting processes do not retry in step
        pause = min(pause * 2, 1.0)


def _without_nul(parameters: Any) -> Any:
    """Bound parameters with NUL removed from every string.

    PostgreSQL text cannot hold NUL, SQLite can: both drop it, so a project moves between
    stores. Files holding NUL are refused at import (`decoding.unreadable`); what reaches
    this is a model's answer or pasted text, where a NUL means nothing."""
    if isinstance(parameters, str):
        return parameters.replace("\x00", "")
    if isinstance(parameters, dict):
        return {key: _without_nul(value) for key, value in parameters.items()}
    if isinstance(parameters, list | tuple):
        return type(parameters)(_without_nul(value) for value in parameters)
    return parameters


def _holds_nul(parameters: Any) -> bool:
    if isinstance(parameters, str):
        return "\x00" in parameters
    if isinstance(parameters, dict):
        return any(_holds_nul(value) for value in parameters.values())
    if isinstance(parameters, list | tuple):
        return any(_holds_nul(value) for value in parameters)
    return False


def _strip_nul(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any,
               _executemany: bool) -> tuple[str, Any]:
    return statement, _without_nul(parameters) if _holds_nul(parameters) else parameters


_PROCESS_LOCKS: dict[str, threading.RLock] = {}
_PROCESS_LOCKS_GUARD = threading.Lock()


def _process_lock(url: str) -> threading.RLock:
    """The lock threads of this process take before the database's: one connection per
    process waits on the database's lock, not one per thread (PostgreSQL counts them)."""
    with _PROCESS_LOCKS_GUARD:
        return _PROCESS_LOCKS.setdefault(url, threading.RLock())


def shown_url(url: str) -> str:
    """A database URL as messages show it: the password masked."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


def _pool_size() -> int:
    value = os.environ.get(POOL_ENV, "")
    if not value:
        return POSTGRES_POOL
    if not value.isdigit() or int(value) < 1:
        raise DatabaseOpenError(_("{variable}={value!r}: give a whole number of connections, 1 or more").format(
            variable=POOL_ENV, value=value))
    return int(value)


class Database:
    """An engine, plus a second handle on it whose transactions take the write lock."""

    def __init__(self, db: str | Path | None = None) -> None:
        self.url = database_url(db)
        options = ({"pool_size": _pool_size(), "max_overflow": 0, "pool_timeout": BUSY_TIMEOUT_MS / 1000}
                   if self.url.startswith("postgresql") else {})
        try:
            self.engine: Engine = create_engine(self.url, **options)
        except NoSuchModuleError as exc:
            raise DatabaseOpenError(_("no database driver for {scheme}: {reason}").format(
                scheme=self.url.split("://")[0], reason=exc)) from None
        except (ArgumentError, ModuleNotFoundError) as exc:
            if self.url.startswith(POSTGRES_DRIVER + "://"):
                raise DatabaseOpenError(_("PostgreSQL needs the psycopg driver, which is not installed here: "
                                          "{command}").format(command=INSTALL_POSTGRES)) from None
            if self.url.startswith("postgresql"):
                raise DatabaseOpenError(_("{reason}: roleext reads PostgreSQL with psycopg 3 ({command}); write the "
                                          "URL as postgresql://...").format(reason=exc, command=INSTALL_POSTGRES)
                                        ) from None
            raise DatabaseOpenError(_("cannot open the database {url!r}: {reason}").format(
                url=shown_url(self.url), reason=exc)) from None
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_connect)
            event.listen(self.engine, "begin", _sqlite_begin)
        if self.engine.dialect.name == "postgresql":
            event.listen(self.engine, "do_connect", _postgres_connect)
        event.listen(self.engine, "before_cursor_execute", _strip_nul, retval=True)
        self._writer = self.engine.execution_options(roleext_write=True)
        self._queue = _process_lock(self.url)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """One transaction that holds the database's write lock from its first statement."""
        if not self._queue.acquire(timeout=BUSY_TIMEOUT_MS / 1000):
            raise self._busy()
        try:
            with self._writer.begin() as conn:
                if self.dialect == "postgresql":
                    # SQLite's busy_timeout, for PostgreSQL: wait this long for any lock, then give up.
                    conn.execute(text(f"SET LOCAL lock_timeout = {BUSY_TIMEOUT_MS}"))
                    conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": WRITE_LOCK})
                yield conn
        except PoolTimeoutError:
            raise self._busy() from None
        except DatabaseError as exc:
            if "file is not a database" in str(exc):
                raise DatabaseOpenError(_("{path} is not a roleext database (not SQLite at all); give another path")
                                        .format(path=self.url.removeprefix("sqlite:///"))) from None
            if not isinstance(exc, OperationalError):
                raise
            if "database is locked" in str(exc) or "lock timeout" in str(exc) or any(
                    words in str(exc) for words in _SERVER_FULL):
                raise self._busy() from None
            if str(exc.orig).startswith("connection failed"):
                reason = str(exc.orig).split(" failed: ")[-1].splitlines()[0].strip()
                raise DatabaseOpenError(_("cannot connect to the database {url}: {reason}").format(
                    url=shown_url(self.url), reason=reason)) from None
            raise
        finally:
            self._queue.release()

    def _busy(self) -> DatabaseBusyError:
        return DatabaseBusyError(_(
            "the project database stayed busy for {seconds} s (another process is writing a lot, e.g. a large "
            "import); nothing was saved, try again in a moment").format(seconds=BUSY_TIMEOUT_MS // 1000))

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
