"""Finding records by a piece of their chat, gold or summary, on an index at any project size.

The index is the database's own (migration m010_search_index): FTS5 with the trigram
tokenizer on SQLite, pg_trgm GIN indexes on PostgreSQL, both kept up to date by the database,
so an import, a summary or a gold edit is searchable the moment it is committed. A match is
the text as typed (case included) anywhere in a column, as `text in column` would say.

Trigrams need 3 characters: a 1-2 character query cannot use the index and scans the
columns instead (correct, but its time grows with the project).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, text

from roleext.migrations import SEARCHED

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
            elif dialect == "sqlite":
                parts.append(f"SELECT {key} AS id FROM {table} WHERE instr({column}, :query) > 0")
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
