"""Which stored record each record of an imported file is: the import plan, without SQL.

Records have no id in the competition's files, so a re-import has to recognise them. A
record is matched by its chat's content hash first (a reordered file), then by a
near-identical chat (a corrected typo), then by position (a chat rewritten in place).
Everything curated hangs off the stored row (review, edited gold, summary, prediction), so
a wrong "new record" orphans a person's work: the plan says how each record was matched
and what the import would change, so the caller can preview it and ask before it erases.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from rapidfuzz import fuzz

from roleext.i18n import _, ngettext
from roleext.io import ChatFile, ChatRecord, Split
from roleext.project import ImportReport
from roleext.schema import Customer

MatchedBy = Literal["hash", "similar", "position"]

SIMILAR_CHAT = 90.0
"""rapidfuzz ratio (0-100) above which two chats are the same chat, corrected: one edited
or deleted message in a chat of a few thousand characters scores above 99; two different
chats of the same shop, with the same staff and boilerplate, score at most 47 on the 155
real chats (train and test)."""

SHARED_LINES = 0.5
"""A cheap filter before the ratio (which costs ~4 ms a pair on real chats): a corrected
chat shares nearly all its lines with the stored one; two different real chats share at most
12% (line sets, Jaccard, on the 155 real chats)."""

MAX_FUZZY_COMPARISONS = 200_000
"""Beyond this many chat pairs, fuzzy matching is skipped (a different file, not a
corrected one) and the remaining records match by position or are added."""


def chat_hash(chat_text: str) -> str:
    """The content identity of a chat: records have no id, so re-imports match on this."""
    return hashlib.sha256(chat_text.encode("utf-8")).hexdigest()


def dumps(value: Any) -> str:
    """JSON as the store keeps it (gold, history): Chinese left readable."""
    return json.dumps(value, ensure_ascii=False)


@dataclass(frozen=True)
class StoredRow:
    """What the plan needs of a stored record; the chat text is fetched only for fuzzy matching."""

    id: int
    index: int | None
    chat_hash: str
    gold_imported: str
    gold: str
    chat_chars: int


@dataclass(frozen=True)
class RecordUpdate:
    """A stored record the file holds again, and what the import writes to it."""

    row: StoredRow
    record: ChatRecord
    new_hash: str
    matched_by: MatchedBy
    gold: str
    """The gold after the import: the file's, unless a person edited the stored gold."""
    gold_imported: str
    """What the record's gold was imported as, after the import (see `_imported_after`)."""

    @property
    def chat_changed(self) -> bool:
        return self.row.chat_hash != self.new_hash

    @property
    def gold_imported_changed(self) -> bool:
        return self.row.gold_imported != self.gold_imported

    @property
    def gold_changed(self) -> bool:
        return self.row.gold != self.gold

    @property
    def moved(self) -> bool:
        return self.row.index != self.record.index

    @property
    def content_changed(self) -> bool:
        """The chat or the effective gold changes: the record's version moves on."""
        return self.chat_changed or self.gold_changed


def _values(gold: str) -> Counter[str]:
    """Every filled field value of a gold list, as comparable items."""
    counts: Counter[str] = Counter()
    for n, customer in enumerate(json.loads(gold)):
        for name, value in customer.items():
            if value not in ("", [], None):
                counts[f"{n}\x1f{name}\x1f{dumps(value)}"] += 1
    return counts


