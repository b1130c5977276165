"""Numbered schema migrations: last month's roleext.db must open with this month's code.

Each migration states the DDL of its day with SQLAlchemy Core, so it runs on SQLite and
PostgreSQL alike. The store reflects the tables these create; this is the one definition
of the schema. Never edit a released migration: append a new one.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
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
from sqlalchemy.exc import DBAPIError

Migration = Callable[[Connection], None]

BEFORE_RUNS = "before runs"
"""What a run made of predictions from before runs existed says where nothing more is known."""
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


@migration
def m006_runs(conn: Connection) -> None:
    """Every inference job is a run, and a record has one prediction per run.

    The predictions made before runs existed become one run per split ("before runs" where
    their backend or model was not one and the same), so no prediction, correction or
    history of one is lost; the predictions table is rebuilt keyed by (run, record).
    """
    meta = MetaData()
    Table("records", meta, autoload_with=conn)
    runs = Table(
        "runs",
        meta,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("split", String(8), nullable=False),
        Column("backend", String(40), nullable=False),
        Column("model", String(200), nullable=False),
        # The prompt text the run sent (NULL: not known, a run from before runs) and its hash.
        Column("prompt", Text, nullable=True),
        Column("prompt_hash", String(64), nullable=True),
        # What else shaped it, as JSON (concurrency, temperature, input...; never a key).
        Column("options", Text, nullable=False),
        # The job config a resumed job must match (roleext.jobs.Job.config).
        Column("config", String(64), nullable=True),
        # The run a person chose for the submission (at most one per split).
        Column("chosen", Boolean, nullable=False),
        Column("failed", Integer, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("ended_at", DateTime(timezone=True), nullable=True),
        Index("ix_runs_split", "split", "id"),
    )
    Table(
        "predictions_by_run",
        meta,
        Column("run_id", Integer, ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
        Column("record_id", Integer, ForeignKey("records.id", ondelete="CASCADE"), primary_key=True),
        Column("raw_output", Text, nullable=False),
        Column("parsed", Text, nullable=False),
        Column("corrected", Text, nullable=True),
        Column("backend", String(40), nullable=False),
        Column("model", String(200), nullable=False),
        Column("error", Text, nullable=True),
        Column("changes", Text, nullable=True),
        Column("chat_hash", String(64), nullable=True),
        Column("version", Integer, nullable=False),
        *_timestamps(),
        Index("ix_predictions_record", "record_id"),
    )
    meta.create_all(conn)
    for table in ("history", "record_tasks", "jobs"):  # which run a correction, a task state, a job was of
        conn.execute(text(f"ALTER TABLE {table} ADD COLUMN run_id INTEGER"))
    old = text("SELECT r.split, min(p.backend) AS b0, max(p.backend) AS b1, min(p.model) AS m0, "
               "max(p.model) AS m1, min(p.created_at) AS started, max(p.updated_at) AS ended "
               "FROM predictions p JOIN records r ON r.id = p.record_id GROUP BY r.split ORDER BY r.split")
    for row in conn.execute(old).all():
        failed = conn.execute(text(
            "SELECT count(*) FROM record_tasks t JOIN records r ON r.id = t.record_id "
            "WHERE t.kind = 'infer' AND t.status = 'failed' AND r.split = :split"), {"split": row.split}).scalar()
        run_id = conn.execute(insert(runs).values(
            split=row.split, backend=row.b0 if row.b0 == row.b1 else BEFORE_RUNS,
            model=row.m0 if row.m0 == row.m1 else BEFORE_RUNS, prompt=None, prompt_hash=None,
            options=json.dumps({"note": BEFORE_RUNS}), config=None, chosen=False, failed=failed or 0,
            created_at=_when(row.started), ended_at=_when(row.ended))).inserted_primary_key
        assert run_id is not None
        params = {"run": run_id[0], "split": row.split}
        conn.execute(text(
            "INSERT INTO predictions_by_run (run_id, record_id, raw_output, parsed, corrected, backend, model, "
            "error, changes, chat_hash, version, created_at, updated_at) "
            "SELECT :run, p.record_id, p.raw_output, p.parsed, p.corrected, p.backend, p.model, p.error, "
            "p.changes, p.chat_hash, p.version, p.created_at, p.updated_at "
            "FROM predictions p JOIN records r ON r.id = p.record_id WHERE r.split = :split"), params)
        # The corrections, task states and jobs of those predictions belong to their run.
        for table, where in (("history", "target = 'prediction' AND record_id IN "
                                         "(SELECT id FROM records WHERE split = :split)"),
                             ("record_tasks", "kind = 'infer' AND record_id IN "
                                              "(SELECT id FROM records WHERE split = :split)"),
                             ("jobs", "kind = 'infer' AND split = :split")):
            conn.execute(text(f"UPDATE {table} SET run_id = :run WHERE {where}"), params)
    conn.execute(text("DROP TABLE predictions"))
    conn.execute(text("ALTER TABLE predictions_by_run RENAME TO predictions"))


@migration
def m007_users(conn: Connection) -> None:
    """The team: who may sign in, with which role. No row at all means single-user mode."""
    Table(
        "users",
        MetaData(),
        Column("name", String(64), primary_key=True),
        Column("role", String(16), nullable=False),
        # An argon2id hash in its PHC string form (algorithm, parameters and salt included); never the password.
        Column("password_hash", String(255), nullable=False),
        *_timestamps(),
    ).create(conn)


@migration
def m008_annotations(conn: Connection) -> None:
    """Team mode: who labels which record, each annotator's own labels, a reviewer's resolutions.

    Annotators are names (strings), not users: a project may take labels from people who never
    sign in (`import --as NAME`). A record with no assignment is a single-user record, as before.
    """
    meta = MetaData()
    Table("records", meta, autoload_with=conn)
    Table(
        "assignments",
        meta,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("record_id", Integer, ForeignKey("records.id", ondelete="CASCADE"), nullable=False),
        Column("annotator", String(100), nullable=False),
        # The first annotator of a record is the earliest assigned (then the lowest id).
        Column("assigned_at", DateTime(timezone=True), nullable=False),
        UniqueConstraint("record_id", "annotator", name="uq_assignments_record_annotator"),
        Index("ix_assignments_annotator", "annotator", "record_id"),
    )
    Table(
        "annotations",
        meta,
        Column("record_id", Integer, ForeignKey("records.id", ondelete="CASCADE"), primary_key=True),
        Column("annotator", String(100), primary_key=True),
        # The annotator's customers, as a gold `infos` list (JSON).
        Column("infos", Text, nullable=False),
        # Guards edits as records.version does: a second tab's save is a conflict, not a loss.
        Column("version", Integer, nullable=False),
        *_timestamps(),
    )
    Table(
        "resolutions",
        meta,
        Column("record_id", Integer, ForeignKey("records.id", ondelete="CASCADE"), primary_key=True),
        # 1-based: the first annotator's customers, then the second's that none of them paired.
        Column("customer", Integer, primary_key=True),
        Column("field", String(40), primary_key=True),
        # The resolved value (JSON: a string or a list of strings) and how it was chosen.
        Column("value", Text, nullable=False),
        Column("choice", String(8), nullable=False),
        Column("reviewer", String(100), nullable=False),
        Column("at", DateTime(timezone=True), nullable=False),
    )
    meta.create_all(conn)
    # Whose annotation an "annotation" history entry changed (the author is who made the edit).
    conn.execute(text("ALTER TABLE history ADD COLUMN annotator VARCHAR(100)"))


@migration
def m009_job_queue(conn: Connection) -> None:
    """Jobs become a queue that any process (app server or `roleext worker`) may claim."""
    # What a queued job runs (kind, split, JobSpec, backend choice; never a key) as JSON:
    # a job row with a request is a queue entry a worker claims (roleext.worker).
    conn.execute(text("ALTER TABLE jobs ADD COLUMN request TEXT"))


def _when(value: Any) -> datetime:
    """A timestamp read back by raw SQL: SQLite hands back text, PostgreSQL a datetime."""
    if isinstance(value, datetime):
        return value
    if value is None:
        return datetime.now(UTC)
    parsed = datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


SEARCHED = (("records", "id", ("chat_text", "gold")), ("summaries", "record_id", ("text", "edited_text")))
"""The text search covers, as (table, key, columns): `roleext.search` reads the same list."""

INDEXED_UPTO = "(SELECT upto FROM search_indexed WHERE name = 'records')"
"""SQL for the highest record id in the search index (m012): the records above it wait for it."""


def _search_triggers(conn: Connection, table: str, key: str, columns: tuple[str, ...], *, insert: bool,
                     only_indexed: str = "") -> None:
    """SQLite triggers keeping `{table}_search` (FTS5, external content) in step with `table`.

    `insert`: index each new row as it is written. `only_indexed`: a condition on `old` rows
    that are in the index; a row outside it must not be "deleted" from it (FTS5 would corrupt)."""
    new = ", ".join(f"new.{c}" for c in columns)
    old = ", ".join(f"old.{c}" for c in columns)
    add = f"INSERT INTO {table}_search(rowid, {', '.join(columns)}) VALUES (new.{key}, {new});"
    drop = (f"INSERT INTO {table}_search({table}_search, rowid, {', '.join(columns)}) "
            f"VALUES ('delete', old.{key}, {old});")
    changed = " OR ".join(f"old.{c} IS NOT new.{c}" for c in columns)
    if insert:
        conn.execute(text(f"CREATE TRIGGER {table}_search_insert AFTER INSERT ON {table} BEGIN {add} END"))
    deleted = f"WHEN {only_indexed} " if only_indexed else ""
    updated = f"({changed}) AND {only_indexed}" if only_indexed else changed
    conn.execute(text(f"CREATE TRIGGER {table}_search_delete AFTER DELETE ON {table} {deleted}BEGIN {drop} END"))
    conn.execute(text(f"CREATE TRIGGER {table}_search_update AFTER UPDATE OF {', '.join(columns)} "
                      f"ON {table} WHEN {updated} BEGIN {drop} {add} END"))


@migration
def m010_search_index(conn: Connection) -> None:
    """An index for searching chat, gold and summaries, kept by the database itself.

    SQLite: FTS5 tables with the trigram tokenizer (any 3 characters, Chinese included),
    external-content over `records` and `summaries`, kept by triggers. PostgreSQL: pg_trgm GIN
    indexes on the same columns. Either way no writer can forget to update it. Where pg_trgm
    cannot be created (a server without it), search still works, by scanning.
    """
    if conn.dialect.name == "sqlite":
        for table, key, columns in SEARCHED:
            conn.execute(text(
                f"CREATE VIRTUAL TABLE {table}_search USING fts5({', '.join(columns)}, content='{table}', "
                f"content_rowid='{key}', tokenize='trigram case_sensitive 1', detail='none')"))
            _search_triggers(conn, table, key, columns, insert=True)
            conn.execute(text(f"INSERT INTO {table}_search({table}_search) VALUES ('rebuild')"))
        return
    try:
        with conn.begin_nested():  # a server without pg_trgm (or no right to add it) keeps scanning
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
    except DBAPIError:
        return
    for table, _key, columns in SEARCHED:
        for column in columns:
            conn.execute(text(f"CREATE INDEX ix_{table}_{column}_trgm ON {table} USING gin ({column} gin_trgm_ops)"))


@migration
def m011_review_indexes(conn: Connection) -> None:
    """Indexes for Review's list queries, so a page costs the same at any project size."""
    # Review asks for one page or the next pending record of a split, filtered by status:
    # an index on (split, status, idx) answers each in a few rows at any project size.
    conn.execute(text("CREATE INDEX ix_records_split_status_idx ON records (split, status, idx)"))
    # Every write of a record sets updated_at: its maximum, read from an index, says whether
    # counts made before are still true (roleext.record_list.list_version).
    conn.execute(text("CREATE INDEX ix_records_updated ON records (updated_at)"))


