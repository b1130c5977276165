"""The Review page's record list, asked of the database one page or one record at a time.

A rerun of Review must cost the same with 29 records or 100,000, so nothing here lists a
split: filters are SQL conditions, navigation is keyset pagination on (split, idx) (the
unique index of m001, and `ix_records_split_status_idx` of m011 for status filters and
"next unreviewed"), counts are a GROUP BY. The warnings filter needs each record's chat,
summary and gold in Python (`roleext.review.record_warnings`), so it is applied while
walking batches in file order and stops as soon as it has what was asked.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import ColumnElement, Row, Select, and_, bindparam, func, select

from roleext.io import Split
from roleext.project import Record, RecordInfo, ReviewStatus
from roleext.review import record_warnings
from roleext.rows import shown_run, stale
from roleext.schema import NAME_FIELD
from roleext.store import ProjectStore

MAX_SQL_SEARCH_CHARS = 1_000
"""SQL's LIKE refuses long patterns (SQLite: 50,000 bytes) and ends one at a NUL, so a longer
search, or one holding a NUL, is narrowed in SQL by a plain part of it and confirmed here."""
PAGE_SIZE = 50
"""Records the picker offers at once: enough to glance through, few enough to draw at once."""
SCAN_BATCH = 50
"""Records read at a time while walking the list for the warnings filter."""

Direction = Literal["after", "before"]


@dataclass(frozen=True)
class RecordFilter:
    """What the record list shows; empty values mean no filter."""

    split: Split
    statuses: tuple[ReviewStatus, ...] = ()
    text: str = ""
    warnings_only: bool = False


def holds_text(record: Record, text: str) -> bool:
    """Whether the record's chat, gold or summary contains `text`, as `search_records` looks."""
    summary = [record.summary.text, record.summary.edited_text or ""] if record.summary else []
    return any(text in part for part in [record.chat_text, json.dumps(record.gold, ensure_ascii=False), *summary])


