"""How a record is named where a person picks it from a list: split, position, customer, status.

`train 19 · 李娜3 · accepted` says which chat it is without opening it. The name is the
first gold customer's; a record without gold (the test split) may borrow its prediction's,
marked as such, since a model's answer is not a person's.
"""

from __future__ import annotations

from roleext.i18n import N_, _, translate
from roleext.project import Record, RecordInfo, ReviewStatus
from roleext.schema import NAME_FIELD, Customer

MAX_NAME_CHARS = 16
"""Longer gold names are a company with remarks; the list needs only enough to recognise it."""
SEPARATOR = " · "
_STATUS_NAMES = {ReviewStatus.PENDING: N_("pending"), ReviewStatus.ACCEPTED: N_("accepted"),
                 ReviewStatus.NEEDS_FIX: N_("needs-fix"), ReviewStatus.REJECTED: N_("rejected")}


def _first_name(names: list[str]) -> tuple[str, int]:
    """The first non-empty name, one line and cut to MAX_NAME_CHARS, and how many customers follow."""
    for name in names:
        shown = " ".join(name.split())
        if shown:
            cut = shown if len(shown) <= MAX_NAME_CHARS else shown[:MAX_NAME_CHARS - 1] + "…"
            return cut, len(names) - 1
    return "", 0


def _names(customers: list[Customer]) -> list[str]:
    return [str(customer.get(NAME_FIELD, "") or "") for customer in customers]


def customer_label(record: Record | RecordInfo) -> str:
    """`李娜3`, `李娜3 +1` for two customers, `李娜3 (predicted)` when only a model named them; or ''."""
    if isinstance(record, RecordInfo):
        name, others = _first_name(list(record.names))
        predicted = False
    else:
        name, others = _first_name(_names(record.gold))
        predicted = False
        if not name and record.prediction is not None:
            name, others = _first_name(_names(record.prediction.infos))
            predicted = bool(name)
    if not name:
        return ""
    return name + (f" +{others}" if others else "") + (_(" (predicted)") if predicted else "")


def status_name(status: ReviewStatus) -> str:
    """A review status in the current language (the app session's, in the app).

    One translation a call: a picker draws fifty labels on every rerun of Review."""
    return translate(_STATUS_NAMES[status])


def record_label(record: Record | RecordInfo) -> str:
    """`train 19 · 李娜3 · accepted`: split and 1-based index, first customer's name if any, status.

    Plain text for selectbox options; pass it through `markup.escape_markdown` where
    Streamlit renders Markdown.
    """
    parts = [f"{record.split} {record.index}", customer_label(record), status_name(record.status)]
    return SEPARATOR.join(part for part in parts if part)
