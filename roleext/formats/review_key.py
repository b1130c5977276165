"""The `roleext` key a dataset record may carry: its review, for roleext to read back.

Other tools read `chat_text` and `infos` and ignore the key. It is plain data, checked
here without the project's classes, because `roleext.io` reads it while validating a file.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, cast, get_args

from roleext.errors import Problem
from roleext.i18n import _

REVIEW_KEY = "roleext"
"""The record key that holds the review; the competition's files have no such key."""

StatusValue = Literal["pending", "accepted", "needs-fix", "rejected"]
"""The values of `project.ReviewStatus`, spelled out: io reads this module before project exists."""
STATUS_VALUES: tuple[str, ...] = get_args(StatusValue)


def as_status(value: str) -> StatusValue:
    """A review status's value, checked: the store and the file speak the same four words."""
    if value not in STATUS_VALUES:
        raise ValueError(f"not a review status: {value!r}")
    return cast(StatusValue, value)


@dataclass(frozen=True)
class ReviewNote:
    """A record's review as a dataset file carries it."""

    status: StatusValue
    reviewer: str | None = None
    """Who set the status last (None: nobody, it is the import's pending)."""
    edited_by: str | None = None
    edited_at: datetime | None = None
    """The last person's edit of the record's gold or status, and when."""

    def as_json(self) -> dict[str, Any]:
        return {"status": self.status, "reviewer": self.reviewer,
                "last_edit": None if self.edited_at is None else {
                    "by": self.edited_by, "at": self.edited_at.isoformat(timespec="seconds")}}


def _optional_text(value: Any) -> bool:
    return value is None or isinstance(value, str)


def read_review_key(item: Any, record: int) -> tuple[Any, ReviewNote | None, list[Problem]]:
    """The item without its `roleext` key, the review the key holds, and what is wrong with it.

    Only `status` matters to an import; `reviewer` becomes the author of the status in
    history. `last_edit` is information for people and is not checked beyond its shape."""
    if not isinstance(item, dict) or REVIEW_KEY not in item:
        return item, None, []
    rest = {key: value for key, value in item.items() if key != REVIEW_KEY}
    key = item[REVIEW_KEY]
    where = REVIEW_KEY
    if not isinstance(key, dict):
        return rest, None, [Problem(_("is not an object; expected {{\"status\": ..., \"reviewer\": ...}} as roleext "
                                      "writes it, or no roleext key").format(), record, where)]
    status = key.get("status")
    if status not in STATUS_VALUES:
        return rest, None, [Problem(_("status is {status!r}, expected one of {statuses}").format(
            status=status, statuses=", ".join(STATUS_VALUES)), record, where)]
    reviewer = key.get("reviewer")
    if not _optional_text(reviewer) or (isinstance(reviewer, str) and not reviewer.strip()):
        return rest, None, [Problem(_("reviewer is not a name; expected a string or null"), record, where)]
    return rest, ReviewNote(as_status(status), reviewer), []