class RecordList:
    """The records of one split that a filter keeps, in file order, read a page at a time.

    Built once per page run: the text search (`ProjectStore.search_records`) runs here once,
    every other question is one indexed query."""

    def __init__(self, store: ProjectStore, wanted: RecordFilter) -> None:
        self.store = store
        self.wanted = wanted
        self.split = split = wanted.split
        r = store.records
        self._conditions: list[ColumnElement[bool]] = [r.c.split == split, r.c.idx.is_not(None)]
        if wanted.statuses:
            self._conditions.append(r.c.status.in_([s.value for s in wanted.statuses]))
        text = wanted.text.strip()
        if text:
            self._conditions.append(r.c.id.in_(bindparam("search_ids", self._searched(text), expanding=True,
                                                         literal_execute=True)))

    def _searched(self, text: str) -> list[int]:
        """Ids of the split's records holding `text`; an empty list matches nothing."""
        narrowed = max(text.split("\x00"), key=len)[:MAX_SQL_SEARCH_CHARS]
        ids = sorted(self.store.search_records(narrowed, self.split))
        if narrowed == text or not ids:
            return ids
        r = self.store.records
        with self.store.engine.connect() as conn:
            rows = conn.execute(select(r.c.idx).where(r.c.id.in_(ids), r.c.idx.is_not(None))).scalars().all()
        return [record.id for record in (self.store.get_record(self.split, idx) for idx in rows)
                if holds_text(record, text)]

    # --- queries ----------------------------------------------------------------------

    @functools.cached_property
    def _base(self) -> Select[Any]:
        """The list's query without position or limit, built once a page run (with the split's
        shown run looked up once): building it was a third of a rerun's server time."""
        r, s, p = self.store.records, self.store.summaries, self.store.predictions
        run = shown_run(self.store.runs, p, self.split)
        return (
            select(r.c.id, r.c.split, r.c.idx, r.c.status, func.length(r.c.chat_text).label("chars"),
                   r.c.gold, s.c.record_id.label("s_id"), p.c.record_id.label("p_id"),
                   s.c.chat_hash.label("s_chat"), p.c.chat_hash.label("p_chat"), r.c.chat_hash)
            .select_from(r.outerjoin(s, s.c.record_id == r.c.id)
                         .outerjoin(p, and_(p.c.record_id == r.c.id, p.c.run_id == run)))
            .where(*self._conditions)
        )

    def _query(self, *extra: ColumnElement[bool]) -> Select[Any]:
        """A line per record (no chat text read), as `ProjectStore.list_records` gives it."""
        return self._base.where(*extra) if extra else self._base

    def _lines(self, direction: Direction, index: int | None, limit: int, *extra: ColumnElement[bool],
               offset: int = 0) -> list[RecordInfo]:
        """Up to `limit` records after (or before) `index`, nearest first; None: from the end."""
        idx = self.store.records.c.idx
        where = list(extra)
        if index is not None:
            where.append(idx > index if direction == "after" else idx < index)
        query = (self._query(*where).order_by(idx if direction == "after" else idx.desc())
                 .limit(limit).offset(offset))
        with self.store.engine.connect() as conn:
            return [_info(row) for row in conn.execute(query).all()]

    def _walk(self, direction: Direction, index: int | None,
              *extra: ColumnElement[bool]) -> Iterator[RecordInfo]:
        """The records after (or before) `index`, nearest first, through the warnings filter."""
        while True:
            batch = self._lines(direction, index, SCAN_BATCH, *extra)
            for info in batch:
                if self._kept(info):
                    yield info
            if len(batch) < SCAN_BATCH:
                return
            index = batch[-1].index

    def _kept(self, info: RecordInfo) -> bool:
        if not self.wanted.warnings_only:
            return True
        return bool(record_warnings(self.store.get_record(info.split, info.index)))

    def _take(self, direction: Direction, index: int | None, limit: int,
              *extra: ColumnElement[bool]) -> list[RecordInfo]:
        if not self.wanted.warnings_only:
            return self._lines(direction, index, limit, *extra)
        found: list[RecordInfo] = []
        for info in self._walk(direction, index, *extra):
            found.append(info)
            if len(found) == limit:
                break
        return found

    # --- what the page asks -----------------------------------------------------------

    def get(self, index: int) -> RecordInfo | None:
        """The record at `index` if the filter keeps it."""
        found = self._lines("after", None, 1, self.store.records.c.idx == index)
        return found[0] if found and self._kept(found[0]) else None

    def first(self) -> RecordInfo | None:
        """The list's first record, or None when the filter keeps none."""
        found = self._take("after", None, 1)
        return found[0] if found else None

    def opening(self, wanted: int | None = None) -> RecordInfo | None:
        """The record Review shows: `wanted` when listed, else the first pending one, else the first."""
        if wanted is not None:
            found = self.get(wanted)
            if found is not None:
                return found
        pending = self._take("after", None, 1, self._pending())
        return pending[0] if pending else self.first()

    def next_unreviewed(self, current: int) -> RecordInfo | None:
        """The first pending record after `current` (wrapping), or None when none is left.

        A needs-fix record has been reviewed: the reviewer finds it again by its status filter."""
        idx = self.store.records.c.idx
        after = self._take("after", current, 1, self._pending())
        if after:
            return after[0]
        before = self._take("after", None, 1, self._pending(), idx < current)
        return before[0] if before else None

    def page(self, current: int, size: int = PAGE_SIZE) -> list[RecordInfo]:
        """About `size` records around `current`, in file order: what the picker offers."""
        before = self._take("before", current, size // 2)
        after = self._take("after", current - 1, size - len(before))
        return [*reversed(before), *after]

    def step(self, current: int, places: int) -> RecordInfo | None:
        """The record `places` positions after `current` (before when negative), or the last one
        on the way when the list ends first; None when there is nothing that way."""
        direction: Direction = "after" if places > 0 else "before"
        if self.wanted.warnings_only:
            last = None
            for count, info in enumerate(self._walk(direction, current), start=1):
                last = info
                if count == abs(places):
                    break
            return last
        found = self._lines(direction, current, 1, offset=abs(places) - 1)
        if found:
            return found[0]
        ends = self._lines("before" if places > 0 else "after", None, 1)  # the list's last (first) record
        idx = ends[0].index if ends else None
        return ends[0] if idx is not None and (idx > current if places > 0 else idx < current) else None

    def counts(self) -> dict[ReviewStatus, int]:
        """How many records of each status the filter keeps (the warnings filter aside: counting
        it would read every chat)."""
        r = self.store.records
        query = select(r.c.status, func.count()).where(*self._conditions).group_by(r.c.status)
        with self.store.engine.connect() as conn:
            found = {ReviewStatus(status): int(n) for status, n in conn.execute(query).all()}
        return {status: found.get(status, 0) for status in ReviewStatus}

    def _pending(self) -> ColumnElement[bool]:
        return self.store.records.c.status == ReviewStatus.PENDING.value

    def every(self) -> Iterator[RecordInfo]:
        """Every record the filter keeps, in file order (tests and tools; the page never lists)."""
        yield from self._walk("after", None)


def list_version(store: ProjectStore) -> tuple[str, int]:
    """What changes whenever any record's status, split or position may have: the newest record
    write and the newest record (every write of a record sets updated_at). Two index lookups,
    so counts can be kept until it changes."""
    r = store.records
    newest = select(select(func.max(r.c.updated_at)).scalar_subquery(), select(func.max(r.c.id)).scalar_subquery())
    with store.engine.connect() as conn:
        written, last = conn.execute(newest).one()
    return str(written), int(last or 0)


def filter_records(store: ProjectStore, wanted: RecordFilter) -> list[RecordInfo]:
    """Every record a filter keeps, in file order: for tools and tests, never the page."""
    return list(RecordList(store, wanted).every())


def _info(row: Row[Any]) -> RecordInfo:
    gold = json.loads(row.gold)
    return RecordInfo(row.id, row.split, row.idx, ReviewStatus(row.status), row.chars, len(gold),
                      row.s_id is not None, row.p_id is not None, stale(row.s_chat, row.chat_hash),
                      stale(row.p_chat, row.chat_hash),
                      tuple(str(customer.get(NAME_FIELD, "")) for customer in gold))
