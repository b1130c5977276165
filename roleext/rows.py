"""How the store's rows become the project's objects: one query for a record with its outputs.

Kept apart from `store` (which decides what is written and when) so that the joins and
the JSON decoding of a record are read in one place.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, Table, and_, exists, false, literal, select

from roleext.project import HistoryEntry, Prediction, Record, RecordOutputs, ReviewStatus, Summary


def shown_run(runs: Table, p: Table, split: ColumnElement[Any] | str) -> ColumnElement[Any]:
    """The id of the run a split's records show and export by default (NULL where none).

    The run a person chose for the submission, else the newest run holding a usable
    prediction: a run that is starting, or whose every answer failed, never hides the
    predictions of the one before it."""
    run, prediction = runs.alias("shown_run"), p.alias("shown_prediction")  # never the outer query's
    usable = exists().where(prediction.c.run_id == run.c.id, prediction.c.error.is_(None)).correlate_except(prediction)
    return (select(run.c.id).where(run.c.split == split, run.c.chosen | usable).correlate_except(run)
            .order_by(run.c.chosen.desc(), run.c.id.desc()).limit(1).scalar_subquery())


def record_query(r: Table, s: Table, p: Table, run: int | None, *, outputs_only: bool = False) -> Select[Any]:
    """Records joined with their summary and their prediction in `run` (None: no prediction),
    columns prefixed s_ and p_; `outputs_only`: of the record, only what `outputs_from_row` reads
    (no chat, no gold: what a job plans on)."""
    in_run = p.c.run_id == literal(run) if run is not None else false()
    return (
        select(
            *((r.c.id, r.c.idx, r.c.chat_hash) if outputs_only else (r,)),
            s.c.text.label("s_text"), s.c.edited_text.label("s_edited"),
            s.c.backend.label("s_backend"), s.c.model.label("s_model"),
            s.c.prompt_hash.label("s_prompt"), s.c.version.label("s_version"),
            s.c.chat_hash.label("s_chat"), p.c.chat_hash.label("p_chat"),
            p.c.raw_output.label("p_raw"), p.c.parsed.label("p_parsed"),
            p.c.corrected.label("p_corrected"), p.c.backend.label("p_backend"),
            p.c.model.label("p_model"), p.c.error.label("p_error"),
            p.c.version.label("p_version"), p.c.changes.label("p_changes"), p.c.run_id.label("p_run"),
        )
        .select_from(r.outerjoin(s, s.c.record_id == r.c.id)
                     .outerjoin(p, and_(p.c.record_id == r.c.id, in_run)))
    )


def stale(made_from: str | None, chat: str) -> bool:
    """Output made from another chat than the record's current one (NULL: made before m004)."""
    return made_from is not None and made_from != chat


def outputs_from_row(row: Row[Any]) -> RecordOutputs:
    """A row of `record_query` as a record's outputs, marked stale where the chat changed."""
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
            stale(row.p_chat, row.chat_hash), row.p_run,
        )
    return RecordOutputs(row.id, row.idx, summary, prediction)


def record_from_row(row: Row[Any]) -> Record:
    """A row of `record_query` as a Record, its outputs marked stale where the chat changed."""
    outputs = outputs_from_row(row)
    return Record(
        id=row.id, split=row.split, index=row.idx, chat_text=row.chat_text,
        gold=json.loads(row.gold), gold_imported=json.loads(row.gold_imported),
        status=ReviewStatus(row.status), version=row.version, chat_hash=row.chat_hash,
        summary=outputs.summary, prediction=outputs.prediction,
    )


def history_entry(row: Row[Any]) -> HistoryEntry:
    """A history row with its before and after decoded."""
    return HistoryEntry(row.id, row.record_id, row.target, row.author, row.at,
                        json.loads(row.before) if row.before is not None else None,
                        json.loads(row.after) if row.after is not None else None, row.run_id,
                        row.annotator)
