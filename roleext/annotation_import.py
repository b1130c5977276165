"""`roleext import FILE --as NAME`: a file of labels becomes NAME's annotations.

Labels made elsewhere (another tool, a teammate working offline) are matched to the
project's records by chat, as a re-import matches them (`roleext.matching.match_chats`: the
same chat, else a near-identical one; never by position, as such a file holds some of the
project's chats in any order), in either split: each record's split is its own. The import
writes NAME's annotations and nothing else:
- a file record whose chat the project does not hold is reported, never added as a record;
- a file record with no customers carries no label and is skipped (reported);
- another annotator's annotation, and the record's own gold, are never touched;
- importing the same file again changes nothing; a changed file updates NAME's annotations
  where they differ, each change in history (author: who ran the import; annotator: NAME);
- a matched record not yet assigned to NAME is assigned to them, so their progress and the
  first-annotator order (`roleext.annotations.ordered_annotators`) count it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import func, insert, select, update

from roleext.annotations import write_annotation
from roleext.errors import UsageError
from roleext.i18n import _, ngettext
from roleext.io import ChatFile
from roleext.matching import StoredRow, dumps, match_chats
from roleext.store import ProjectStore, default_author

SHOWN_UNMATCHED = 20
"""Unmatched file records named one by one in the report; beyond, a count."""


@dataclass
class AnnotationImportReport:
    """What importing a file as one annotator's labels did."""

    annotator: str
    records: int
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    assigned: int = 0
    by_split: dict[str, int] = field(default_factory=dict)
    similar: int = 0
    unmatched: list[int] = field(default_factory=list)
    """File positions (1-based) whose chat is not in the project."""
    kept: list[int] = field(default_factory=list)
    """File positions whose labels the annotator changed in the app since: kept, not overwritten."""
    unlabelled: int = 0

    def lines(self) -> list[str]:
        splits = _(", ").join(f"{split} {n}" for split, n in sorted(self.by_split.items(), reverse=True)) or "-"
        out = [_("labels of {annotator}: {added} added, {updated} updated, {unchanged} unchanged; matched records "
                 "by split: {splits}").format(annotator=self.annotator, added=self.added, updated=self.updated,
                                              unchanged=self.unchanged, splits=splits)]
        if self.similar:
            out.append(ngettext("{n} record matched a near-identical chat", "{n} records matched a near-identical "
                                "chat", self.similar).format(n=self.similar))
        if self.assigned:
            out.append(ngettext("{n} record newly assigned to {annotator}", "{n} records newly assigned to "
                                "{annotator}", self.assigned).format(n=self.assigned, annotator=self.annotator))
        if self.kept:
            shown = ", ".join(map(str, self.kept[:SHOWN_UNMATCHED]))
            more = (_(" and {n} more").format(n=len(self.kept) - SHOWN_UNMATCHED)
                    if len(self.kept) > SHOWN_UNMATCHED else "")
            out.append(ngettext(
                "{n} file record differs from labels {annotator} made or edited in the app: theirs are kept "
                "(record {shown}{more})",
                "{n} file records differ from labels {annotator} made or edited in the app: theirs are kept "
                "(records {shown}{more})", len(self.kept)).format(n=len(self.kept), annotator=self.annotator,
                                                                   shown=shown, more=more))
        if self.unlabelled:
            out.append(ngettext("{n} file record has no customers: skipped", "{n} file records have no customers: "
                                "skipped", self.unlabelled).format(n=self.unlabelled))
        if self.unmatched:
            shown = ", ".join(map(str, self.unmatched[:SHOWN_UNMATCHED]))
            more = (_(" and {n} more").format(n=len(self.unmatched) - SHOWN_UNMATCHED)
                    if len(self.unmatched) > SHOWN_UNMATCHED else "")
            out.append(ngettext(
                "{n} file record matches no chat of the project (not added): record {shown}{more}",
                "{n} file records match no chat of the project (not added): records {shown}{more}",
                len(self.unmatched)).format(n=len(self.unmatched), shown=shown, more=more))
        return out


def import_annotations(store: ProjectStore, chat_file: ChatFile, annotator: str,
                       author: str | None = None) -> AnnotationImportReport:
    """Write the file's customers as `annotator`'s annotations of the records whose chats it holds."""
    annotator = annotator.strip()
    if not annotator or len(annotator) > 100:
        raise UsageError(_("--as needs an annotator's name (at most 100 characters)"))
    if not any(record.infos for record in chat_file.records):
        raise UsageError(_("this file holds no labels (no record has customers): nothing to import as {annotator}")
                         .format(annotator=annotator))
    r, a, n = store.records, store.assignments, store.annotations
    who, now = author or default_author(), datetime.now(UTC)
    report = AnnotationImportReport(annotator, len(chat_file.records))
    with store.write() as conn:
        rows = conn.execute(select(r.c.id, r.c.split, r.c.idx, r.c.chat_hash, r.c.gold_imported, r.c.gold,
                                   func.length(r.c.chat_text).label("chars"))
                            .where(r.c.idx.is_not(None))).all()
        split_of = {row.id: row.split for row in rows}
        stored = [StoredRow(row.id, row.idx, row.chat_hash, row.gold_imported, row.gold, row.chars) for row in rows]

        def chat_of(record_id: int) -> str:
            return str(conn.execute(select(r.c.chat_text).where(r.c.id == record_id)).scalar())

        matches = match_chats(stored, chat_file.records, chat_of)
        mine = {row.record_id: (json.loads(row.infos), row.version, row.imported) for row in conn.execute(
            select(n.c.record_id, n.c.infos, n.c.version, n.c.imported).where(n.c.annotator == annotator)).all()}
        assigned = set(conn.execute(select(a.c.record_id).where(a.c.annotator == annotator)).scalars())
        for record in chat_file.records:
            if record.index not in matches:
                report.unmatched.append(record.index)
                continue
            if not record.infos:
                report.unlabelled += 1
                continue
            row, how = matches[record.index]
            report.similar += how == "similar"
            split = split_of[row.id]
            report.by_split[split] = report.by_split.get(split, 0) + 1
            old = mine.get(row.id)
            if old is not None and old[0] == record.infos:
                report.unchanged += 1
            elif old is not None and (old[2] is None or json.loads(old[2]) != old[0]):
                # Labelled or edited in the app since the last import of them: the person's work stays.
                report.kept.append(record.index)
                conn.execute(update(n).where((n.c.record_id == row.id) & (n.c.annotator == annotator))
                             .values(imported=dumps(record.infos)))
            else:
                write_annotation(store, conn, row.id, annotator, record.infos, 0 if old is None else old[1], who, now,
                                 imported=True)
                if old is None:
                    report.added += 1
                else:
                    report.updated += 1
                mine[row.id] = (record.infos, (0 if old is None else old[1]) + 1, dumps(record.infos))
            if row.id not in assigned:
                conn.execute(insert(a).values(record_id=row.id, annotator=annotator, assigned_at=now))
                assigned.add(row.id)
                report.assigned += 1
    return report