@migration
def m012_deferred_chat_index(conn: Connection) -> None:
    """SQLite: records join the search index after their import, not inside it.

    Indexing trigrams of chats runs at ~3 MB/s: inside the import's transaction a 650 MB file
    held the write lock (every edit waiting) for minutes. Now an import writes records only;
    `roleext.search.catch_up` indexes the records above `search_indexed.upto` in short
    transactions afterwards, and until then search scans those few (it stays correct).
    Records are never deleted, so their ids only grow: "above upto" is exactly "not indexed"."""
    if conn.dialect.name != "sqlite":
        return
    for trigger in ("insert", "delete", "update"):
        conn.execute(text(f"DROP TRIGGER records_search_{trigger}"))
    conn.execute(text("CREATE TABLE search_indexed (name VARCHAR(40) PRIMARY KEY, upto INTEGER NOT NULL)"))
    conn.execute(text("INSERT INTO search_indexed (name, upto) SELECT 'records', COALESCE(MAX(id), 0) FROM records"))
    table, key, columns = SEARCHED[0]
    _search_triggers(conn, table, key, columns, insert=False, only_indexed=f"old.{key} <= {INDEXED_UPTO}")


@migration
def m013_team_baselines(conn: Connection) -> None:
    """What team data was based on, so nothing overwrites a person's later work.

    annotations.imported: the labels an `import --as` last wrote; a re-import follows the file
    only where the annotation still equals them (the annotator did not edit it since).
    resolutions.basis: the two annotators' values a reviewer resolved; when either annotation
    changes (a customer removed renumbers the pairs), the resolution no longer applies and the
    disagreement shows again."""
    conn.execute(text("ALTER TABLE annotations ADD COLUMN imported TEXT"))
    conn.execute(text("ALTER TABLE resolutions ADD COLUMN basis TEXT"))


