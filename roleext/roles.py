"""What each role may do, in one table: the app's navigation and every gate read it from here.

Single-user mode (a project with no users) has no sign-in and no roles: whoever runs the app
may do everything. In team mode (`roleext users add`), a person signs in and their role says:

- an **annotator** edits the records assigned to them;
- a **reviewer** reviews and resolves: edits any record, sets review statuses, resolves
  disagreements between annotators;
- an **admin** imports, assigns, runs jobs, exports, and everything else.

Assignments live elsewhere (a table `assignments(record_id, annotator)`); `may_edit_record`
takes them as a seam, so this module stays pure and the rule stays in one place.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Literal, get_args

from roleext.i18n import N_, translate

Role = Literal["annotator", "reviewer", "admin"]
ROLES: tuple[Role, ...] = get_args(Role)

Right = Literal[
    "edit_assigned", "edit_any", "set_status", "resolve", "import", "assign", "run_jobs", "export"
]
RIGHTS: tuple[Right, ...] = get_args(Right)

ROLE_RIGHTS: dict[Role, frozenset[Right]] = {
    "annotator": frozenset({"edit_assigned"}),
    "reviewer": frozenset({"edit_assigned", "edit_any", "set_status", "resolve"}),
    "admin": frozenset(RIGHTS),
}

PageName = Literal["data", "summarize", "review", "agreement", "export", "inference", "evaluate"]
PAGE_RIGHTS: dict[PageName, Right | None] = {
    "data": "import",
    "summarize": "run_jobs",
    "review": None,
    "agreement": "resolve",  # every annotator's labels side by side, and the resolutions
    "export": "export",
    "inference": "run_jobs",  # starts jobs, corrects a run's predictions and picks the submission's run
    "evaluate": None,
}
"""The right a page needs to be shown (None: every signed-in person), keyed by its file in pages/."""

_ROLE_NAMES: dict[Role, str] = {"annotator": N_("annotator"), "reviewer": N_("reviewer"), "admin": N_("admin")}


def role_name(role: Role) -> str:
    """A role in the current language, as the app's sidebar shows it."""
    return translate(_ROLE_NAMES[role])


@dataclass(frozen=True)
class Person:
    """Who works in a session: the name history records, and their role.

    `team` is False in single-user mode, where there is no sign-in and every right."""

    name: str
    role: Role
    team: bool = True


def single_user(name: str) -> Person:
    """The one person of a project without users: every right, no sign-in."""
    return Person(name, "admin", team=False)


def may(person: Person, right: Right) -> bool:
    """Whether `person` has `right` (in single-user mode, always)."""
    return not person.team or right in ROLE_RIGHTS[person.role]


def pages_for(person: Person) -> list[PageName]:
    """The pages `person` sees, in the app's order."""
    return [page for page, right in PAGE_RIGHTS.items() if right is None or may(person, right)]


Assigned = Collection[int] | Callable[[int], bool]
"""An annotator's assignments: the ids of the records assigned to them, or a test on a record id."""


def may_edit_record(person: Person, record_id: int, assigned: Assigned) -> bool:
    """Whether `person` may edit a record: a reviewer or an admin any, an annotator those assigned to them.

    `assigned` describes the person's own assignments (from `assignments(record_id, annotator)`);
    it is only consulted for an annotator."""
    if may(person, "edit_any"):
        return True
    if not may(person, "edit_assigned"):
        return False
    return assigned(record_id) if callable(assigned) else record_id in assigned
