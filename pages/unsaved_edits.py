"""Saves made from widget callbacks, and the text a conflict kept out of the database.

A callback runs before the page draws, so what it says must outlive that run: a refusal is
a toast; a conflict keeps the person's unsaved text in the session, shown until dismissed.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from pages.language import _
from roleext.errors import RoleextError
from roleext.markup import escape_markdown
from roleext.review import UnsavedEdit, UnsavedEditConflict

_UNSAVED = "_unsaved"


def _unsaved() -> list[UnsavedEdit]:
    edits: list[UnsavedEdit] = st.session_state.setdefault(_UNSAVED, [])
    return edits


def save_in_callback(action: Callable[[], object]) -> None:
    """Run a save from a widget callback; a refusal is a toast, a conflict keeps the text (`show_unsaved`)."""
    try:
        action()
    except UnsavedEditConflict as exc:
        _unsaved().append(exc.unsaved)
    except RoleextError as exc:
        st.toast(escape_markdown(str(exc)), icon=":material/error:", duration="long")


def show_unsaved() -> None:
    """Every unsaved text with its conflict, each with Dismiss."""
    unsaved = _unsaved()

    def dismiss(position: int) -> None:
        del unsaved[position]

    for position, edit in enumerate(unsaved):
        with st.container(border=True):
            st.error(edit.message)  # our own words and numbers only; the text goes in the code box
            st.code(edit.text, language="json" if edit.target == "gold" else None, wrap_lines=True)
            st.button(_("Dismiss"), key=f"_unsaved_dismiss_{position}_{id(edit)}", on_click=dismiss,
                      args=(position,))
