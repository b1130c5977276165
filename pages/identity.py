"""Who is working in this browser session: the name every edit and status is saved under.

Single-user mode (no users in the project) has no sign-in: the author is the machine's user
(ROLEEXT_USER, else the login name), with every right. Team mode replaces this with the
signed-in user and their role.
"""

from __future__ import annotations

from roleext.store import default_author


def current_user() -> str:
    """The name the history and the annotations carry for this session."""
    return default_author()
