"""How the store's rows become the project's objects: one query for a record with its outputs.

Kept apart from `store` (which decides what is written and when) so that the joins and
the JSON decoding of a record are read in one place.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Row, Select, Table, select

from roleext.project import HistoryEntry, Prediction, Record, ReviewStatus, Summary


def record_query(r: Table, s: Table, p: Table) -> Select[Any]:
    """Records joined with their summary and prediction, columns prefixed s_ and p_."""
    return (
        select(
            r,
            s.c.text.label("s_text"), s.c.edited_text.label("s_edited"),
            s.c.backend.label("s_backend"), s.c.model.label("s_model"),
            s.c.prompt_hash.label("s_prompt"), s.c.version.label("s_version"),
            s.c.chat_hash.label("s_chat"), p.c.chat_hash.label("p_chat"),
            p.c.raw_output.label("p_raw"), p.c.parsed.label("p_parsed"),
            p.c.corrected.label("p_corrected"), p.c.backend.label("p_backend"),
            p.c.model.label("p_model"), p.c.error.label("p_error"),
            p.c.version.label("p_version"), p.c.changes.label("p_changes"),
        )
        .select_from(r.outerjoin(s, s.c.record_id == r.c.id).outerjoin(p, p.c.record_id == r.c.id))
    )


def stale(made_from: str | None, chat: str) -> bool:
    """Output made from another chat than the record's current one (NULL: made before m004)."""
    return made_from is not None and made_from != chat


def record_from_row(row: Row[Any]) -> Record:
    """A row of `record_query` as a Record, its outputs marked stale where the chat changed."""
    summary = None
    if row.s_version is not None:
        summary = Summary(row.s_text, row.s_edited, row.s_backend, row.s_model,
                          row.s_prompt, row.s_version, stale(row.s_chat, row.chat_hash))
    prediction = None
    if row.p_version is not None:
        prediction = Prediction(
            row.p_raw, json.loads(row.p_parsed),
            json.loads(row.p_corrected) if row.p_corrected is not None else None,
            row.p_backend, row.p_model, row.p_error, row.p_version,
            tuple(json.loads(row.p_changes)) if row.p_changes else (),
            stale(row.p_chat, row.chat_hash),
        )
    return Record(
        id=row.id, split=row.split, index=row.idx, chat_text=row.chat_text,
        gold=json.loads(row.gold), gold_imported=json.loads(row.gold_imported),
        status=ReviewStatus(row.status), version=row.version,
        summary=summary, prediction=prediction,
    )


def history_entry(row: Row[Any]) -> HistoryEntry:
    """A history row with its before and after decoded."""
    return HistoryEntry(row.id, row.record_id, row.target, row.author, row.at,
                        json.loads(row.before) if row.before is not None else None,
                        json.loads(row.after) if row.after is not None else None)
