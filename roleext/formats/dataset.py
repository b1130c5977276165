"""The curated split as a file in the competition's own format, every correction applied.

`chat_text` and `infos` per record, as train.json and test_data.json have them, so any tool
that reads the competition's files reads this one. Optionally each record carries a
`roleext` key with its review (status, reviewer, last edit) that roleext reads back on import.
The file is written record by record: memory does not grow with the split.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import BinaryIO, Literal

from sqlalchemy import select

from roleext.errors import ExportError
from roleext.exports import ExportReport, with_export_gold
from roleext.formats.review_key import REVIEW_KEY, ReviewNote, as_status
from roleext.i18n import N_, _, translate
from roleext.io import Split
from roleext.project import Record, ReviewStatus
from roleext.review import reviewer_of
from roleext.schema import FIELD_NAMES, FIELDS
from roleext.store import ProjectStore

Scope = Literal["not-rejected", "accepted", "all"]
"""Which records an export of the curated data takes: all but the rejected (the default),
only the accepted, or every record (rejected included, for a file that keeps the reviews)."""
SCOPES: tuple[Scope, ...] = ("not-rejected", "accepted", "all")

NOT_ACCEPTED = {ReviewStatus.PENDING: N_("not accepted: pending"),
                ReviewStatus.NEEDS_FIX: N_("not accepted: needs-fix"),
                ReviewStatus.REJECTED: N_("not accepted: rejected")}
"""Why `--records accepted` left a record out, by its status (report keys, shown translated)."""
DATASET_KINDS = {"train": N_("train dataset"), "test": N_("test dataset")}

PERSON_EDITS = ("gold", "status")
"""The history targets that are a person's edit of what a dataset record holds."""

_FIELD_SET = frozenset(FIELD_NAMES)
_BATCH = 500


def in_scope(records: Iterable[Record], scope: Scope, report: ExportReport) -> Iterator[Record]:
    """The records a scope takes, each one left out counted in the report with its reason."""
    for record in records:
        if scope == "accepted" and record.status != ReviewStatus.ACCEPTED:
            report.left_out[NOT_ACCEPTED[record.status]] += 1
        elif scope == "not-rejected" and record.status == ReviewStatus.REJECTED:
            report.left_out[N_("rejected in review")] += 1
        else:
            yield record


def left_out_reasons(report: ExportReport) -> str:
    """What an export left out, in one phrase: why nothing could be exported."""
    return ", ".join(f"{n} {translate(why)}" for why, n in sorted(report.left_out.items()))


def batched(records: Iterable[Record], size: int = _BATCH) -> Iterator[list[Record]]:
    """Records in lists of `size`: one history query per list, not per record."""
    batch: list[Record] = []
    for record in records:
        batch.append(record)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def review_notes(store: ProjectStore, records: list[Record]) -> dict[int, ReviewNote]:
    """Each record's review as a dataset file carries it: status, who set it, the last edit."""
    h = store.history
    notes: dict[int, ReviewNote] = {}
    last_status: dict[int, str] = {}
    last_edit: dict[int, tuple[str, datetime]] = {}
    with store.engine.connect() as conn:
        rows = conn.execute(select(h.c.record_id, h.c.target, h.c.author, h.c.at)
                            .where(h.c.record_id.in_([r.id for r in records]), h.c.target.in_(PERSON_EDITS))
                            .order_by(h.c.id)).all()
    for row in rows:
        who = reviewer_of(row.author)
        if row.target == "status":
            last_status[row.record_id] = who
        last_edit[row.record_id] = (who, row.at)
    for record in records:
        edit = last_edit.get(record.id)
        reviewer = last_status.get(record.id) if record.status != ReviewStatus.PENDING else None
        notes[record.id] = ReviewNote(as_status(record.status.value), reviewer,
                                      edit[0] if edit else None, edit[1] if edit else None)
    return notes


def misfit(customer: object) -> str | None:
    """What keeps a gold customer from the competition's format (RECORD_SCHEMA), or None.

    The schema's own check, written out: jsonschema took 4 ms a record, most of an export."""
    if not isinstance(customer, dict):
        return _("a customer is not an object")
    if customer.keys() != _FIELD_SET:
        odd = sorted(set(customer) ^ _FIELD_SET)
        return _("a customer does not hold exactly the 21 fields ({keys})").format(keys=", ".join(map(str, odd[:3])))
    for f in FIELDS:
        value = customer[f.name]
        fits = (isinstance(value, list) and all(isinstance(v, str) for v in value)) if f.kind == "list" \
            else isinstance(value, str)
        if not fits:
            return (_("{field} is not a list of strings") if f.kind == "list"
                    else _("{field} is not a string")).format(field=f.name)
    return None


def dataset_item(record: Record, note: ReviewNote | None = None) -> dict[str, object]:
    """A record as the competition's files hold it (its gold as corrected), with its review if given."""
    item: dict[str, object] = {"chat_text": record.chat_text, "infos": record.gold}
    problem = next(filter(None, map(misfit, record.gold)), None)
    if problem is not None:
        raise ExportError(_("record {index}: its gold does not fit the competition's format ({problem}); correct "
                            "it on the Review page").format(index=record.index, problem=problem))
    if note is not None:
        item[REVIEW_KEY] = note.as_json()
    return item


def export_dataset(store: ProjectStore, out: BinaryIO, *, split: Split = "train", scope: Scope = "not-rejected",
                   with_review: bool = False) -> ExportReport:
    """Write the split as train.json / test_data.json are written, corrections applied.

    `with_review` adds the `roleext` key; importing the file into a fresh project gives the
    same gold and statuses, and into the same project changes nothing."""
    report = ExportReport(DATASET_KINDS[split])
    out.write(b"[")
    for batch in batched(with_export_gold(store, split, in_scope(store.iter_records(split), scope, report), report)):
        notes = review_notes(store, batch) if with_review else {}
        for record in batch:
            item = dataset_item(record, notes.get(record.id))
            out.write((b",\n" if report.rows else b"\n") + json.dumps(item, ensure_ascii=False).encode("utf-8"))
            report.rows += 1
    out.write(b"\n]\n")
    report.records = report.rows
    if not report.rows:
        raise ExportError(_("no {split} record can be exported ({reasons})").format(
            split=split, reasons=left_out_reasons(report) or _("the split is empty")))
    return report
