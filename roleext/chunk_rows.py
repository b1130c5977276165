"""Fine-tuning rows from chunks of the chat, each target holding only what its chunk supports.

The best public pipeline fine-tuned on raw chat cut into chunks of about 7,100 characters
with 600 overlapping, so long chats were learnt whole instead of through a lossy summary.
A chunk's target must not ask for a value the chunk does not hold, or the model learns to
invent: a name, phone, e-mail or address not in the chunk is left out, as is any other
free text the chunk does not support, and a customer whose name the chunk never mentions.
Closed labels (咨询类型, 客户是否有卡点 ...) judge the whole chat, so every chunk keeps them.
The chat is cleaned as inference cleans it (roleext.cleaning), so training and inference
read the same kind of text.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from roleext.chat import render, squash
from roleext.chunking import MIN_CHUNK_CHARS, split_units
from roleext.cleaning import ChatProfile, clean_chat
from roleext.errors import ExportError
from roleext.fewshot import bigrams
from roleext.i18n import _
from roleext.project import Record
from roleext.schema import FIELDS, NAME_FIELD, Customer, Field, complete_customer
from roleext.support import gold_values

CHUNK_CHARS = 7_100
"""Characters of chat a row holds at most (the public pipeline's figure): with the instruction
and the target the row stays under the platform's 8,000."""
CHUNK_OVERLAP = 600
"""Characters of the end of a chunk repeated at the start of the next."""
SUPPORT_COVERAGE = 0.5
"""A free-text value the chat does not hold as written (具体事项 is a summary) is supported by
a chunk that holds at least this share of its character pairs. Set a priori, not fitted."""
_PARTS = re.compile(r"[、,，;；/]+")


@dataclass(frozen=True)
class ChunkOptions:
    """How chats are cut: chunk size and overlap in characters."""

    chunk_chars: int = CHUNK_CHARS
    overlap_chars: int = CHUNK_OVERLAP

    def check(self) -> None:
        if self.chunk_chars < MIN_CHUNK_CHARS:
            raise ExportError(_("chunks of {n} characters hold too little chat; use {least} or more").format(
                n=self.chunk_chars, least=MIN_CHUNK_CHARS))
        if not 0 <= self.overlap_chars < self.chunk_chars // 2:
            raise ExportError(_("an overlap of {n} characters must be under half the chunk ({half})").format(
                n=self.overlap_chars, half=self.chunk_chars // 2))


@dataclass(frozen=True)
class ChunkValues:
    """What one chunk's row kept of its record's gold: the report's line for it."""

    record: int
    chunk: int
    chunks: int
    chars: int
    """Characters of the whole row (instruction, chunk and target)."""
    kept: int
    total: int
    left_out: tuple[str, ...] = ()
    """Fields with a gold value this chunk's target left out."""
    in_no_chunk: int = 0
    """Gold values of the record that no chunk kept (the same on each of its chunks)."""


def supports(spec: Field, value: str, chunk: str, chunk_grams: frozenset[str]) -> bool:
    """Whether a chunk (`chunk` squashed, and its bigrams) supports one gold value of `spec`."""
    wanted = squash(value)
    if not wanted or spec.closed or wanted in chunk:
        return True
    if spec.verbatim:
        return False
    parts = [squash(p) for p in _PARTS.split(value) if p.strip()]
    if len(parts) > 1 and all(p in chunk for p in parts):
        return True
    grams = bigrams(wanted)
    return bool(grams) and len(grams & chunk_grams) / len(grams) >= SUPPORT_COVERAGE


def chunk_target(gold: list[Customer], chunk: str) -> list[Customer]:
    """The gold customers as this chunk supports them.

    A customer whose name the chunk never mentions is left out; if that leaves nobody, the
    first customer stays, with what the chunk does not support emptied (its closed labels)."""
    squashed = squash(chunk)
    grams = bigrams(squashed)
    targets: list[Customer] = []
    for customer in gold:
        kept = complete_customer(customer)
        for spec in FIELDS:
            value = kept[spec.name]
            if isinstance(value, list):
                kept[spec.name] = [v for v in value if supports(spec, str(v), squashed, grams)]
            elif not supports(spec, str(value), squashed, grams):
                kept[spec.name] = ""
        named = bool(str(customer.get(NAME_FIELD, "")).strip())
        if (kept[NAME_FIELD] or not named) and kept not in targets:
            targets.append(kept)
    if not targets and gold:
        first = complete_customer(gold[0])
        targets.extend(chunk_target([first | {NAME_FIELD: ""}], chunk))
    return targets


def _value_count(customers: list[Customer]) -> int:
    return sum(1 for _value in gold_values(customers))


def _left_out(gold: list[Customer], target: list[Customer]) -> tuple[str, ...]:
    have = {(v.field, v.value) for v in gold_values(target)}
    return tuple(dict.fromkeys(v.field for v in gold_values(gold) if (v.field, v.value) not in have))


def chat_chunks(record: Record, profile: ChatProfile | None, budget: int, overlap_chars: int) -> list[str]:
    """The record's cleaned chat in chunks of at most `budget` characters, on message boundaries."""
    units = [render([m]) for m in clean_chat(record.chat_text, profile).messages]
    return split_units(units, budget, overlap_chars=overlap_chars) or [""]


def chunk_rows(record: Record, instruction: str, options: ChunkOptions, max_chars: int,
               profile: ChatProfile | None = None) -> list[tuple[dict[str, str], ChunkValues]]:
    """The fine-tuning rows of one train record, one per chunk, each within `max_chars`.

    A chunk is smaller than `options.chunk_chars` when the record's gold is long: a target
    only loses values, so the whole gold bounds it and the row always fits."""
    gold_json = json.dumps([complete_customer(c) for c in record.gold], ensure_ascii=False)
    budget = min(options.chunk_chars, max_chars - len(instruction) - len(gold_json))
    chunks = chat_chunks(record, profile, max(MIN_CHUNK_CHARS, budget), options.overlap_chars)
    total = _value_count(record.gold)
    targets = [chunk_target(record.gold, chunk) for chunk in chunks]
    anywhere = {(v.field, v.value) for target in targets for v in gold_values(target)}
    in_no_chunk = sum(1 for v in gold_values(record.gold) if (v.field, v.value) not in anywhere)
    rows = []
    for number, (chunk, target) in enumerate(zip(chunks, targets, strict=True), start=1):
        row = {"instruction": instruction, "input": chunk, "output": json.dumps(target, ensure_ascii=False)}
        chars = sum(len(v) for v in row.values())
        rows.append((row, ChunkValues(record.index, number, len(chunks), chars, _value_count(target), total,
                                      _left_out(record.gold, target), in_no_chunk)))
    return rows
