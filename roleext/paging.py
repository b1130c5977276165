"""Tables a page shows a page of rows at a time, and the project version figures are cached by.

At 100,000 records a table over the split, or a score recomputed on every widget change,
costs seconds a rerun. Pages show `PAGE_ROWS` rows read by position (the split's `idx`,
indexed) and cache figures under `project_version`, which changes whenever anything a
figure reads does, and costs a few index look-ups to compute.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import select, text

from roleext.io import SPLITS, Split
from roleext.project import Record
from roleext.rows import record_from_row, record_query, shown_run
from roleext.store import ProjectStore

PAGE_ROWS = 50
"""Rows a table shows at once."""
T = TypeVar("T")

# Every figure reads records, their gold, summaries, predictions or runs. What changes them:
# an import (a new id, a position given or taken, history for every update), a person's edit
# (history), a job (its row's updated_at moves with its progress), a run made or chosen, a
# setting. Each is read from a primary key or an index: no scan of 700 MB of chats.
_VERSION_SQL = (
    "SELECT (SELECT max(id) FROM records), (SELECT count(*) FROM records WHERE idx IS NOT NULL), "
    "(SELECT max(id) FROM history), (SELECT max(updated_at) FROM jobs), (SELECT count(*) FROM jobs), "
    "(SELECT max(id) FROM runs), (SELECT sum(CASE WHEN chosen THEN id ELSE 0 END) FROM runs), "
    "(SELECT max(updated_at) FROM settings)"
)


def project_version(store: ProjectStore) -> str:
    """A value that changes whenever anything a page's figures read changes."""
    with store.engine.connect() as conn:
        row = conn.execute(text(_VERSION_SQL)).one()
    return "|".join(str(value) for value in row)


@dataclass(frozen=True)
class Page:
    """Rows `start` to `end` (1-based, inclusive) of `total`, the `number`th of `count` pages."""

    number: int
    count: int
    start: int
    end: int
    total: int


def page_of(total: int, number: int, size: int = PAGE_ROWS) -> Page:
    """The `number`th page (1-based, clamped to the pages there are) of `total` rows."""
    count = max(1, -(-total // size))
    number = min(max(1, number), count)
    start = (number - 1) * size + 1
    return Page(number, count, min(start, total), min(start + size - 1, total), total)


def rows_of(items: list[T], page: Page) -> list[T]:
    """The page's slice of a list already in memory (a cached figure's rows)."""
    return items[page.start - 1:page.end]


def records_on_page(store: ProjectStore, split: Split, page: Page, run: int | None = None) -> list[Record]:
    """The split's records start..end in file order with their summary and their prediction in
    `run` (default: the split's shown run): one indexed range read, whatever the split's size."""
    r = store.records
    with store.engine.connect() as conn:
        if run is None:
            run = conn.execute(select(shown_run(store.runs, store.predictions, split))).scalar()
        rows = conn.execute(record_query(store.records, store.summaries, store.predictions, run)
                            .where(r.c.split == split, r.c.idx.is_not(None))
                            .order_by(r.c.idx).offset(page.start - 1).limit(page.end - page.start + 1)).all()
    return [record_from_row(row) for row in rows]


def split_sizes(store: ProjectStore) -> dict[Split, int]:
    """Positioned records per split, counted on the (split, idx) index."""
    with store.engine.connect() as conn:
        rows = conn.execute(text("SELECT split, count(*) FROM records WHERE idx IS NOT NULL GROUP BY split")).all()
    return {split: int(n) for split in SPLITS for name, n in rows if name == split}

