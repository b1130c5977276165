"""The review workflow without the UI: warnings, filters, navigation, undo, form values.

The Review page lays these out; everything it decides is decided here and tested alone.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from roleext.chat import squash
from roleext.errors import NotFoundError, Problem, RoleextError
from roleext.io import Split
from roleext.lint import lint_customer
from roleext.project import Record, RecordInfo, ReviewStatus
from roleext.schema import FIELDS, Customer, Field, complete_customer
from roleext.store import ProjectStore
from roleext.support import unsupported

LIST_ITEM_SEPARATOR = "\n"
"""Free list fields (参与人) are edited one item a line."""
MAX_SQL_SEARCH_CHARS = 1_000
"""SQL's LIKE refuses long patterns (SQLite: 50,000 bytes) and ends one at a NUL, so a longer
search, or one holding a NUL, is narrowed in SQL by a plain part of it and confirmed here."""


@dataclass(frozen=True)
class RecordFilter:
    """What the record list shows; empty values mean no filter."""

    split: Split | None = None
    statuses: tuple[ReviewStatus, ...] = ()
    text: str = ""
    warnings_only: bool = False


def record_warnings(record: Record) -> list[Problem]:
    """What a reviewer should look at: gold the summary lost, gold the chat lacks, label noise."""
    warnings: list[Problem] = []
    if record.summary is not None:
        for value in unsupported(record.gold, record.summary.current, record.chat_text):
            warnings.append(Problem(f"{value.value!r} is in the chat but not in the summary: the model "
                                    "would have to invent it", record.index, value.field, value.customer,
                                    severity="warning"))
    chat = squash(record.chat_text)
    for number, customer in enumerate(record.gold, start=1):
        for spec in FIELDS:
            text = customer.get(spec.name)
            if spec.verbatim and isinstance(text, str) and text and squash(text) not in chat:
                warnings.append(Problem(f"{text!r} does not occur in the chat", record.index, spec.name,
                                        number, severity="warning"))
        warnings.extend(lint_customer(customer, record.index, number))
    return warnings


def filter_records(store: ProjectStore, wanted: RecordFilter) -> list[RecordInfo]:
    """The records matching a filter, in split and file order."""
    infos = store.list_records(wanted.split)
    if wanted.statuses:
        infos = [i for i in infos if i.status in wanted.statuses]
    text = wanted.text.strip()
    if text:
        narrowed = max(text.split("\x00"), key=len)[:MAX_SQL_SEARCH_CHARS]
        matching = store.search_records(narrowed, wanted.split)
        infos = [i for i in infos if i.id in matching]
        if narrowed != text:
            infos = [i for i in infos if _holds(store.get_record(i.split, i.index), text)]
    if wanted.warnings_only:
        infos = [i for i in infos if record_warnings(store.get_record(i.split, i.index))]
    return infos


def _holds(record: Record, text: str) -> bool:
    """Whether the record's chat, gold or summary contains `text`, as `search_records` looks."""
    summary = [record.summary.text, record.summary.edited_text or ""] if record.summary else []
    return any(text in part for part in [record.chat_text, json.dumps(record.gold, ensure_ascii=False), *summary])


def next_unreviewed(infos: list[RecordInfo], current: RecordInfo | None) -> RecordInfo | None:
    """The first pending or needs-fix record after `current` (wrapping), or None when all are done."""
    todo = (ReviewStatus.PENDING, ReviewStatus.NEEDS_FIX)
    start = infos.index(current) + 1 if current in infos else 0
    for info in infos[start:] + infos[:start]:
        if info.status in todo and info != current:
            return info
    return None


def undo_last_edit(store: ProjectStore, record: Record, author: str | None = None) -> str:
    """Revert the record's most recent edit by writing its `before` back (itself a new edit)."""
    history = [h for h in store.history_of(record.id) if h.target in ("gold", "summary", "status", "prediction")
               and h.author != "generated"]
    if not history:
        raise NotFoundError("this record has no edit to undo")
    last = history[-1]
    if last.target == "gold":
        store.update_gold(record.id, last.before, record.version, author)
    elif last.target == "status":
        store.set_status(record.id, ReviewStatus(last.before), record.version, author)
    elif last.target == "summary":
        if record.summary is None:
            raise RoleextError("the summary this edit belonged to is gone")
        store.edit_summary(record.id, last.before, record.summary.version, author)
    else:
        if record.prediction is None:
            raise RoleextError("the prediction this edit belonged to is gone")
        store.correct_prediction(record.id, last.before, record.prediction.version, author)
    return f"undid the last {last.target} edit ({last.author}, {last.at:%Y-%m-%d %H:%M})"


# --- form values ----------------------------------------------------------------------


def options_for(spec: Field, value: Any) -> list[str]:
    """Choices for a closed field: the known values plus any current value outside them,
    so a value the user did not remove never disappears on save."""
    current = value if isinstance(value, list) else [value] if value else []
    extra = [v for v in current if v not in spec.known]
    blank = [""] if spec.kind == "str" else []  # a single value may be cleared; a list just empties
    return [*blank, *spec.known, *extra]


def to_form(spec: Field, value: Any) -> Any:
    """A stored value as its widget holds it (free lists become one item a line)."""
    if spec.kind == "list" and not spec.closed:
        return LIST_ITEM_SEPARATOR.join(value or [])
    return value


def from_form(spec: Field, value: Any) -> str | list[str]:
    """A widget's value as stored."""
    if spec.kind == "list":
        if isinstance(value, str):
            return [line.strip() for line in value.split(LIST_ITEM_SEPARATOR) if line.strip()]
        return [str(v) for v in value or []]
    return "" if value is None else str(value).strip()


def customer_from_form(values: dict[str, Any]) -> Customer:
    """A full 21-key customer from widget values keyed by field name."""
    return complete_customer({spec.name: from_form(spec, values.get(spec.name, spec.empty())) for spec in FIELDS})
