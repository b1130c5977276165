"""Reading back what roleext exports: a dataset file, and fine-tuning rows as gold.

A file of fine-tuning rows (the platform's JSONL, alpaca, chat messages, ShareGPT) whose
answers are the 21-field JSON becomes train records: the chat is the user turn when that
is a chat, or the chat of the stored record whose summary the user turn is. Such a file
holds only some records (rejected and summary-less ones were left out), and so does a
dataset exported with its reviews: both are merged into the split, matched by chat, and
the split's other records stay where they are. Everything else imports as before: the
file is the split (see `roleext.matching`).
"""

from __future__ import annotations

import re
from dataclasses import replace
from itertools import chain

from roleext.chat import parse_messages, speaker_counts
from roleext.errors import InvalidFileError, Problem
from roleext.formats.row_reading import read_gold_rows, row_kind
from roleext.i18n import _, ngettext, remedy
from roleext.io import (
    MAX_FILE_BYTES,
    ChatFile,
    ChatRecord,
    Source,
    Split,
    chat_file_from_items,
    first_object,
    read_items,
    validate_chat_items,
)
from roleext.matching import chat_hash, dumps
from roleext.store import ProjectStore

CHAT_LINE_SHARE = 1 / 3
"""Of a chat's lines, at least this share start a `Speaker：text` message (88% do in real
chats; the rest continue long messages and quotes)."""
_SECTION_HEADING = re.compile(r"^\s*(?:#|\*\*|【[^】]*】\s*$)")
"""How a summary starts: a markdown heading, bold, or a 【section】 line as the offline digest's."""


def looks_like_chat(text: str) -> bool:
    """True for a chat transcript, False for a summary or digest of one.

    A chat's speakers are pseudonyms ending in a digit (王勇7), and one of them speaks twice;
    a summary's `label：value` lines name no such speaker, and a digest opens with a section.
    All 170 real and sample chats pass; none of the sample's digests does."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines or _SECTION_HEADING.match(lines[0]):
        return False
    messages = [m for m in parse_messages(text) if m.speaker]
    counts = speaker_counts(messages)
    return (len(messages) >= CHAT_LINE_SHARE * len(lines)
            and any(n >= 2 and speaker[-1].isdigit() for speaker, n in counts.items()))


def _chat_lookup(store: ProjectStore, split: Split) -> tuple[set[str], dict[str, str]]:
    """The split's chats (as hashes) and, for each current summary, the chat it summarizes."""
    chats: set[str] = set()
    by_summary: dict[str, str] = {}
    for record in store.iter_records(split):
        chats.add(chat_hash(record.chat_text))
        summary = record.model_input("summary")
        if summary is not None:
            by_summary.setdefault(summary, record.chat_text)
    return chats, by_summary


def rows_chat_file(store: ProjectStore, items: list[object], name: str) -> ChatFile:
    """Fine-tuning rows as a train ChatFile: one record per distinct chat, its answer as gold.

    Problems name the row by its position in the file, as every file problem does."""
    rows, problems, repeated = read_gold_rows(items)
    chats, by_summary = _chat_lookup(store, "train")
    chat_items: list[dict[str, object]] = []
    positions: list[int] = []
    seen: set[tuple[str, str]] = set()
    for row in rows:
        if chat_hash(row.user) in chats:
            chat = row.user
        elif row.user in by_summary:
            chat = by_summary[row.user]
        elif looks_like_chat(row.user):
            chat = row.user
        else:
            problems.append(Problem(_("the user turn is not a chat, nor the summary of a chat in this project: "
                                      "import the train chats first, or {remedy}").format(remedy=remedy(
                                          app=_("export the rows with the model reading the raw chat"),
                                          cli=_("export the rows with --input chat"))), row.position, "input"))
            continue
        key = (chat, dumps(row.infos))
        if key in seen:  # the chat and its summary, both rows of the file, with the same answer
            repeated += 1
            continue
        seen.add(key)
        chat_items.append({"chat_text": chat, "infos": row.infos})
        positions.append(row.position)
    records, errors, warnings, lints = validate_chat_items(chat_items)
    errors = [replace(p, record=positions[p.record - 1]) if p.record else p for p in errors]
    problems = sorted([*problems, *errors], key=lambda p: p.record or 0)
    if problems:
        raise InvalidFileError(problems, name)
    if not records:
        raise InvalidFileError([Problem(_("holds no rows"))], name)
    note = Problem(_("fine-tuning rows read as gold: {n} records").format(n=len(records))
                   + (ngettext(" ({n} repeated row read once)", " ({n} repeated rows read once)", repeated).format(
                       n=repeated) if repeated else ""), severity="warning")
    return ChatFile("train", records, [note, *warnings],
                    [replace(p, record=positions[p.record - 1]) if p.record else p for p in lints])


def merged_chat_file(store: ProjectStore, chat_file: ChatFile) -> ChatFile:
    """The split as it is with the file's records merged in: matched by chat, their gold and
    review from the file; the split's other records where they are; new chats at the end.

    Importing the result changes only what the file says, so a file that holds some of the
    records (accepted only, or rows with a summary) takes nothing out of the split."""
    by_hash = {chat_hash(rec.chat_text): rec for rec in chat_file.records}
    records: list[ChatRecord] = []
    for stored in store.iter_records(chat_file.split):
        mine = by_hash.pop(chat_hash(stored.chat_text), None)
        records.append(ChatRecord(stored.index, stored.chat_text, mine.infos, mine.review) if mine
                       else ChatRecord(stored.index, stored.chat_text, stored.gold_imported))
    end = max((r.index for r in records), default=0)
    new = [rec for rec in chat_file.records if chat_hash(rec.chat_text) in by_hash]
    for number, rec in enumerate(new, start=end + 1):
        records.append(ChatRecord(number, rec.chat_text, rec.infos, rec.review))
    stay = len(records) - len(chat_file.records)
    note = Problem(_("merged into the {split} split by chat: {new} new, {matched} matched; its {stay} other records "
                     "stay as they are").format(split=chat_file.split, new=len(new),
                                                matched=len(chat_file.records) - len(new), stay=stay),
                   severity="warning")
    return ChatFile(chat_file.split, records, [*chat_file.warnings, note], chat_file.lints)


def load_import(store: ProjectStore, source: Source, *, split: Split | None = None, merge: bool = False,
                max_bytes: int = MAX_FILE_BYTES) -> ChatFile:
    """Read any file roleext imports, ready for `store.import_chat_file`.

    A train.json or test_data.json is the split, as before, unless `merge` asks otherwise.
    Fine-tuning rows and a dataset whose records all carry roleext's review key are merged."""
    items, name = read_items(source, max_bytes=max_bytes)
    head, first, rest = first_object(items)
    if row_kind(first) is not None:
        if split == "test":
            raise InvalidFileError([Problem(_("holds fine-tuning rows, whose answers are gold: import it as train"))],
                                   name)
        return merged_chat_file(store, rows_chat_file(store, [*head, *rest], name))
    chat_file = chat_file_from_items(chain(head, rest), name, split)
    if merge or all(rec.review is not None for rec in chat_file.records):
        return merged_chat_file(store, chat_file)
    return chat_file
