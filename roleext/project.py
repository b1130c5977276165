"""What a roleext project holds: records with gold, summaries, predictions, reviews, history.

Plain dataclasses returned by the store; nothing here touches the database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from roleext.io import Split
from roleext.schema import Customer

InputSource = Literal["summary", "chat"]
"""What a model reads for a record: its reviewed summary, or the chat itself."""


class ReviewStatus(StrEnum):
    """Where a record stands in the human review; `rejected` records are never exported."""

    PENDING = "pending"
    ACCEPTED = "accepted"
    NEEDS_FIX = "needs-fix"
    REJECTED = "rejected"


@dataclass(frozen=True)
class Summary:
    """A chat's digest as the backend wrote it, and as the reviewer edited it."""

    text: str
    edited_text: str | None
    backend: str
    model: str
    prompt_hash: str
    version: int
    stale: bool = False
    """Written for a chat that a re-import has since changed: the next job redoes it."""

    @property
    def edited(self) -> bool:
        return self.edited_text is not None

    @property
    def current(self) -> str:
        """The text exports use: the reviewer's edit where there is one."""
        return self.edited_text if self.edited_text is not None else self.text


@dataclass(frozen=True)
class Prediction:
    """A model's answer for one record: raw text, parsed customers, the reviewer's correction."""

    raw_output: str
    parsed: list[Customer]
    corrected: list[Customer] | None
    backend: str
    model: str
    error: str | None
    version: int
    changes: tuple[str, ...] = ()
    """What the parser repaired or dropped on the way from raw_output to parsed."""
    stale: bool = False
    """Made from a chat (or summary) that has changed since: the next job redoes it."""

    @property
    def edited(self) -> bool:
        return self.corrected is not None

    @property
    def infos(self) -> list[Customer]:
        """The customers a submission uses: the correction where there is one."""
        return self.corrected if self.corrected is not None else self.parsed


@dataclass(frozen=True)
class Record:
    """One chat of the project with everything known about it.

    `version` guards the gold and the review status against concurrent edits; the summary
    and the prediction carry versions of their own.
    """

    id: int
    split: Split
    index: int
    chat_text: str
    gold: list[Customer]
    gold_imported: list[Customer]
    status: ReviewStatus
    version: int
    summary: Summary | None = None
    prediction: Prediction | None = None

    @property
    def gold_edited(self) -> bool:
        return self.gold != self.gold_imported

    def model_input(self, source: InputSource) -> str | None:
        """The text a model is given for this record, or None when it has no current summary."""
        if source == "chat":
            return self.chat_text
        if self.summary is None or self.summary.stale or not self.summary.current.strip():
            return None  # a summary of an older chat must not stand in for this one
        return self.summary.current


@dataclass(frozen=True)
class RecordInfo:
    """A record's line in a list: enough to filter and navigate without the chat text."""

    id: int
    split: Split
    index: int
    status: ReviewStatus
    chat_chars: int
    customers: int
    has_summary: bool
    has_prediction: bool
    summary_stale: bool = False
    prediction_stale: bool = False
    names: tuple[str, ...] = ()
    """The gold customers' names, in order (empty names included): how lists label the record."""


@dataclass(frozen=True)
class HistoryEntry:
    """One edit, as recorded: append-only, so any change can be traced and undone."""

    id: int
    record_id: int
    target: str
    author: str
    at: datetime
    before: Any
    after: Any


@dataclass(frozen=True)
class ImportReport:
    """What an import changed: re-importing the same file reports only `unchanged`."""

    split: Split
    added: int
    updated: int
    unchanged: int
    detached: int
    matched_by: dict[str, int] = field(default_factory=dict)
    """How updated records were recognised: by hash, similar chat, or position."""
    chats_changed: int = 0
    """Updated records whose chat changed: their summary and prediction are now stale."""
    statuses_set: int = 0
    """Pending records given the review status their file record carries (a roleext dataset)."""
    statuses_kept: int = 0
    """Records whose file status differs from the review made here, which stays."""

    def line(self) -> str:
        how = ", ".join(f"{n} by {kind}" for kind, n in sorted(self.matched_by.items()) if n)
        stale = (f"; {self.chats_changed} changed {'chat' if self.chats_changed == 1 else 'chats'}: "
                 "summarize and infer them again") if self.chats_changed else ""
        reviews = (f"; {self.statuses_set} review statuses from the file" if self.statuses_set else "") + (
            f"; {self.statuses_kept} review statuses kept (reviewed here differently)" if self.statuses_kept else "")
        return (f"{self.split}: {self.added} added, {self.updated} updated{f' ({how})' if how else ''}, "
                f"{self.unchanged} unchanged, {self.detached} no longer in the file{stale}{reviews}")
