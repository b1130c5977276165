"""Worked examples for a base model: train records with gold that look most like the input.

A model that was never fine-tuned learns the task's answers (which labels, how empty most
fields are) from a few examples better than from rules alone. Examples come from the
project's own train records: accepted ones first, then the most similar by character
bigrams (weighted by how rare a bigram is across the pool, so the staff's boilerplate that
every chat shares does not make all chats look alike). A record is never its own example,
and the examples never take more room than the model's budget leaves beside the input.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from roleext.cleaning import ChatProfile, clean_chat
from roleext.project import InputSource, Record, ReviewStatus
from roleext.prompts import CONTENT_SLOT, EXAMPLES_SLOT
from roleext.schema import complete_customer

EXAMPLE_STATUSES = (ReviewStatus.ACCEPTED, ReviewStatus.PENDING)
"""Records whose gold may teach: a record rejected or marked needs-fix in review may not."""


@dataclass(frozen=True)
class Example:
    """One worked example: what the model would read for a train record, and its gold answer."""

    record_id: int
    index: int
    chat_hash: str
    text: str
    answer: str
    accepted: bool

    def rendered(self, number: int) -> str:
        return f"****示例{number}****\n{self.text}\n****示例{number}的输出****\n{self.answer}\n"


def bigrams(text: str) -> frozenset[str]:
    """The character bigrams of a text, whitespace ignored: how two chats are compared."""
    squashed = "".join(text.split())
    return frozenset(squashed[i:i + 2] for i in range(len(squashed) - 1))


def examples_block(examples: list[Example]) -> str:
    """The examples as the prompt shows them, numbered from 1; "" for none."""
    if not examples:
        return ""
    return "\n以下是示例：\n" + "\n".join(e.rendered(n) for n, e in enumerate(examples, 1))


def examples_room(max_input: int | None, prompt: str, input_chars: int) -> int | None:
    """Characters the examples may take in one request, or None for no limit.

    What the prompt leaves is shared: the input keeps all it needs up to half of it (a
    longer input is chunked into that half), the examples take the rest.
    """
    if max_input is None:
        return None
    fixed = len(prompt.replace(CONTENT_SLOT, "").replace(EXAMPLES_SLOT, "")) + 1
    free = max_input - fixed
    return max(0, free - min(input_chars, free // 2))


class ExamplePool:
    """The train records that may serve as examples, ready to be ranked against an input."""

    def __init__(self, examples: list[Example]) -> None:
        self.examples = examples
        self._grams = [bigrams(e.text) for e in examples]
        counts: Counter[str] = Counter(g for grams in self._grams for g in grams)
        total = len(examples) + 1
        self._idf = {g: math.log(total / n) + 1e-3 for g, n in counts.items()}
        self._unseen = math.log(total) + 1e-3
        self._mass = [self._weight(grams) for grams in self._grams]

    @classmethod
    def of(cls, records: Iterable[Record], source: InputSource, profile: ChatProfile | None = None) -> ExamplePool:
        """Train records with gold and an input of `source`; a chat is cleaned as inference cleans it."""
        examples = []
        for record in records:
            if record.split != "train" or not record.gold or record.status not in EXAMPLE_STATUSES:
                continue
            text = record.model_input(source)
            if source == "chat":
                text = clean_chat(record.chat_text, profile).text
            if not text or not text.strip():
                continue
            answer = json.dumps([complete_customer(c) for c in record.gold], ensure_ascii=False)
            examples.append(Example(record.id, record.index, record.chat_hash, text, answer,
                                    record.status == ReviewStatus.ACCEPTED))
        return cls(examples)

    def __len__(self) -> int:
        return len(self.examples)

    def _weight(self, grams: frozenset[str]) -> float:
        return sum(self._idf.get(g, self._unseen) for g in grams)

    def similarity(self, grams: frozenset[str], position: int, mass: float | None = None) -> float:
        """Weighted Jaccard of two bigram sets: shared rare bigrams count most. `mass` is the
        weight of `grams`, when the caller compares them with many examples."""
        other = self._grams[position]
        shared = self._weight(grams & other)
        union = (self._weight(grams) if mass is None else mass) + self._mass[position] - shared
        return shared / union if union else 0.0

    def choose(self, record: Record, text: str, k: int, room: int | None) -> list[Example]:
        """Up to `k` examples for `record` (whose model reads `text`): accepted ones first, then
        the most similar, each taken only if it fits in `room` beside those already taken.

        The record itself (same id, or the same chat imported twice) is never an example."""
        if k <= 0:
            return []
        own = record.chat_hash
        grams = bigrams(text)
        candidates = [i for i, e in enumerate(self.examples) if e.record_id != record.id and e.chat_hash != own]
        mass = self._weight(grams)
        scores = {i: self.similarity(grams, i, mass) for i in candidates}
        ranked = sorted(candidates, key=lambda i: (not self.examples[i].accepted, -scores[i], self.examples[i].index))
        chosen: list[Example] = []
        for i in ranked:
            trial = [*chosen, self.examples[i]]
            if room is None or len(examples_block(trial)) <= room:
                chosen = trial
            if len(chosen) == k:
                break
        return chosen
