"""Review's "my queue" in the sidebar: the records assigned to whoever works in this session.

Drawn only in team mode (some record is assigned); a single-user project sees nothing of it.
"Next in my queue" opens the next record not yet labelled through the URL (?split=&record=),
as any link to a record does.
"""

from __future__ import annotations

import streamlit as st

from pages.identity import current_person, current_user
from pages.language import _
from roleext.assignments import has_assignments, next_in_queue, progress, queue
from roleext.review import RecordAddress
from roleext.roles import may
from roleext.store import ProjectStore


def queue_start(store: ProjectStore) -> RecordAddress | None:
    """Where an annotator's Review opens when nothing names a record: the next one in their
    queue, not the split's first pending record (most likely someone else's)."""
    person = current_person()
    if may(person, "edit_any") or not has_assignments(store):
        return None
    upcoming = next_in_queue(queue(store, person.name))
    return None if upcoming is None else RecordAddress(upcoming.split, upcoming.index)


def my_queue(store: ProjectStore) -> None:
    """The signed-in user's queue, everyone's progress, and a jump to the next record to label."""
    if not has_assignments(store):
        return
    user = current_user()
    items = queue(store, user)
    st.subheader(_("My queue"))
    if not items:
        st.caption(_("Nothing is assigned to {user}.").format(user=user))
    else:
        done = sum(item.done for item in items)
        st.progress(done / len(items), text=_("{user}: {done} of {total} labelled").format(
            user=user, done=done, total=len(items)))
        here = st.session_state.get("review_address")
        current = (here.split, here.index) if isinstance(here, RecordAddress) else None
        upcoming = next_in_queue(items, current)

        def jump() -> None:
            if upcoming is not None:
                st.query_params.from_dict(RecordAddress(upcoming.split, upcoming.index).query())

        st.button(_("Next in my queue") if upcoming else _("Every record in your queue is labelled"),
                  disabled=upcoming is None, on_click=jump, key="my_queue_next", width="stretch")
    with st.expander(_("Progress per annotator")):
        for row in progress(store):
            st.caption(_("{annotator}: {done} of {assigned} labelled").format(
                annotator=row.annotator, done=row.done, assigned=row.assigned))
