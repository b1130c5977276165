"""The review statuses a dataset file carries, applied by an import (inside its transaction).

A status from the file fills in a review nobody made here yet: it is applied to records that
are pending (new ones included) and never replaces a status a person set in this project.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, Table, bindparam, insert, select, update

from roleext.io import ChatFile
from roleext.matching import dumps


def apply_reviews(conn: Connection, records: Table, history: Table, chat_file: ChatFile, author: str,
                  now: datetime) -> tuple[int, int]:
    """Give each pending record of the split the status its file record carries.

    Returns (statuses set, statuses kept because the project's own review differs). Each
    status set moves the record's version on and is in history under the file's reviewer."""
    notes = {rec.index: rec.review for rec in chat_file.records if rec.review is not None}
    if not notes:
        return 0, 0
    r = records
    rows = conn.execute(select(r.c.id, r.c.idx, r.c.status)
                        .where(r.c.split == chat_file.split, r.c.idx.is_not(None))).all()
    changes = []
    kept = 0
    for row in rows:
        note = notes.get(row.idx)
        if note is None or note.status == row.status:
            continue
        if row.status != "pending":
            kept += 1
            continue
        changes.append((row.id, note.status, note.reviewer or author))
    if changes:
        conn.execute(update(r).where(r.c.id == bindparam("b_id"))
                     .values(status=bindparam("b_status"), version=r.c.version + 1, updated_at=now),
                     [{"b_id": rid, "b_status": status} for rid, status, _ in changes])
        conn.execute(insert(history), [
            {"record_id": rid, "target": "status", "author": who, "at": now,
             "before": dumps("pending"), "after": dumps(status)} for rid, status, who in changes])
    return len(changes), kept
