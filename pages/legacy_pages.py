"""The one workaround that reaches into Streamlit's private API: leaving legacy pages mode.

Streamlit treats a folder named pages/ as a legacy multipage app until the entry script has
called st.navigation; a first request straight to /review (a bookmark, after a restart) would
run that page alone and list every file of pages/ (this one, resources.py...) as a page.
"""

from __future__ import annotations

import streamlit as st


def leave_legacy_pages_mode() -> None:
    """Run every page through app.py's st.navigation, even on a server's very first request.

    Leaving that mode and rerunning lets app.py resolve the same URL."""
    from streamlit.runtime.pages_manager import PagesManager  # private: no public switch exists

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()
