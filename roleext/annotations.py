"""Team mode: each annotator's own labels of a record, kept apart from the record's gold.

A record is in team mode once it is assigned to someone (`roleext.assignments`). From then
on an annotator's edit of its gold goes to their annotation (one row per record and
annotator), never to `records.gold`: two people labelling the same chat must not overwrite
each other, and their two labels are what `roleext.agreement` compares. The gold exports
use is decided in `roleext.resolution`.

An annotation's first edit starts from what the annotator was shown: the record's gold
(normally as imported, which may be empty); its history entry says so (`before` is that
gold). Every edit carries the version it was based on, as record edits do: version 0 means
"no annotation yet", and a second tab that saved first makes the save a `ConflictError`.
"""

from __future__ import annotations

import json
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Row, Select, insert, select, update

from roleext.errors import ConflictError, NotFoundError
from roleext.i18n import _
from roleext.matching import dumps
from roleext.schema import Customer
from roleext.store import ProjectStore, default_author

ANNOTATION_TARGET = "annotation"
"""The history target of an edit of an annotator's labels (the entry's `annotator` says whose)."""


@dataclass(frozen=True)
class Annotation:
    """One annotator's customers for one record, and the version an edit of it must name."""

    record_id: int
    annotator: str
    infos: list[Customer]
    version: int
    outdated: bool = False
    """Made for an earlier version of the chat (a re-import changed it since): to look at again."""


def _now() -> datetime:
    return datetime.now(UTC)


def assignees(store: ProjectStore, record_id: int, conn: Connection | None = None) -> list[str]:
    """Who the record is assigned to, first assigned first; empty for a single-user record.
    `conn`: read in the caller's transaction."""
    a = store.assignments
    with nullcontext(conn) if conn is not None else store.engine.connect() as reading:
        return list(reading.execute(select(a.c.annotator).where(a.c.record_id == record_id)
                                    .order_by(a.c.assigned_at, a.c.id)).scalars())


def _labels(store: ProjectStore) -> Select[Any]:
    """Annotation rows, each with the chat its record holds now (to tell outdated labels)."""
    n, r = store.annotations, store.records
    return (select(n.c.record_id, n.c.annotator, n.c.infos, n.c.version, n.c.chat_hash,
                   r.c.chat_hash.label("current")).join(r, r.c.id == n.c.record_id))


def _annotation(row: Row[Any]) -> Annotation:
    # Outdated: made for another chat than the record holds now (None: made before m014, unknown).
    return Annotation(row.record_id, row.annotator, json.loads(row.infos), row.version,
                      row.chat_hash is not None and row.chat_hash != row.current)


def get_annotation(store: ProjectStore, record_id: int, annotator: str) -> Annotation | None:
    """The annotator's labels of a record, or None before their first edit."""
    n = store.annotations
    with store.engine.connect() as conn:
        row = conn.execute(_labels(store).where(n.c.record_id == record_id, n.c.annotator == annotator)).first()
    return None if row is None else _annotation(row)


def annotations_of(store: ProjectStore, record_id: int, conn: Connection | None = None) -> list[Annotation]:
    """Every annotation of a record, its first annotator's first (see `ordered_annotators`).
    `conn`: read in the caller's transaction."""
    with nullcontext(conn) if conn is not None else store.engine.connect() as reading:
        rows = reading.execute(_labels(store).where(store.annotations.c.record_id == record_id)).all()
        assigned = assignees(store, record_id, reading)
    found = {row.annotator: _annotation(row) for row in rows}
    return [found[name] for name in ordered_annotators(assigned, found)]


def ordered_annotators(assigned: list[str], annotated: Any) -> list[str]:
    """The annotators who labelled a record, in assignment order; those never assigned last, by name."""
    names = [name for name in assigned if name in annotated]
    return names + sorted(name for name in annotated if name not in assigned)


def save_annotation(store: ProjectStore, record_id: int, annotator: str, infos: list[Customer],
                    expected_version: int, author: str | None = None) -> int:
    """Write the annotator's customers for a record under the version guard; the new version.

    `expected_version` 0 creates the annotation (its history `before` is the record's gold, what
    the annotator started from). An edit that changes nothing writes nothing."""
    with store.write() as conn:
        return write_annotation(store, conn, record_id, annotator, infos, expected_version,
                                author or default_author(), _now())


def write_annotation(store: ProjectStore, conn: Connection, record_id: int, annotator: str,
                     infos: list[Customer], expected_version: int, author: str, at: datetime,
                     imported: bool = False) -> int:
    """`save_annotation` inside the caller's write transaction (an import writes many at once);
    `imported`: the labels come from a file (`import --as`), kept as the baseline of its next import."""
    n, r = store.annotations, store.records
    row_of = (n.c.record_id == record_id) & (n.c.annotator == annotator)
    old = conn.execute(select(n.c.infos, n.c.version, n.c.chat_hash).where(row_of)).first()
    made_for = conn.execute(select(r.c.chat_hash).where(r.c.id == record_id)).scalar()  # the chat labelled
    current = 0 if old is None else old.version
    if current != expected_version:
        raise ConflictError(_(
            "{annotator}'s labels of this record were changed elsewhere (another tab or process) since you "
            "opened them (your version {yours}, now {now}); the page now shows that change: apply yours again"
        ).format(annotator=annotator, yours=expected_version, now=current))
    if old is None:
        gold = conn.execute(select(r.c.gold).where(r.c.id == record_id)).scalar()
        if gold is None:
            raise NotFoundError(_("no record with id {id}").format(id=record_id))
        before = json.loads(gold)
        conn.execute(insert(n).values(record_id=record_id, annotator=annotator, infos=dumps(infos), version=1,
                                      created_at=at, updated_at=at, imported=dumps(infos) if imported else None,
                                      chat_hash=made_for))
    else:
        before = json.loads(old.infos)
        if before == infos:
            if old.chat_hash != made_for:  # looked at again on the chat as it is now: current again
                conn.execute(update(n).where(row_of).values(chat_hash=made_for, updated_at=at))
            return current
        baseline = {"imported": dumps(infos)} if imported else {}
        conn.execute(update(n).where(row_of).values(infos=dumps(infos), version=n.c.version + 1, updated_at=at,
                                                    chat_hash=made_for, **baseline))
    conn.execute(insert(store.history).values(
        record_id=record_id, target=ANNOTATION_TARGET, author=author, at=at, before=dumps(before),
        after=dumps(infos), run_id=None, annotator=annotator))
    return current + 1
