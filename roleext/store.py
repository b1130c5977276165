"""The project store: SQLAlchemy Core over SQLite (WAL) or any URL SQLAlchemy knows.

Every write is one transaction. Edits carry the version they were based on and fail with
`ConflictError` if the row moved on meanwhile, so two browser tabs never silently overwrite
each other; every edit is appended to `history` in the same transaction.
"""

from __future__ import annotations

import dataclasses
import getpass
import json
import os
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import (
    ColumnElement,
    Connection,
    MetaData,
    Row,
    Table,
    and_,
    bindparam,
    func,
    insert,
    select,
    update,
)

from roleext.database import Database, database_url
from roleext.errors import ConflictError, ImportRefusedError, NotFoundError
from roleext.formats.review_import import apply_reviews
from roleext.i18n import _, remedy
from roleext.io import ChatFile, Split
from roleext.matching import ImportPlan, StoredRow, chat_hash, dumps, plan_import
from roleext.migrations import migrate
from roleext.project import (
    HistoryEntry,
    ImportReport,
    Record,
    RecordInfo,
    RecordOutputs,
    ReviewStatus,
)
from roleext.rows import history_entry, outputs_from_row, record_from_row, record_query, shown_run, stale
from roleext.schema import NAME_FIELD, Customer
from roleext.search import catch_up, search_ids, waiting

INSERT_BATCH = 1_000
"""New records written per statement by an import (one transaction for all)."""
STREAM_BATCH = 500
"""Rows a streamed read holds at a time."""
DISABLED_RULES_SETTING = "disabled_rules"
"""Setting key: the names of the offline rules a project switched off, as a JSON list."""

__all__ = ["DISABLED_RULES_SETTING", "JobOutput", "OutputKind", "ProjectStore", "chat_hash", "database_url",
           "default_author", "prediction_output", "summary_output"]


def default_author() -> str:
    """Who the history says made an edit when the caller does not say."""
    try:
        return os.environ.get("ROLEEXT_USER") or getpass.getuser()
    except OSError:  # no user name in some containers
        return "unknown"


def _unshared(text: str) -> str:
    """An equal string that is not `text` itself.

    sqlite3 binds a str through its UTF-8 form, which CPython then keeps inside the str for as
    long as it lives: binding the file's own chats would add a second copy of every chat to
    the ChatFile the caller holds (700 MB at 100,000 chats). A copy is freed with its batch."""
    return text.encode("utf-8").decode("utf-8")


def _now() -> datetime:
    return datetime.now(UTC)


OutputKind = Literal["summary", "prediction"]


@dataclasses.dataclass(frozen=True)
class JobOutput:
    """One record's output of a job, as `ProjectStore.save_outputs` writes it."""

    record_id: int
    values: dict[str, Any]
    """The output row's columns (chat_hash None: the record's chat now)."""
    after: Any
    """What history shows as the new value when the output replaces a person's edit."""
    base_version: int | None = None
    """The output's version the job planned on (None: whatever is there)."""


def summary_output(record_id: int, text: str, backend: str, model: str, prompt_hash: str,
                   chat_hash: str | None = None, base_version: int | None = None) -> JobOutput:
    """A generated summary of the chat with `chat_hash` (None: the record's chat now)."""
    return JobOutput(record_id, {"text": text, "edited_text": None, "backend": backend, "model": model,
                                 "prompt_hash": prompt_hash, "chat_hash": chat_hash}, text, base_version)


def prediction_output(record_id: int, raw_output: str, parsed: list[Customer], backend: str, model: str,
                      error: str | None = None, changes: list[str] | None = None, chat_hash: str | None = None,
                      base_version: int | None = None) -> JobOutput:
    """`error` marks an unusable answer, kept to be looked at."""
    return JobOutput(record_id, {"raw_output": raw_output, "parsed": dumps(parsed), "corrected": None,
                                 "backend": backend, "model": model, "error": error,
                                 "changes": dumps(changes or []), "chat_hash": chat_hash}, parsed, base_version)