@migration
def m014_annotation_chat(conn: Connection) -> None:
    """The chat an annotation was made for: a re-import that changes a chat leaves its labels
    in place but marked outdated, as summaries and predictions are, for the annotator to check."""
    conn.execute(text("ALTER TABLE annotations ADD COLUMN chat_hash VARCHAR(64)"))
    conn.execute(text("UPDATE annotations SET chat_hash = "
                      "(SELECT chat_hash FROM records WHERE records.id = annotations.record_id)"))


@migration
def m015_deferred_chat_index_postgres(conn: Connection) -> None:
    """PostgreSQL: records join the search index after their import too (m012 did SQLite).

    Keeping pg_trgm GIN indexes on `records` made an import of 100,000 chats take half an
    hour (10x its time without them). The indexed copy now lives in `records_search` (id,
    chat_text, gold), filled by `roleext.search.catch_up` above `search_indexed.upto`, and kept
    in step by a trigger when an indexed record's chat or gold changes (a row not copied yet
    is simply not there to update). Chats are stored twice on PostgreSQL: the price of it."""
    if conn.dialect.name != "postgresql":
        return
    conn.execute(text("DROP INDEX IF EXISTS ix_records_chat_text_trgm"))
    conn.execute(text("DROP INDEX IF EXISTS ix_records_gold_trgm"))
    conn.execute(text("CREATE TABLE records_search (id INTEGER PRIMARY KEY REFERENCES records (id) ON DELETE "
                      "CASCADE, chat_text TEXT NOT NULL, gold TEXT NOT NULL)"))
    conn.execute(text("INSERT INTO records_search (id, chat_text, gold) SELECT id, chat_text, gold FROM records"))
    trigram = conn.execute(text("SELECT count(*) FROM pg_extension WHERE extname = 'pg_trgm'")).scalar_one()
    if trigram:
        for column in ("chat_text", "gold"):
            conn.execute(text(f"CREATE INDEX ix_records_search_{column}_trgm ON records_search "
                              f"USING gin ({column} gin_trgm_ops)"))
    conn.execute(text("CREATE TABLE search_indexed (name VARCHAR(40) PRIMARY KEY, upto INTEGER NOT NULL)"))
    conn.execute(text("INSERT INTO search_indexed (name, upto) SELECT 'records', COALESCE(MAX(id), 0) FROM records"))
    conn.execute(text("""CREATE FUNCTION roleext_records_search_update() RETURNS trigger AS $$
BEGIN
    UPDATE records_search SET chat_text = NEW.chat_text, gold = NEW.gold WHERE id = NEW.id;
    RETURN NULL;
END $$ LANGUAGE plpgsql"""))
    conn.execute(text("CREATE TRIGGER records_search_update AFTER UPDATE OF chat_text, gold ON records FOR EACH ROW "
                      "WHEN (OLD.chat_text IS DISTINCT FROM NEW.chat_text OR OLD.gold IS DISTINCT FROM NEW.gold) "
                      "EXECUTE FUNCTION roleext_records_search_update()"))


@migration
def m016_job_cancel_requests(conn: Connection) -> None:
    """A job running in another process (a worker, the command line, another app server) can be
    cancelled: the app sets `cancel_requested` on its row, and the job's next heartbeat reads it."""
    conn.execute(text("ALTER TABLE jobs ADD COLUMN cancel_requested BOOLEAN NOT NULL DEFAULT FALSE"))


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
