"""Numbered schema migrations: last month's roleext.db must open with this month's code.

Each migration states the DDL of its day with SQLAlchemy Core, so it runs on SQLite and
PostgreSQL alike. The store reflects the tables these create; this is the one definition
of the schema. Never edit a released migration: append a new one.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import (
    Column,
    Connection,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    insert,
    inspect,
    select,
    text,
)

Migration = Callable[[Connection], None]
MIGRATIONS: list[tuple[str, Migration]] = []

_LEDGER = MetaData()
migrations_table = Table(
    "roleext_migrations",
    _LEDGER,
    Column("name", String(100), primary_key=True),
    Column("applied_at", DateTime(timezone=True), nullable=False),
)


def migration(fn: Migration) -> Migration:
    """Register a migration; they run in the order they are defined."""
    MIGRATIONS.append((fn.__name__, fn))
    return fn


def _timestamps() -> list[Column[datetime]]:
    return [
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("updated_at", DateTime(timezone=True), nullable=False),
    ]


@migration
def m001_initial(conn: Connection) -> None:
    meta = MetaData()
    Table(
        "records",
        meta,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("split", String(8), nullable=False),
        # 1-based position in the imported file; NULL once a re-import no longer holds it.
        Column("idx", Integer, nullable=True),
        Column("chat_text", Text, nullable=False),
        Column("chat_hash", String(64), nullable=False),
        Column("gold_imported", Text, nullable=False),
        Column("gold", Text, nullable=False),
        Column("status", String(16), nullable=False),
        Column("version", Integer, nullable=False),
        *_timestamps(),
        UniqueConstraint("split", "idx", name="uq_records_split_idx"),
        Index("ix_records_split_hash", "split", "chat_hash"),
    )
    Table(
        "summaries",
        meta,
        Column("record_id", Integer, ForeignKey("records.id", ondelete="CASCADE"), primary_key=True),
        Column("text", Text, nullable=False),
        Column("edited_text", Text, nullable=True),
        Column("backend", String(40), nullable=False),
        Column("model", String(200), nullable=False),
        Column("prompt_hash", String(64), nullable=False),
        Column("version", Integer, nullable=False),
        *_timestamps(),
    )
    Table(
        "predictions",
        meta,
        Column("record_id", Integer, ForeignKey("records.id", ondelete="CASCADE"), primary_key=True),
        Column("raw_output", Text, nullable=False),
        Column("parsed", Text, nullable=False),
        Column("corrected", Text, nullable=True),
        Column("backend", String(40), nullable=False),
        Column("model", String(200), nullable=False),
        Column("error", Text, nullable=True),
        Column("version", Integer, nullable=False),
        *_timestamps(),
    )
    Table(
        "history",
        meta,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("record_id", Integer, ForeignKey("records.id", ondelete="CASCADE"), nullable=False),
        Column("target", String(16), nullable=False),
        Column("author", String(100), nullable=False),
        Column("at", DateTime(timezone=True), nullable=False),
        Column("before", Text, nullable=True),
        Column("after", Text, nullable=True),
        Index("ix_history_record", "record_id", "id"),
    )
    meta.create_all(conn)


@migration
def m002_batch_jobs(conn: Connection) -> None:
    meta = MetaData()
    Table("records", meta, autoload_with=conn)  # the target of the foreign key below
    Table(
        "llm_cache",
        meta,
        # sha256 of (backend, model, task, prompt, input): a re-run calls nothing it already has.
        Column("key", String(64), primary_key=True),
        Column("backend", String(40), nullable=False),
        Column("model", String(200), nullable=False),
        Column("output", Text, nullable=False),
        Column("usage", Text, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
    )
    Table(
        "record_tasks",
        meta,
        Column("record_id", Integer, ForeignKey("records.id", ondelete="CASCADE"), primary_key=True),
        Column("kind", String(16), primary_key=True),
        Column("status", String(16), nullable=False),
        Column("config", String(64), nullable=False),
        Column("error", Text, nullable=True),
        Column("sid", String(100), nullable=True),
        Column("attempts", Integer, nullable=False),
        Column("updated_at", DateTime(timezone=True), nullable=False),
    )
    Table(
        "jobs",
        meta,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("kind", String(16), nullable=False),
        Column("split", String(8), nullable=False),
        Column("status", String(16), nullable=False),
        Column("description", Text, nullable=False),
        Column("total", Integer, nullable=False),
        Column("done", Integer, nullable=False),
        Column("failed", Integer, nullable=False),
        Column("tokens", Integer, nullable=False),
        Column("error", Text, nullable=True),
        *_timestamps(),
    )
    meta.create_all(conn)
    # Every repair or drop the parser made on a model's answer, as a JSON list.
    conn.execute(text("ALTER TABLE predictions ADD COLUMN changes TEXT"))


@migration
def m003_task_detail(conn: Connection) -> None:
    # What a job did to fit a record to the model: cleaning, chunks, halvings.
    conn.execute(text("ALTER TABLE record_tasks ADD COLUMN detail TEXT"))


@migration
def m004_output_sources(conn: Connection) -> None:
    # The chat each summary and prediction was made from: a re-import that changes the chat
    # makes them stale. Rows made before this migration were made from the current chat.
    for table in ("summaries", "predictions"):
        conn.execute(text(f"ALTER TABLE {table} ADD COLUMN chat_hash VARCHAR(64)"))
        conn.execute(text(f"UPDATE {table} SET chat_hash = "
                          f"(SELECT chat_hash FROM records WHERE records.id = {table}.record_id)"))
    # Which process runs a job: the job row is also the lease on its (kind, split).
    conn.execute(text("ALTER TABLE jobs ADD COLUMN owner VARCHAR(200)"))


@migration
def m005_settings(conn: Connection) -> None:
    # A project's own settings, one JSON value a key (the offline rules switched off, first).
    Table(
        "settings",
        MetaData(),
        Column("key", String(100), primary_key=True),
        Column("value", Text, nullable=False),
        Column("updated_at", DateTime(timezone=True), nullable=False),
    ).create(conn)


MIGRATION_LOCK = 7_301_220
"""PostgreSQL advisory lock key serialising migrations; SQLite serialises on BEGIN IMMEDIATE."""


def migrate(conn: Connection) -> list[str]:
    """Apply every migration not yet recorded; return the names applied now.

    The caller's transaction must hold the write lock (the store opens it with BEGIN
    IMMEDIATE on SQLite): processes opening a new database at once then migrate one after
    another, and the later ones find everything applied.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
    if not inspect(conn).has_table(migrations_table.name):
        _LEDGER.create_all(conn)
    done = set(conn.execute(select(migrations_table.c.name)).scalars())
    applied = []
    for name, fn in MIGRATIONS:
        if name in done:
            continue
        fn(conn)
        conn.execute(insert(migrations_table).values(name=name, applied_at=datetime.now(UTC)))
        applied.append(name)
    return applied