# For each table with a reviewer's edit: its column, its history target, how to read it.
_EDITABLE: dict[str, tuple[str, str, Callable[[str], Any]]] = {
    "summaries": ("edited_text", "summary", str),
    "predictions": ("corrected", "prediction", json.loads),
}


class ProjectStore:
    """One project's records, summaries, predictions, reviews and history."""

    def __init__(self, db: str | Path | None = None) -> None:
        self.db = Database(db)
        self.url = self.db.url
        self.engine = self.db.engine
        self.write = self.db.write
        with self.write() as conn:
            migrate(conn)
        meta = MetaData()
        meta.reflect(self.engine)
        self.records: Table = meta.tables["records"]
        self.summaries: Table = meta.tables["summaries"]
        self.predictions: Table = meta.tables["predictions"]
        self.history: Table = meta.tables["history"]
        self.runs: Table = meta.tables["runs"]
        # Built once: the aliases inside cost milliseconds to make, a record read a fraction of one.
        self._shown_run = select(shown_run(self.runs, self.predictions, bindparam("shown_split")))
        self._shown_run_of_record = shown_run(self.runs, self.predictions, self.records.c.split)
        self.settings: Table = meta.tables["settings"]
        # Team mode (roleext.annotations): who labels what, their labels, a reviewer's resolutions.
        self.assignments: Table = meta.tables["assignments"]
        self.annotations: Table = meta.tables["annotations"]
        self.resolutions: Table = meta.tables["resolutions"]
        self.users: Table = meta.tables["users"]  # roleext.users: who signs in (none: single-user mode)

    def close(self) -> None:
        self.db.dispose()

    # --- import -----------------------------------------------------------------------

    def _plan(self, conn: Connection, chat_file: ChatFile) -> ImportPlan:
        r = self.records
        rows = conn.execute(
            select(r.c.id, r.c.idx, r.c.chat_hash, r.c.gold_imported, r.c.gold,
                   func.length(r.c.chat_text).label("chars"))
            .where(r.c.split == chat_file.split)
        ).all()
        stored = [StoredRow(row.id, row.idx, row.chat_hash, row.gold_imported, row.gold, row.chars)
                  for row in rows]
        return plan_import(stored, chat_file, lambda rid: str(self._record_value(conn, rid, "chat_text")))

    def import_chat_file(self, chat_file: ChatFile, author: str | None = None, *,
                         confirmed: bool = False, replace: bool = False,
                         preview: str | None = None) -> ImportReport:
        """Make the split hold the file's records, matching stored ones (see `roleext.matching`).

        A stored record the file holds again keeps its id, review, summary and prediction;
        one the file no longer holds is kept without a position, so nothing is lost. Gold a
        person edited is kept; untouched gold follows the file. An import that would change
        gold or take records out of the split needs `confirmed`; a file with no gold over a
        split with gold needs `replace`. `preview` is the fingerprint of the plan a person
        confirmed: if the plan changed since, nothing is written. Plan and writes happen under one write lock, and
        every record the import changes gets a new version and a history row, so an editor
        who opened it before gets a conflict rather than a silent revert.
        """
        r = self.records
        author = author or default_author()
        now = _now()
        with self.write() as conn:
            plan = self._plan(conn, chat_file)
            if plan.erases_gold and not replace:
                raise ImportRefusedError(_(
                    "refused: this file has no gold, and importing it over the {split} split would erase the gold "
                    "of {n} records; {remedy}").format(
                        split=chat_file.split, n=len(plan.updates) + len(plan.detached),
                        remedy=remedy(app=_("import it as test, or replace the split on purpose"),
                                      cli=_("import it as test, or pass --replace to make it replace them"))),
                    plan, "erases gold")
            if preview is not None and plan.fingerprint() != preview:
                raise ImportRefusedError(_("not imported: the project changed since the preview you confirmed; "
                                           "check the new preview"), plan, "preview outdated")
            if plan.needs_confirmation and not (confirmed or replace):
                raise ImportRefusedError(
                    _("not imported, it needs a confirmation: {changes}").format(changes=_("; ").join(
                        plan.preview()[1:])), plan, "needs confirmation")
            # Read before the updates below: a replaced chat's text lives on in history.
            old_chats = {u.row.id: self._record_value(conn, u.row.id, "chat_text")
                         for u in plan.updates if u.chat_changed}
            moved = [row.id for row in plan.detached] + [u.row.id for u in plan.updates if u.moved]
            if moved:  # free the positions first: (split, idx) is unique
                conn.execute(update(r).where(r.c.id.in_(moved)).values(idx=None, updated_at=now))
            if plan.updates:
                conn.execute(
                    update(r).where(r.c.id == bindparam("b_id")).values(
                        idx=bindparam("b_idx"), chat_text=bindparam("b_chat"),
                        chat_hash=bindparam("b_hash"), gold_imported=bindparam("b_imported"),
                        gold=bindparam("b_gold"), version=r.c.version + bindparam("b_bump"),
                        updated_at=bindparam("b_now"),
                    ),
                    [{"b_id": u.row.id, "b_idx": u.record.index, "b_chat": u.record.chat_text,
                      "b_hash": u.new_hash, "b_imported": u.gold_imported, "b_gold": u.gold,
                      "b_bump": int(u.content_changed), "b_now": now} for u in plan.updates],
                )
            history = [self._history_row(
                u.row.id, "import", author, now,
                {"chat_hash": u.row.chat_hash, "gold": json.loads(u.row.gold),
                 **({"chat_text": old_chats[u.row.id]} if u.chat_changed else {})},
                {"chat_hash": u.new_hash, "gold": json.loads(u.gold), "matched_by": u.matched_by},
            ) for u in plan.updates if u.content_changed or u.gold_imported_changed]
            for start in range(0, len(plan.inserts), INSERT_BATCH):  # batches: memory stays flat
                conn.execute(insert(r), [{
                    "split": chat_file.split, "idx": rec.index, "chat_text": _unshared(rec.chat_text),
                    "chat_hash": chat_hash(rec.chat_text), "gold_imported": gold, "gold": gold,
                    "status": ReviewStatus.PENDING.value, "version": 1, "created_at": now, "updated_at": now,
                } for rec in plan.inserts[start:start + INSERT_BATCH] for gold in [dumps(rec.infos)]])
            if history:
                conn.execute(insert(self.history), history)
            statuses_set, statuses_kept = apply_reviews(conn, r, self.history, chat_file, author, now)
        return dataclasses.replace(plan.report(), statuses_set=statuses_set, statuses_kept=statuses_kept)

    # --- reading ----------------------------------------------------------------------

    def _joined(self, conn: Connection, split: Split, run: int | None, *, outputs_only: bool = False) -> Any:
        """Records with their summary and their prediction in `run`, else in the split's shown run
        (looked up once, in the caller's transaction: one snapshot)."""
        if run is None:
            run = conn.execute(self._shown_run, {"shown_split": split}).scalar()
        return record_query(self.records, self.summaries, self.predictions, run, outputs_only=outputs_only)

    def get_record(self, split: Split, index: int, run: int | None = None) -> Record:
        """The record at a 1-based position of a split, with its summary and its prediction in
        `run` (default: the split's shown run, `roleext.rows.shown_run`)."""
        r = self.records
        with self.engine.connect() as conn:
            row = conn.execute(self._joined(conn, split, run).where(r.c.split == split, r.c.idx == index)).first()
        if row is None:
            raise NotFoundError(_("{split} has no record {index}").format(split=split, index=index))
        return record_from_row(row)

    def iter_records(self, split: Split, batch: int = 500, run: int | None = None) -> Iterator[Record]:
        """Every positioned record of a split in file order, streamed in batches, each with
        its prediction in `run` (default: the split's shown run).

        All batches are read in one transaction (one snapshot), so an import that moves
        records meanwhile can neither repeat nor skip one in an export."""
        r = self.records
        last = 0
        with self.engine.connect() as conn:
            query = self._joined(conn, split, run)
            while True:
                rows = conn.execute(
                    query
                    .where(r.c.split == split, r.c.idx.is_not(None), r.c.idx > last)
                    .order_by(r.c.idx).limit(batch)
                ).all()
                if not rows:
                    return
                for row in rows:
                    yield record_from_row(row)
                last = rows[-1].idx

    def iter_all_chats(self) -> Iterator[str]:
        """Every chat of the project (both splits): what staff and boilerplate are learnt from.

        Streamed (`yield_per`: a server-side cursor on PostgreSQL, whose driver otherwise reads
        the whole result first: 200 MB for a job's profile at 20,000 chats)."""
        with self.engine.connect() as conn:
            yield from conn.execution_options(yield_per=STREAM_BATCH).execute(
                select(self.records.c.chat_text).where(self.records.c.idx.is_not(None))).scalars()

    def list_records(self, split: Split | None = None) -> list[RecordInfo]:
        """A line per positioned record (no chat text), in split and file order."""
        r, s, p = self.records, self.summaries, self.predictions
        run = self._shown_run_of_record
        query = (
            select(r.c.id, r.c.split, r.c.idx, r.c.status, func.length(r.c.chat_text).label("chars"),
                   r.c.gold, s.c.record_id.label("s_id"), p.c.record_id.label("p_id"),
                   s.c.chat_hash.label("s_chat"), p.c.chat_hash.label("p_chat"), r.c.chat_hash)
            .select_from(r.outerjoin(s, s.c.record_id == r.c.id)
                         .outerjoin(p, and_(p.c.record_id == r.c.id, p.c.run_id == run)))
            .where(r.c.idx.is_not(None))
            .order_by(r.c.split.desc(), r.c.idx)
        )
        if split is not None:
            query = query.where(r.c.split == split)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        infos = [json.loads(row.gold) for row in rows]
        return [
            RecordInfo(row.id, row.split, row.idx, ReviewStatus(row.status), row.chars,
                       len(gold), row.s_id is not None, row.p_id is not None,
                       stale(row.s_chat, row.chat_hash), stale(row.p_chat, row.chat_hash),
                       tuple(str(customer.get(NAME_FIELD, "")) for customer in gold))
            for row, gold in zip(rows, infos, strict=True)
        ]

    def search_records(self, text: str, split: Split | None = None) -> set[int]:
        """Ids of records whose chat, gold or summary contains `text` (case as typed), found on
        the search index (`roleext.search`)."""
        with self.engine.connect() as conn:
            return search_ids(conn, text, split)

    def index_for_search(self, stop: Callable[[], bool] = lambda: False) -> Iterator[int]:
        """Index the records imports left out of the search index (`roleext.search.catch_up`)."""
        return catch_up(self.write, stop=stop)

    def waiting_for_index(self) -> int:
        """Records not in the search index yet (search scans them meanwhile)."""
        with self.engine.connect() as conn:
            return waiting(conn)

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
        return [history_entry(row) for row in rows]

    # --- edits ------------------------------------------------------------------------

    def _history_row(self, record_id: int, target: str, author: str, at: datetime,
                     before: Any, after: Any, run: int | None = None) -> dict[str, Any]:
        return {"record_id": record_id, "target": target, "author": author, "at": at,
                "before": None if before is None else dumps(before),
                "after": None if after is None else dumps(after), "run_id": run}

    def _row_of(self, table: Table, record_id: int | Sequence[int], run: int | None) -> ColumnElement[bool]:
        """Where-clause of a record's row in `table` (of several records' rows, given their ids):
        a prediction is the one of its run."""
        key = table.c.id if table is self.records else table.c.record_id
        match = key == record_id if isinstance(record_id, int) else key.in_(record_id)
        return and_(match, table.c.run_id == run) if table is self.predictions else match

    def _guarded_update(self, conn: Connection, table: Table, row_of: ColumnElement[bool], record_id: int,
                        expected_version: int, what: str, values: dict[str, Any]) -> int:
        """Write `values` only if the row is still at `expected_version`; the new version."""
        result = conn.execute(
            update(table)
            .where(row_of, table.c.version == expected_version)
            .values(**values, version=table.c.version + 1, updated_at=_now())
        )
        if result.rowcount == 1:
            return expected_version + 1
        current = conn.execute(select(table.c.version).where(row_of)).scalar()
        if current is None:
            raise NotFoundError(_("the {what} of record id {id} does not exist").format(what=what, id=record_id))
        raise ConflictError(_(
            "the {what} was changed elsewhere (another tab or process) since you opened it (your version "
            "{yours}, now {now}); the page now shows that change: apply yours again").format(
                what=what, yours=expected_version, now=current))

    def _record_value(self, conn: Connection, record_id: int, column: str) -> Any:
        value = conn.execute(select(self.records.c[column]).where(self.records.c.id == record_id)).scalar()
        if value is None:
            raise NotFoundError(_("no record with id {id}").format(id=record_id))
        return value

    def save_outputs(self, kind: OutputKind, outputs: Sequence[JobOutput], *, run: int | None = None,
                     overwrite_edits: bool = False,
                     then: Callable[[Connection, list[JobOutput]], None] | None = None) -> list[bool]:
        """Insert or overwrite job outputs (predictions: their rows in `run`), all in one
        transaction; per output, False (nothing written) where a person's edit is there and
        `overwrite_edits` is off, or the edit is newer than the output's `base_version` (the
        version the job planned on: an edit saved while it ran was never confirmed away). An
        edit that is replaced goes to history.

        One transaction for the whole group, its new rows in one insert: a job of the offline
        backend finishes hundreds of records a second, and a transaction each held its writer
        at about a millisecond a record (benchmarks/offline_jobs.py).

        `then` runs in the same transaction with the outputs written (a job marks their tasks
        done there): a kill can never leave a saved output with an unmarked task."""
        table = self.summaries if kind == "summary" else self.predictions
        column, target, decode = _EDITABLE[table.name]
        if len({output.record_id for output in outputs}) != len(outputs):
            raise ValueError("save_outputs takes one output a record")
        if table is self.predictions and run is None:
            raise ValueError("a prediction belongs to a run (roleext.runs)")
        now = _now()
        keys = {"run_id": run} if table is self.predictions else {}
        ids = [output.record_id for output in outputs]
        saved: list[bool] = []
        with self.write() as conn:
            olds = {row.record_id: row for row in conn.execute(
                select(table.c.record_id, table.c[column].label("edit"), table.c.version)
                .where(self._row_of(table, ids, run)))}
            inserts: list[dict[str, Any]] = []
            replaced: list[dict[str, Any]] = []
            for output in outputs:
                values = output.values
                if values["chat_hash"] is None:
                    values = {**values, "chat_hash": self._record_value(conn, output.record_id, "chat_hash")}
                old = olds.get(output.record_id)
                if old is None:
                    inserts.append({"record_id": output.record_id, **keys, "version": 1, "created_at": now,
                                    "updated_at": now, **values})
                    saved.append(True)
                    continue
                edited = old.edit is not None
                if edited and (not overwrite_edits or (output.base_version is not None
                                                       and old.version != output.base_version)):
                    saved.append(False)
                    continue
                conn.execute(update(table).where(self._row_of(table, output.record_id, run))
                             .values(version=table.c.version + 1, updated_at=now, **values))
                if edited:  # an edit replaced by a job's output stays traceable
                    replaced.append(self._history_row(output.record_id, target, "generated", now,
                                                      decode(old.edit), output.after, run))
                saved.append(True)
            if inserts:
                conn.execute(insert(table), inserts)
            if replaced:
                conn.execute(insert(self.history), replaced)
            if then is not None:
                then(conn, [output for output, ok in zip(outputs, saved, strict=True) if ok])
        return saved

    def save_summary(self, record_id: int, text: str, backend: str, model: str, prompt_hash: str,
                     chat_hash: str | None = None, *, overwrite_edits: bool = False,
                     base_version: int | None = None) -> bool:
        """Store a generated summary of the chat with `chat_hash` (default: the record's now);
        False if a person's edit was kept (`save_outputs`)."""
        output = summary_output(record_id, text, backend, model, prompt_hash, chat_hash, base_version)
        return self.save_outputs("summary", [output], overwrite_edits=overwrite_edits)[0]

    def save_prediction(self, record_id: int, raw_output: str, parsed: list[Customer],
                        backend: str, model: str, error: str | None = None,
                        changes: list[str] | None = None, chat_hash: str | None = None, *, run: int,
                        overwrite_edits: bool = False, base_version: int | None = None) -> bool:
        """Store a model's answer for a record in `run` (`roleext.runs.create_run`); other runs'
        predictions are never touched. False if a person's correction in this run was kept.
        `error` marks an unusable answer, kept to be looked at: it never counts as done."""
        output = prediction_output(record_id, raw_output, parsed, backend, model, error, changes, chat_hash,
                                   base_version)
        return self.save_outputs("prediction", [output], run=run, overwrite_edits=overwrite_edits)[0]

    def records_after(self, split: Split, after: int, limit: int, run: int | None = None) -> list[Record]:
        """Up to `limit` positioned records of a split after position `after`, in file order, with
        their prediction in `run`: one short read, so a job over 100,000 records holds a batch at
        a time and keeps no read transaction open while it writes (`iter_records` holds one)."""
        return [record_from_row(row) for row in self._rows_after(split, after, limit, run, outputs_only=False)]

    def outputs_after(self, split: Split, after: int, limit: int, run: int | None = None) -> list[RecordOutputs]:
        """As `records_after`, the records' outputs alone: a job plans on them, and reading every
        chat of the split for that was a tenth of an offline job's time, before its pool starts."""
        return [outputs_from_row(row) for row in self._rows_after(split, after, limit, run, outputs_only=True)]

    def _rows_after(self, split: Split, after: int, limit: int, run: int | None, *,
                    outputs_only: bool) -> list[Row[Any]]:
        r = self.records
        with self.engine.connect() as conn:
            return list(conn.execute(self._joined(conn, split, run, outputs_only=outputs_only)
                                     .where(r.c.split == split, r.c.idx.is_not(None), r.c.idx > after)
                                     .order_by(r.c.idx).limit(limit)).all())

    def _edit(self, table: Table, record_id: int, expected_version: int, target: str, what: str,
              values: Callable[[Row[Any]], dict[str, Any]], before: Callable[[Row[Any]], Any], after: Any,
              author: str | None, run: int | None = None) -> int:
        """Write a person's edit under the version guard, with its history row; the new version.

        The row is read under the write lock, so `before` is what the edit really replaced. An
        edit that changes nothing writes nothing: a widget re-sending the value it shows must not
        fill the history (and the Undo list) with empty edits."""
        row_of = self._row_of(table, record_id, run)
        with self.write() as conn:
            old = conn.execute(select(table).where(row_of)).first()
            if old is None:
                raise NotFoundError(_("no record with id {id}").format(id=record_id) if table is self.records
                                    else _("record id {id} has no {what} to edit yet").format(id=record_id,
                                                                                           what=what))
            if before(old) == after and old.version == expected_version:
                return expected_version
            version = self._guarded_update(conn, table, row_of, record_id, expected_version, what, values(old))
            conn.execute(insert(self.history), self._history_row(
                record_id, target, author or default_author(), _now(), before(old), after, run))
        return version

    def update_gold(self, record_id: int, infos: list[Customer], expected_version: int,
                    author: str | None = None) -> int:
        """Replace a record's gold customers; returns the record's new version."""
        return self._edit(self.records, record_id, expected_version, "gold", _("gold"),
                          lambda _: {"gold": dumps(infos)}, lambda old: json.loads(old.gold), infos, author)

    def set_status(self, record_id: int, status: ReviewStatus, expected_version: int,
                   author: str | None = None) -> int:
        """Set a record's review status; returns the record's new version."""
        value = ReviewStatus(status).value
        return self._edit(self.records, record_id, expected_version, "status", _("review status"),
                          lambda _: {"status": value}, lambda old: old.status, value, author)

    def edit_summary(self, record_id: int, text: str, expected_version: int,
                     author: str | None = None) -> int:
        """Save a reviewer's edit of a summary; returns the summary's new version.

        Text equal to the generated summary is no edit (an undo back to it, say): the summary
        then counts as generated again, and the next job may redo it."""
        return self._edit(self.summaries, record_id, expected_version, "summary", _("summary"),
                          lambda old: {"edited_text": None if text == old.text else text},
                          lambda old: old.edited_text if old.edited_text is not None else old.text,
                          text, author)

    def correct_prediction(self, record_id: int, infos: list[Customer], expected_version: int,
                           author: str | None = None, *, run: int) -> int:
        """Save a reviewer's correction of the record's prediction in `run`; returns that
        prediction's new version. The correction belongs to that run alone.

        Customers equal to the parsed answer are no correction (as for summaries)."""
        return self._edit(self.predictions, record_id, expected_version, "prediction",
                          _("prediction of run {run}").format(run=run),
                          lambda old: {"corrected": None if infos == json.loads(old.parsed) else dumps(infos)},
                          lambda old: json.loads(old.corrected if old.corrected is not None else old.parsed),
                          infos, author, run)

    # --- settings ---------------------------------------------------------------------

    def get_setting(self, key: str, default: Any = None) -> Any:
        """A project setting's value (JSON), or `default` when it was never set."""
        s = self.settings
        with self.engine.connect() as conn:
            value = conn.execute(select(s.c.value).where(s.c.key == key)).scalar()
        return default if value is None else json.loads(value)

    def set_setting(self, key: str, value: Any) -> None:
        """Store a project setting (JSON), replacing its previous value."""
        s = self.settings
        with self.write() as conn:
            found = conn.execute(update(s).where(s.c.key == key).values(value=dumps(value), updated_at=_now()))
            if not found.rowcount:
                conn.execute(insert(s).values(key=key, value=dumps(value), updated_at=_now()))

    def disabled_rules(self) -> frozenset[str]:
        """The offline rules (`roleext.rules`) this project switched off."""
        return frozenset(self.get_setting(DISABLED_RULES_SETTING, []))

    def set_rule_enabled(self, name: str, enabled: bool) -> frozenset[str]:
        """Switch one offline rule on or off for this project; returns the rules now off.

        Read and write happen under one write lock, so two tabs switching different rules
        both count."""
        s = self.settings
        with self.write() as conn:
            stored = conn.execute(select(s.c.value).where(s.c.key == DISABLED_RULES_SETTING)).scalar()
            off = set(json.loads(stored)) if stored is not None else set()
            off = off - {name} if enabled else off | {name}
            values = {"value": dumps(sorted(off)), "updated_at": _now()}
            if stored is None:
                conn.execute(insert(s).values(key=DISABLED_RULES_SETTING, **values))
            else:
                conn.execute(update(s).where(s.c.key == DISABLED_RULES_SETTING).values(**values))
        return frozenset(off)
