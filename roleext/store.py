"""The project store: SQLAlchemy Core over SQLite (WAL) or any URL SQLAlchemy knows.

Every write is one transaction. Edits carry the version they were based on and fail with
`ConflictError` if the row moved on meanwhile, so two browser tabs never silently overwrite
each other; every edit is appended to `history` in the same transaction.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    MetaData,
    Row,
    Table,
    bindparam,
    create_engine,
    event,
    func,
    insert,
    select,
    update,
)

from roleext.errors import ConflictError, NotFoundError
from roleext.io import ChatFile, Split
from roleext.migrations import migrate
from roleext.project import (
    HistoryEntry,
    ImportReport,
    Prediction,
    Record,
    RecordInfo,
    ReviewStatus,
    Summary,
)
from roleext.schema import Customer

DEFAULT_DB = "roleext.db"
DB_ENV = "ROLEEXT_DB"


def database_url(db: str | Path | None = None) -> str:
    """A SQLAlchemy URL from a path or URL; default `$ROLEEXT_DB`, else ./roleext.db."""
    value = str(db) if db else os.environ.get(DB_ENV, DEFAULT_DB)
    if "://" in value:
        return value
    return f"sqlite:///{Path(value).expanduser().resolve()}"


def default_author() -> str:
    """Who the history says made an edit when the caller does not say."""
    try:
        return os.environ.get("ROLEEXT_USER") or getpass.getuser()
    except OSError:  # no user name in some containers
        return "unknown"


def chat_hash(chat_text: str) -> str:
    """The content identity of a chat: records have no id, so re-imports match on this."""
    return hashlib.sha256(chat_text.encode("utf-8")).hexdigest()


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _now() -> datetime:
    return datetime.now(UTC)


def _as_text(value: str) -> str:
    return value


# For each table with a reviewer's edit: its column, its history target, how to read it.
_EDITABLE: dict[str, tuple[str, str, Callable[[str], Any]]] = {
    "summaries": ("edited_text", "summary", _as_text),
    "predictions": ("corrected", "prediction", json.loads),
}


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class ProjectStore:
    """One project's records, summaries, predictions, reviews and history."""

    def __init__(self, db: str | Path | None = None) -> None:
        self.url = database_url(db)
        self.engine: Engine = create_engine(self.url)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        with self.engine.begin() as conn:
            migrate(conn)
        meta = MetaData()
        meta.reflect(self.engine)
        self.records: Table = meta.tables["records"]
        self.summaries: Table = meta.tables["summaries"]
        self.predictions: Table = meta.tables["predictions"]
        self.history: Table = meta.tables["history"]

    def close(self) -> None:
        self.engine.dispose()

    # --- import -----------------------------------------------------------------------

    def import_chat_file(self, chat_file: ChatFile, author: str | None = None) -> ImportReport:
        """Make the split hold the file's records, matching stored ones by chat content.

        A stored record whose chat is in the file keeps its id, review, summary and
        prediction; one whose chat changed at the same position is updated in place; one
        the file no longer holds is kept, without a position, so nothing is lost. Gold the
        user edited is kept; untouched gold follows the file.
        """
        r = self.records
        author = author or default_author()
        now = _now()
        with self.engine.begin() as conn:
            stored = conn.execute(
                select(r.c.id, r.c.idx, r.c.chat_hash, r.c.gold_imported, r.c.gold)
                .where(r.c.split == chat_file.split)
            ).all()
            by_hash: dict[str, list[Any]] = defaultdict(list)
            by_idx = {row.idx: row for row in stored if row.idx is not None}
            for stored_row in stored:
                by_hash[stored_row.chat_hash].append(stored_row)
            used: set[int] = set()
            matches: dict[int, Any] = {}
            hashes = {rec.index: chat_hash(rec.chat_text) for rec in chat_file.records}
            for rec in chat_file.records:
                candidates = [row for row in by_hash.get(hashes[rec.index], []) if row.id not in used]
                if candidates:
                    pick = next((row for row in candidates if row.idx == rec.index), candidates[0])
                    matches[rec.index] = pick
                    used.add(pick.id)
            for rec in chat_file.records:  # same position, chat edited: update in place
                at_index = by_idx.get(rec.index)
                if rec.index not in matches and at_index is not None and at_index.id not in used:
                    matches[rec.index] = at_index
                    used.add(at_index.id)

            moved = [row.id for row in stored if row.idx is not None and row.id not in used]
            detached = len(moved)
            changes: list[dict[str, Any]] = []
            history: list[dict[str, Any]] = []
            inserts: list[dict[str, Any]] = []
            unchanged = 0
            for rec in chat_file.records:
                new_gold = _dumps(rec.infos)
                row = matches.get(rec.index)
                if row is None:
                    inserts.append({
                        "split": chat_file.split, "idx": rec.index, "chat_text": rec.chat_text,
                        "chat_hash": hashes[rec.index], "gold_imported": new_gold, "gold": new_gold,
                        "status": ReviewStatus.PENDING.value, "version": 1,
                        "created_at": now, "updated_at": now,
                    })
                    continue
                chat_changed = row.chat_hash != hashes[rec.index]
                gold_changed = row.gold_imported != new_gold
                if row.idx == rec.index and not chat_changed and not gold_changed:
                    unchanged += 1
                    continue
                if row.idx != rec.index:
                    moved.append(row.id)
                # Gold the user edited stays; untouched gold follows the file.
                gold = new_gold if row.gold == row.gold_imported else row.gold
                changes.append({
                    "b_id": row.id, "b_idx": rec.index, "b_chat": rec.chat_text,
                    "b_hash": hashes[rec.index], "b_imported": new_gold, "b_gold": gold,
                    "b_bump": int(chat_changed or gold != row.gold), "b_now": now,
                })
                if chat_changed or gold_changed:
                    history.append(self._history_row(
                        row.id, "import", author, now,
                        {"chat_hash": row.chat_hash, "gold": json.loads(row.gold_imported)},
                        {"chat_hash": hashes[rec.index], "gold": rec.infos},
                    ))
            if moved:  # free the positions first: (split, idx) is unique
                conn.execute(update(r).where(r.c.id.in_(moved)).values(idx=None, updated_at=now))
            if changes:
                conn.execute(
                    update(r).where(r.c.id == bindparam("b_id")).values(
                        idx=bindparam("b_idx"), chat_text=bindparam("b_chat"),
                        chat_hash=bindparam("b_hash"), gold_imported=bindparam("b_imported"),
                        gold=bindparam("b_gold"), version=r.c.version + bindparam("b_bump"),
                        updated_at=bindparam("b_now"),
                    ),
                    changes,
                )
            if inserts:
                conn.execute(insert(r), inserts)
            if history:
                conn.execute(insert(self.history), history)
        return ImportReport(chat_file.split, len(inserts), len(changes), unchanged, detached)

    # --- reading ----------------------------------------------------------------------

    def _record_query(self) -> Any:
        r, s, p = self.records, self.summaries, self.predictions
        return (
            select(
                r,
                s.c.text.label("s_text"), s.c.edited_text.label("s_edited"),
                s.c.backend.label("s_backend"), s.c.model.label("s_model"),
                s.c.prompt_hash.label("s_prompt"), s.c.version.label("s_version"),
                p.c.raw_output.label("p_raw"), p.c.parsed.label("p_parsed"),
                p.c.corrected.label("p_corrected"), p.c.backend.label("p_backend"),
                p.c.model.label("p_model"), p.c.error.label("p_error"),
                p.c.version.label("p_version"), p.c.changes.label("p_changes"),
            )
            .select_from(r.outerjoin(s, s.c.record_id == r.c.id).outerjoin(p, p.c.record_id == r.c.id))
        )

    @staticmethod
    def _record_from_row(row: Row[Any]) -> Record:
        summary = None
        if row.s_version is not None:
            summary = Summary(row.s_text, row.s_edited, row.s_backend, row.s_model,
                              row.s_prompt, row.s_version)
        prediction = None
        if row.p_version is not None:
            prediction = Prediction(
                row.p_raw, json.loads(row.p_parsed),
                json.loads(row.p_corrected) if row.p_corrected is not None else None,
                row.p_backend, row.p_model, row.p_error, row.p_version,
                tuple(json.loads(row.p_changes)) if row.p_changes else (),
            )
        return Record(
            id=row.id, split=row.split, index=row.idx, chat_text=row.chat_text,
            gold=json.loads(row.gold), gold_imported=json.loads(row.gold_imported),
            status=ReviewStatus(row.status), version=row.version,
            summary=summary, prediction=prediction,
        )

    def get_record(self, split: Split, index: int) -> Record:
        """The record at a 1-based position of a split, with its summary and prediction."""
        r = self.records
        with self.engine.connect() as conn:
            row = conn.execute(self._record_query().where(r.c.split == split, r.c.idx == index)).first()
        if row is None:
            raise NotFoundError(f"{split} has no record {index}")
        return self._record_from_row(row)

    def iter_records(self, split: Split, batch: int = 500) -> Iterator[Record]:
        """Every positioned record of a split in file order, streamed in batches."""
        r = self.records
        last = 0
        while True:
            with self.engine.connect() as conn:
                rows = conn.execute(
                    self._record_query()
                    .where(r.c.split == split, r.c.idx.is_not(None), r.c.idx > last)
                    .order_by(r.c.idx).limit(batch)
                ).all()
            if not rows:
                return
            for row in rows:
                yield self._record_from_row(row)
            last = rows[-1].idx

    def iter_all_chats(self) -> Iterator[str]:
        """Every chat of the project (both splits): what staff and boilerplate are learnt from."""
        with self.engine.connect() as conn:
            yield from conn.execute(select(self.records.c.chat_text)
                                    .where(self.records.c.idx.is_not(None))).scalars()

    def list_records(self, split: Split | None = None) -> list[RecordInfo]:
        """A line per positioned record (no chat text), in split and file order."""
        r, s, p = self.records, self.summaries, self.predictions
        query = (
            select(r.c.id, r.c.split, r.c.idx, r.c.status, func.length(r.c.chat_text).label("chars"),
                   r.c.gold, s.c.record_id.label("s_id"), p.c.record_id.label("p_id"))
            .select_from(r.outerjoin(s, s.c.record_id == r.c.id).outerjoin(p, p.c.record_id == r.c.id))
            .where(r.c.idx.is_not(None))
            .order_by(r.c.split.desc(), r.c.idx)
        )
        if split is not None:
            query = query.where(r.c.split == split)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [
            RecordInfo(row.id, row.split, row.idx, ReviewStatus(row.status), row.chars,
                       len(json.loads(row.gold)), row.s_id is not None, row.p_id is not None)
            for row in rows
        ]

    def search_records(self, text: str, split: Split | None = None) -> set[int]:
        """Ids of records whose chat, gold or summary contains `text` (case as typed)."""
        r, s = self.records, self.summaries
        query = (select(r.c.id).select_from(r.outerjoin(s, s.c.record_id == r.c.id))
                 .where(r.c.chat_text.contains(text, autoescape=True)
                        | r.c.gold.contains(text, autoescape=True)
                        | s.c.text.contains(text, autoescape=True)
                        | s.c.edited_text.contains(text, autoescape=True)))
        if split is not None:
            query = query.where(r.c.split == split)
        with self.engine.connect() as conn:
            return set(conn.execute(query).scalars())

    def count(self, split: Split) -> int:
        r = self.records
        with self.engine.connect() as conn:
            return int(conn.execute(
                select(func.count()).where(r.c.split == split, r.c.idx.is_not(None))
            ).scalar_one())

    def history_of(self, record_id: int) -> list[HistoryEntry]:
        """Every recorded edit of a record, oldest first."""
        h = self.history
        with self.engine.connect() as conn:
            rows = conn.execute(select(h).where(h.c.record_id == record_id).order_by(h.c.id)).all()
        return [
            HistoryEntry(row.id, row.record_id, row.target, row.author, row.at,
                         json.loads(row.before) if row.before is not None else None,
                         json.loads(row.after) if row.after is not None else None)
            for row in rows
        ]

    # --- edits ------------------------------------------------------------------------

    def _history_row(self, record_id: int, target: str, author: str, at: datetime,
                     before: Any, after: Any) -> dict[str, Any]:
        return {"record_id": record_id, "target": target, "author": author, "at": at,
                "before": None if before is None else _dumps(before),
                "after": None if after is None else _dumps(after)}

    def _guarded_update(self, conn: Connection, table: Table, key: Any, record_id: int,
                        expected_version: int, what: str, values: dict[str, Any]) -> int:
        """Write `values` only if the row is still at `expected_version`; the new version."""
        result = conn.execute(
            update(table)
            .where(key == record_id, table.c.version == expected_version)
            .values(**values, version=table.c.version + 1, updated_at=_now())
        )
        if result.rowcount == 1:
            return expected_version + 1
        current = conn.execute(select(table.c.version).where(key == record_id)).scalar()
        if current is None:
            raise NotFoundError(f"the {what} of record id {record_id} does not exist")
        raise ConflictError(
            f"the {what} was changed elsewhere (another tab or process) since you opened it "
            f"(your version {expected_version}, now {current}); reload to see that change, "
            "then apply yours again"
        )

    def _record_value(self, conn: Connection, record_id: int, column: str) -> Any:
        value = conn.execute(select(self.records.c[column]).where(self.records.c.id == record_id)).scalar()
        if value is None:
            raise NotFoundError(f"no record with id {record_id}")
        return value

    def update_gold(self, record_id: int, infos: list[Customer], expected_version: int,
                    author: str | None = None) -> int:
        """Replace a record's gold customers; returns the record's new version."""
        with self.engine.begin() as conn:
            before = json.loads(self._record_value(conn, record_id, "gold"))
            version = self._guarded_update(conn, self.records, self.records.c.id, record_id,
                                           expected_version, "gold", {"gold": _dumps(infos)})
            conn.execute(insert(self.history), self._history_row(
                record_id, "gold", author or default_author(), _now(), before, infos))
        return version

    def set_status(self, record_id: int, status: ReviewStatus, expected_version: int,
                   author: str | None = None) -> int:
        """Set a record's review status; returns the record's new version."""
        with self.engine.begin() as conn:
            before = self._record_value(conn, record_id, "status")
            version = self._guarded_update(conn, self.records, self.records.c.id, record_id,
                                           expected_version, "review status",
                                           {"status": ReviewStatus(status).value})
            conn.execute(insert(self.history), self._history_row(
                record_id, "status", author or default_author(), _now(), before, status.value))
        return version

    def _replace_generated(self, table: Table, record_id: int, values: dict[str, Any], after: Any) -> None:
        """Insert or overwrite a job's output row; a reviewer's edit it replaces goes to history."""
        column, target, decode = _EDITABLE[table.name]
        now = _now()
        with self.engine.begin() as conn:
            old = conn.execute(select(table.c[column]).where(table.c.record_id == record_id)).first()
            if old is None:
                conn.execute(insert(table).values(record_id=record_id, version=1, created_at=now,
                                                  updated_at=now, **values))
                return
            conn.execute(update(table).where(table.c.record_id == record_id)
                         .values(version=table.c.version + 1, updated_at=now, **values))
            if old[0] is not None:  # an edit replaced by a new run stays traceable
                conn.execute(insert(self.history), self._history_row(
                    record_id, target, "generated", now, decode(old[0]), after))

    def save_summary(self, record_id: int, text: str, backend: str, model: str,
                     prompt_hash: str) -> None:
        """Store a generated summary, replacing an earlier one and dropping its edit."""
        self._replace_generated(self.summaries, record_id, {
            "text": text, "edited_text": None, "backend": backend, "model": model,
            "prompt_hash": prompt_hash}, after=text)

    def save_prediction(self, record_id: int, raw_output: str, parsed: list[Customer],
                        backend: str, model: str, error: str | None = None,
                        changes: list[str] | None = None) -> None:
        """Store a model's answer for a record, replacing an earlier one and its correction."""
        self._replace_generated(self.predictions, record_id, {
            "raw_output": raw_output, "parsed": _dumps(parsed), "corrected": None, "backend": backend,
            "model": model, "error": error, "changes": _dumps(changes or [])}, after=parsed)

    def _edit(self, table: Table, record_id: int, expected_version: int, what: str,
              column: str, stored: str, before: Any, after: Any, author: str | None) -> int:
        """Write a reviewer's edit under the version guard, with its history row."""
        with self.engine.begin() as conn:
            version = self._guarded_update(conn, table, table.c.record_id, record_id, expected_version,
                                           what, {column: stored})
            conn.execute(insert(self.history), self._history_row(
                record_id, what, author or default_author(), _now(), before, after))
        return version

    def _current(self, table: Table, record_id: int, what: str) -> Any:
        with self.engine.connect() as conn:
            row = conn.execute(select(table).where(table.c.record_id == record_id)).first()
        if row is None:
            raise NotFoundError(f"record id {record_id} has no {what} to edit yet")
        return row

    def edit_summary(self, record_id: int, text: str, expected_version: int,
                     author: str | None = None) -> int:
        """Save a reviewer's edit of a summary; returns the summary's new version."""
        old = self._current(self.summaries, record_id, "summary")
        before = old.edited_text if old.edited_text is not None else old.text
        return self._edit(self.summaries, record_id, expected_version, "summary", "edited_text", text,
                          before, text, author)

    def correct_prediction(self, record_id: int, infos: list[Customer], expected_version: int,
                           author: str | None = None) -> int:
        """Save a reviewer's correction of a prediction; returns the prediction's new version."""
        old = self._current(self.predictions, record_id, "prediction")
        before = json.loads(old.corrected if old.corrected is not None else old.parsed)
        return self._edit(self.predictions, record_id, expected_version, "prediction", "corrected",
                          _dumps(infos), before, infos, author)