@dataclass
class ImportPlan:
    """What importing a file into a split would do; `store.import_chat_file` carries it out."""

    split: Split
    inserts: list[ChatRecord] = field(default_factory=list)
    updates: list[RecordUpdate] = field(default_factory=list)
    unchanged: int = 0
    detached: list[StoredRow] = field(default_factory=list)
    file_has_gold: bool = False
    split_has_gold: bool = False

    @property
    def matched_by(self) -> Counter[str]:
        return Counter(u.matched_by for u in self.updates)

    @property
    def gold_records_changed(self) -> int:
        return sum(u.gold_changed for u in self.updates)

    @property
    def gold_values_changed(self) -> int:
        """Field values added, removed or replaced in the effective gold, over all records."""
        total = 0
        for update in self.updates:
            if update.gold_changed:
                before, after = _values(update.row.gold), _values(update.gold)
                total += sum(((before - after) + (after - before)).values())
        return total

    @property
    def chats_changed(self) -> int:
        return sum(u.chat_changed for u in self.updates)

    @property
    def replaced_chats(self) -> list[RecordUpdate]:
        """Records whose stored chat gives way to a different one at the same position: their
        review, gold edits and summary would stay with a chat nobody reviewed."""
        return [u for u in self.updates if u.matched_by == "position" and u.chat_changed]

    @property
    def erases_gold(self) -> bool:
        """A file with no gold at all over a split that has some: almost always the wrong file."""
        return self.split_has_gold and not self.file_has_gold

    @property
    def needs_confirmation(self) -> bool:
        """The import would change or erase gold, put another chat in a record's place, or
        take records out of the split."""
        return bool(self.gold_records_changed or self.detached or self.replaced_chats)

    def fingerprint(self) -> str:
        """What a person confirms: the same fingerprint means the same destructive changes, so
        a confirmation given on a preview is not applied to a plan that changed since."""
        parts = [self.split, str(self.erases_gold),
                 *(f"g{u.row.id}:{u.row.gold}>{u.gold}" for u in self.updates if u.gold_changed),
                 *(f"c{u.row.id}:{u.new_hash}" for u in self.replaced_chats),
                 *(f"d{row.id}" for row in self.detached)]
        return hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()[:16]

    def report(self) -> ImportReport:
        """What the import did (or would do), in counts."""
        return ImportReport(self.split, len(self.inserts), len(self.updates), self.unchanged,
                            len(self.detached), dict(self.matched_by), self.chats_changed)

    def preview(self) -> list[str]:
        """What a person confirms, one line each."""
        lines = [self.report().line()]
        if self.gold_records_changed:
            which = ", ".join([str(u.record.index) for u in self.updates if u.gold_changed][:10])
            more = ", ..." if self.gold_records_changed > 10 else ""
            records = ngettext("{n} record", "{n} records", self.gold_records_changed).format(
                n=self.gold_records_changed)
            values = ngettext("{n} field value", "{n} field values", self.gold_values_changed).format(
                n=self.gold_values_changed)
            lines.append(_("gold changes in {records} ({values}): {which}{more}").format(
                records=records, values=values, which=which, more=more))
        if self.replaced_chats:
            shown = ", ".join(str(u.record.index) for u in self.replaced_chats[:10])
            lines.append(_("records {shown}: a different chat at the same position takes over the stored record (its "
                           "review status and gold edits stay; the old chat is kept in history)").format(shown=shown))
        if self.detached:
            shown = ", ".join(str(row.index) for row in self.detached[:10])
            more = _(" and {n} more").format(n=len(self.detached) - 10) if len(self.detached) > 10 else ""
            lines.append(ngettext("record {shown}{more} leaves the split (kept in the database, shown again if a "
                                  "later file holds it)",
                                  "records {shown}{more} leave the split (kept in the database, shown again if a "
                                  "later file holds them)", len(self.detached)).format(shown=shown, more=more))
        return lines


def _gold_after(row: StoredRow, infos: list[Customer]) -> str:
    """Gold a person edited stays; untouched gold follows the file."""
    return dumps(infos) if row.gold == row.gold_imported else row.gold


def _imported_after(row: StoredRow, infos: list[Customer]) -> str:
    """The file's gold becomes the record's imported gold, unless it is what the record already
    holds: a file roleext exported (corrections applied) then changes nothing, and gold a
    person edited stays an edit that a later import of the original file cannot revert."""
    return row.gold_imported if json.loads(row.gold) == infos else dumps(infos)


