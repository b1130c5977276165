"""Finding records by a piece of their chat, gold or summary, on an index at any project size.

The index is the database's own (migration m010_search_index): FTS5 with the trigram
tokenizer on SQLite, pg_trgm GIN indexes on PostgreSQL, kept up to date by the database, so
a summary or a gold edit is searchable the moment it is committed. Newly imported records
join the index afterwards (`catch_up`; m012 on SQLite, m015 on PostgreSQL): until then search
scans them, so an import is searchable at once too, only slower. A match is the text as typed
(case included) anywhere in a column, as `text in column` would say.

Trigrams need 3 characters: a 1-2 character query cannot use the index and scans the
columns instead (correct, but its time grows with the project).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any

from sqlalchemy import Connection, text

from roleext.errors import RoleextError
from roleext.migrations import INDEXED_UPTO, SEARCHED

log = logging.getLogger(__name__)

MIN_INDEXED_CHARS = 3
"""Shorter queries have no trigram to look up: they scan."""

_GLOB_SPECIAL = str.maketrans({"*": "[*]", "?": "[?]", "[": "[[]"})


def _glob(query: str) -> str:
    """A GLOB pattern matching `query` anywhere, every wildcard in it taken literally."""
    return f"*{query.translate(_GLOB_SPECIAL)}*"


def _like(query: str) -> str:
    """A LIKE pattern (escape character backslash) matching `query` anywhere, literally."""
    escaped = query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _matching_ids(dialect: str, query: str) -> tuple[str, dict[str, Any]]:
    """SQL selecting the ids of records with `query` in a searched column, and its parameters."""
    parts = []
    for table, key, columns in SEARCHED:
        for column in columns:
            if dialect == "sqlite" and len(query) >= MIN_INDEXED_CHARS:
                # The FTS5 table finds candidates by trigram; SQLite checks each against the pattern.
                parts.append(f"SELECT rowid AS id FROM {table}_search WHERE {column} GLOB :pattern")
                if table == "records":  # and the records not yet in the index (m012), by scanning
                    parts.append(f"SELECT id FROM records WHERE id > {INDEXED_UPTO} AND instr({column}, :query) > 0")
            elif dialect == "sqlite":
                parts.append(f"SELECT {key} AS id FROM {table} WHERE instr({column}, :query) > 0")
            elif table == "records":  # the indexed copy (m015), and the records not copied yet
                parts.append(f"SELECT id FROM records_search WHERE {column} LIKE :pattern ESCAPE '\\'")
                parts.append(f"SELECT id FROM records WHERE id > {INDEXED_UPTO} AND {column} LIKE :pattern "
                             "ESCAPE '\\'")
            else:
                parts.append(f"SELECT {key} AS id FROM {table} WHERE {column} LIKE :pattern ESCAPE '\\'")
    pattern = _glob(query) if dialect == "sqlite" else _like(query)
    return " UNION ".join(parts), {"pattern": pattern, "query": query}


def search_ids(conn: Connection, query: str, split: str | None = None) -> set[int]:
    """Ids of records (of `split`, if given) whose chat, gold or summary contains `query`."""
    if not query or "\x00" in query:  # no stored text holds a NUL (files with one are refused)
        return set()
    ids, params = _matching_ids(conn.dialect.name, query)
    if conn.dialect.name == "postgresql" and len(query) >= MIN_INDEXED_CHARS:
        # The planner prices a scan of long (TOASTed) chats as cheap as the row headers it
        # reads, and scans 700 MB rather than use the trigram index: this transaction only
        # may not scan.
        conn.execute(text("SET LOCAL enable_seqscan = off"))
    sql = f"SELECT id FROM records WHERE id IN ({ids})"
    if split is not None:
        sql += " AND split = :split"
        params["split"] = split
    used = {name: value for name, value in params.items() if f":{name}" in sql}
    return set(conn.execute(text(sql), used).scalars())


INDEX_CHARS_PER_TRANSACTION = 2_000_000
"""Chat characters one catch-up transaction indexes (~0.5 s of the write lock): edits made
meanwhile wait that long at most."""

Write = Callable[[], AbstractContextManager[Connection]]


def waiting(conn: Connection) -> int:
    """Records not in the search index yet."""
    return int(conn.execute(text(f"SELECT count(*) FROM records WHERE id > {INDEXED_UPTO}")).scalar_one())


def _next_batch(conn: Connection) -> tuple[int, int, int] | None:
    """(indexed up to, the batch's last id, its records) of the next records to index, or None."""
    upto = int(conn.execute(text(f"SELECT {INDEXED_UPTO}")).scalar_one())
    # Sizing reads the chats (PostgreSQL detoasts them): no more rows than a batch is likely to take.
    sizes = conn.execute(text("SELECT id, length(chat_text) FROM records WHERE id > :upto ORDER BY id LIMIT 500"),
                         {"upto": upto}).all()
    if not sizes:
        return None
    last, total, count = upto, 0, 0
    for record_id, chars in sizes:
        if count and total + chars > INDEX_CHARS_PER_TRANSACTION:
            break
        last, total, count = record_id, total + chars, count + 1
    return upto, last, count


def catch_up(write: Write, *, stop: Callable[[], bool] = lambda: False) -> Iterator[int]:
    """Index the records an import left out of the search index, a short transaction at a time;
    yields how many each transaction indexed. Two processes doing it at once take turns on the
    write lock, each batch read and marked inside it, so no record is indexed twice."""
    while not stop():
        with write() as conn:
            batch = _next_batch(conn)
            if batch is None:
                return
            upto, last, count = batch
            key = "rowid" if conn.dialect.name == "sqlite" else "id"  # FTS5's row id; PostgreSQL's copy
            conn.execute(text(f"INSERT INTO records_search({key}, chat_text, gold) "
                              "SELECT id, chat_text, gold FROM records WHERE id > :upto AND id <= :last ORDER BY id"),
                         {"upto": upto, "last": last})
            conn.execute(text("UPDATE search_indexed SET upto = :last WHERE name = 'records'"), {"last": last})
        yield count
        time.sleep(0)  # give up the GIL: a thread waiting for the write lock takes it between two batches


class BackgroundIndexer:
    """Catches the search index up from a daemon thread of the app's server process, so an
    upload from the Data page is indexed without anyone waiting for it. `poke` after an import
    (and once when the app starts, for what a command-line import or a crash left): the thread
    runs until nothing waits, then ends. A crash mid-batch loses nothing: the batch rolls back."""

    def __init__(self, waiting: Callable[[], int], index: Callable[[], Iterator[int]]) -> None:
        self.waiting = waiting
        self.index = index
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._again = False

    def poke(self) -> None:
        """Make sure a thread is catching up (or will look again once the running one is done)."""
        with self._lock:
            if self._thread is not None:
                self._again = True
                return
            self._thread = threading.Thread(target=self._run, name="roleext-search-index", daemon=True)
            self._thread.start()

    @property
    def running(self) -> bool:
        return self._thread is not None

    def join(self, timeout: float | None = None) -> None:
        """Wait for the running catch-up, if any (tests, and a clean shutdown)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def _run(self) -> None:
        while True:
            try:
                if self.waiting():
                    for _count in self.index():
                        pass
            except RoleextError as exc:  # the database busy for a while: the next poke tries again
                log.warning("search index not caught up: %s", exc)
            except Exception:
                log.exception("search index not caught up")
            with self._lock:
                if not self._again:
                    self._thread = None
                    return
                self._again = False
