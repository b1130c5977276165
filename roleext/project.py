"""What a roleext project holds: records with gold, summaries, predictions, reviews, history.

Plain dataclasses returned by the store; nothing here touches the database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from roleext.i18n import _, ngettext
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
    run: int = 0
    """The inference run it belongs to (roleext.runs): a correction stays with its run."""

    @property
    def edited(self) -> bool:
        return self.corrected is not None

    @property
    def infos(self) -> list[Customer]:
        """The customers a submission uses: the correction where there is one."""
        return self.corrected if self.corrected is not None else self.parsed


@dataclass(frozen=True)
class RecordOutputs:
    """A record's summary and prediction without its chat and gold: what a job plans on, read
    for a whole split before it starts (`ProjectStore.outputs_after`)."""

    id: int
    index: int
    summary: Summary | None
    prediction: Prediction | None


@dataclass(frozen=True)
class Record:
    """One chat of the project with everything known about it.

    `version` guards the gold and the review status against concurrent edits; the summary
    and the prediction carry versions of their own. `prediction` is the record's prediction
    in one inference run: the run the store was asked for, else the split's shown run (the
    one chosen for the submission, else the newest with a usable answer; roleext.runs).
    """

    id: int
    split: Split
    index: int
    chat_text: str
    gold: list[Customer]
    gold_imported: list[Customer]
    status: ReviewStatus
    version: int
    chat_hash: str
    """`roleext.matching.chat_hash(chat_text)`, as stored at import: a job marks its outputs with
    it, and hashing every chat again cost a tenth of a job's own work."""
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
    run: int | None = None
    """The run of the prediction a "prediction" entry corrected; None for other targets."""
    annotator: str | None = None
    """Whose annotation an "annotation" entry changed (team mode); None for other targets."""


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
        ways = {"hash": _("{n} by hash"), "similar": _("{n} by similar"), "position": _("{n} by position")}
        how = _(", ").join(ways.get(kind, "{n} " + kind).format(n=n)
                           for kind, n in sorted(self.matched_by.items()) if n)
        stale = ngettext("; {n} changed chat: summarize and infer them again",
                         "; {n} changed chats: summarize and infer them again",
                         self.chats_changed).format(n=self.chats_changed) if self.chats_changed else ""
        return _("{split}: {added} added, {updated} updated{how}, {unchanged} unchanged, {detached} no longer in the "
                 "file{stale}").format(split=self.split, added=self.added, updated=self.updated,
                                       how=_(" ({how})").format(how=how) if how else "", unchanged=self.unchanged,
                                       detached=self.detached, stale=stale) + self._reviews()

    def _reviews(self) -> str:
        """What the file's review statuses did, when it carried any (a roleext dataset)."""
        text = ngettext("; {n} review status from the file", "; {n} review statuses from the file",
                        self.statuses_set).format(n=self.statuses_set) if self.statuses_set else ""
        if self.statuses_kept:
            text += ngettext("; {n} review status kept (reviewed here differently)",
                             "; {n} review statuses kept (reviewed here differently)",
                             self.statuses_kept).format(n=self.statuses_kept)
        return text