def _similar_pairs(records: Sequence[ChatRecord], rows: Sequence[StoredRow],
                   chat_of: Callable[[int], str]) -> list[tuple[ChatRecord, StoredRow]]:
    """Pairs of a file record and a stored row whose chats are near-identical, best first."""
    if not records or not rows or len(records) * len(rows) > MAX_FUZZY_COMPARISONS:
        return []
    texts: dict[int, str] = {}
    lines: dict[int, set[str]] = {}

    def stored_lines(row: StoredRow) -> set[str]:
        if row.id not in lines:
            texts[row.id] = chat_of(row.id)
            lines[row.id] = set(texts[row.id].splitlines())
        return lines[row.id]

    scored: list[tuple[float, int, int]] = []
    for i, record in enumerate(records):
        size, own = len(record.chat_text), set(record.chat_text.splitlines())
        for j, row in enumerate(rows):
            # Two chats within 90% similarity differ in length by at most ~20%.
            if min(size, row.chat_chars) < 0.8 * max(size, row.chat_chars, 1):
                continue
            theirs = stored_lines(row)
            if len(own & theirs) < SHARED_LINES * len(own | theirs):
                continue
            score = fuzz.ratio(record.chat_text, texts[row.id], score_cutoff=SIMILAR_CHAT)
            if score:
                scored.append((score, i, j))
    pairs: list[tuple[ChatRecord, StoredRow]] = []
    used_records: set[int] = set()
    used_rows: set[int] = set()
    for _score, i, j in sorted(scored, key=lambda s: (-s[0], s[1], s[2])):
        if i not in used_records and j not in used_rows:
            used_records.add(i)
            used_rows.add(j)
            pairs.append((records[i], rows[j]))
    return pairs


def match_chats(stored: Sequence[StoredRow], records: Sequence[ChatRecord],
                chat_of: Callable[[int], str]) -> dict[int, tuple[StoredRow, MatchedBy]]:
    """The stored row of each file record (by its index) whose chat is the same, or near-identical;
    never by position. For files that hold some of the project's chats in any order (an
    annotator's labels): a record at the same position is usually another chat."""
    by_hash: dict[str, list[StoredRow]] = defaultdict(list)
    for row in stored:
        by_hash[row.chat_hash].append(row)
    used: set[int] = set()
    matches: dict[int, tuple[StoredRow, MatchedBy]] = {}
    for rec in records:
        candidates = [row for row in by_hash.get(chat_hash(rec.chat_text), []) if row.id not in used]
        if candidates:
            pick = next((row for row in candidates if row.index == rec.index), candidates[0])
            matches[rec.index] = (pick, "hash")
            used.add(pick.id)
    unmatched = [rec for rec in records if rec.index not in matches]
    for rec, row in _similar_pairs(unmatched, [row for row in stored if row.id not in used], chat_of):
        matches[rec.index] = (row, "similar")
    return matches


def plan_import(stored: Sequence[StoredRow], chat_file: ChatFile,
                chat_of: Callable[[int], str]) -> ImportPlan:
    """Match the file's records to the split's stored rows and say what would change.

    `chat_of(row_id)` returns a stored chat; it is called only for rows left unmatched by
    hash, and only when fuzzy matching is worth its cost.
    """
    plan = ImportPlan(chat_file.split,
                      file_has_gold=any(r.infos for r in chat_file.records),
                      split_has_gold=any(row.index is not None and row.gold != "[]" for row in stored))
    hashes = {rec.index: chat_hash(rec.chat_text) for rec in chat_file.records}
    by_hash: dict[str, list[StoredRow]] = defaultdict(list)
    for row in stored:
        by_hash[row.chat_hash].append(row)
    used: set[int] = set()
    matches: dict[int, tuple[StoredRow, MatchedBy]] = {}

    for rec in chat_file.records:
        candidates = [row for row in by_hash.get(hashes[rec.index], []) if row.id not in used]
        if candidates:
            pick = next((row for row in candidates if row.index == rec.index), candidates[0])
            matches[rec.index] = (pick, "hash")
            used.add(pick.id)

    unmatched = [rec for rec in chat_file.records if rec.index not in matches]
    free_rows = [row for row in stored if row.id not in used]
    for rec, row in _similar_pairs(unmatched, free_rows, chat_of):
        matches[rec.index] = (row, "similar")
        used.add(row.id)

    by_index = {row.index: row for row in stored if row.index is not None}
    for rec in chat_file.records:
        at_index = by_index.get(rec.index)
        if rec.index not in matches and at_index is not None and at_index.id not in used:
            matches[rec.index] = (at_index, "position")
            used.add(at_index.id)

    plan.detached = [row for row in stored if row.index is not None and row.id not in used]
    for rec in chat_file.records:
        if rec.index not in matches:
            plan.inserts.append(rec)
            continue
        row, how = matches[rec.index]
        update = RecordUpdate(row, rec, hashes[rec.index], how, _gold_after(row, rec.infos),
                              _imported_after(row, rec.infos))
        if update.moved or update.chat_changed or update.gold_imported_changed:
            plan.updates.append(update)
        else:
            plan.unchanged += 1
    return plan
