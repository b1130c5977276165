"""Splitting an over-long input into pieces that each fit a model's budget.

Pieces break on message (or line) boundaries; a single message longer than the budget is
cut into parts, so every call stays within the budget whatever the chat holds.
"""

from __future__ import annotations

MIN_CHUNK_CHARS = 500
"""Below this a chunk holds too little conversation to summarize; halving stops here."""


def _pieces(units: list[str], budget: int) -> list[str]:
    pieces = []
    for unit in units:
        while len(unit) > budget:
            pieces.append(unit[:budget])
            unit = unit[budget:]
        if unit:
            pieces.append(unit)
    return pieces


def split_units(units: list[str], budget: int, overlap: int = 0, overlap_chars: int | None = None) -> list[str]:
    """Consecutive units joined by newlines into chunks of at most `budget` characters.

    Each chunk after the first starts with up to `overlap` units of the one before (as many
    as fit), so a statement and its answer are rarely separated. With `overlap_chars`, it
    starts instead with as many of the last units as fit in that many characters.
    """
    if budget < 1:
        raise ValueError("budget must be positive")
    if overlap_chars is not None:
        overlap = len(units)
    chunks: list[list[str]] = []
    current: list[str] = []
    size = 0
    for piece in _pieces(units, budget):
        added = len(piece) + (1 if current else 0)
        if current and size + added > budget:
            chunks.append(current)
            carried: list[str] = []
            for previous in reversed(current[-overlap:] if overlap else []):
                carried_chars = sum(len(u) + 1 for u in carried) + len(previous)
                if carried_chars + 1 + len(piece) > budget or (overlap_chars is not None
                                                               and carried_chars > overlap_chars):
                    break
                carried.insert(0, previous)
            current = carried
            size = sum(len(u) for u in current) + max(0, len(current) - 1)
            added = len(piece) + (1 if current else 0)
        current.append(piece)
        size += added
    if current:
        chunks.append(current)
    return ["\n".join(chunk) for chunk in chunks]
