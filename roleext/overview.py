"""Figures for the Data page: counts per split and the length distribution of the chats."""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from roleext.exports import MAX_ROW_CHARS
from roleext.project import RecordInfo

HISTOGRAM_STEP = 2_000


@dataclass(frozen=True)
class SplitOverview:
    split: str
    records: int
    customers: int
    over_limit: int
    median_chars: int


def split_overviews(infos: list[RecordInfo], limit: int = MAX_ROW_CHARS) -> list[SplitOverview]:
    """One line per split: records, customers, chats over `limit` characters, median length."""
    out = []
    for split in ("train", "test"):
        rows = [i for i in infos if i.split == split]
        if not rows:
            continue
        lengths = [i.chat_chars for i in rows]
        out.append(SplitOverview(split, len(rows), sum(i.customers for i in rows),
                                 sum(n > limit for n in lengths), round(statistics.median(lengths))))
    return out


def length_histogram(infos: list[RecordInfo], step: int = HISTOGRAM_STEP) -> dict[str, dict[str, int]]:
    """Chats per length bin and split, bins labelled like "4000-5999", in order."""
    if not infos:
        return {}
    top = max(i.chat_chars for i in infos) // step
    bins = {f"{b * step}-{(b + 1) * step - 1}": {"train": 0, "test": 0} for b in range(top + 1)}
    labels = list(bins)
    for info in infos:
        bins[labels[info.chat_chars // step]][info.split] += 1
    return bins
