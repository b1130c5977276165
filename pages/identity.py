"""Who is working in this browser session: the name every edit and status is saved under, and their role.

Single-user mode (no users in the project) has no sign-in: the author is the machine's user
(ROLEEXT_USER, else the login name), with every right. Team mode (`roleext users add`) asks
for a sign-in before any page: a name and password form, or the OIDC provider configured in
secrets.toml (`st.login`). What each role may do is `roleext.roles`; this module only asks.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import streamlit as st

from pages.language import _
from pages.resources import app_secrets, project_store
from roleext.errors import SignInError
from roleext.markup import escape_markdown
from roleext.roles import Person, Role, role_name, single_user
from roleext.store import default_author
from roleext.users import UserBook, oidc_missing, oidc_providers, oidc_user_name

PERSON_KEY = "signed_in_person"


def current_person() -> Person:
    """Who works in this session: the signed-in person, else (single-user mode) the machine's user."""
    person = st.session_state.get(PERSON_KEY)
    return person if isinstance(person, Person) else single_user(default_author())


def current_user() -> str:
    """The name the history and the annotations carry for this session."""
    return current_person().name


def current_role() -> Role:
    """The role of this session's person (admin in single-user mode: every right)."""
    return current_person().role


def signed_in() -> Person | None:
    """Who works in this session; None when the sign-in is on screen instead (team mode, nobody
    signed in yet). app.py calls this before any page and runs none for None."""
    book = UserBook(project_store())
    if not book.team_mode():
        st.session_state.pop(PERSON_KEY, None)
        return current_person()
    auth = app_secrets().get("auth")
    person = _oidc_person(book, auth) if isinstance(auth, Mapping) else _password_person(book)
    if person is None:
        return None
    st.session_state[PERSON_KEY] = person
    with st.sidebar:
        st.caption(_("Signed in as {name} · {role}").format(name=escape_markdown(person.name),
                                                             role=role_name(person.role)))
        if st.button(_("Sign out"), key="sign_out"):
            st.session_state.pop(PERSON_KEY, None)
            if isinstance(auth, Mapping):
                st.logout()
            st.rerun()
    return person


def _password_person(book: UserBook) -> Person | None:
    """The person signed in with the form, checked again on every run: a user removed or given
    another role since is signed out, or works under the new role, at once."""
    kept = st.session_state.get(PERSON_KEY)
    if isinstance(kept, Person) and kept.team:
        user = book.get(kept.name)
        if user is not None:
            return user.person()
        st.session_state.pop(PERSON_KEY, None)
        st.warning(_("{name} is no longer a user of this project.").format(name=escape_markdown(kept.name)))
    st.title(_("Sign in"))
    st.caption(_("This project has a team: sign in with the name and password an admin gave you."))
    with st.form("sign_in"):
        # What password managers look for: a sign-in's name and current password.
        name = st.text_input(_("Name"), key="sign_in_name", autocomplete="username")
        password = st.text_input(_("Password"), type="password", key="sign_in_password",
                                 autocomplete="current-password")
        submitted = st.form_submit_button(_("Sign in"), type="primary")
    if submitted:
        try:
            user = book.verify(name, password)
        except SignInError:
            st.error(_("Wrong name or password. Try again, or ask an admin to set a new password "
                       "(roleext users passwd NAME)."))
        else:
            st.session_state[PERSON_KEY] = user.person()
            st.rerun()
    return None


def _oidc_person(book: UserBook, auth: Mapping[str, Any]) -> Person | None:
    """The person the OIDC provider signed in (`st.login`), as the roleext user of their verified e-mail."""
    st.session_state.pop(PERSON_KEY, None)
    if not st.user.is_logged_in:
        st.title(_("Sign in"))
        missing = oidc_missing()
        if missing:
            st.error(escape_markdown(missing))
            return None
        for provider in oidc_providers(auth):
            label = _("Sign in with {provider}").format(provider=provider) if provider else _("Sign in")
            st.button(label, type="primary", on_click=st.login, args=(provider,) if provider else ())
        return None
    email = oidc_user_name(st.user.to_dict())
    user = book.get(email) if email is not None else None
    if user is None:
        if email is None:
            st.error(_("The sign-in provider gave no verified e-mail address, and roleext knows its users by "
                       "their e-mail: sign in with an account that has one."))
        else:
            st.error(_("{who} is not a user of this project. An admin adds them with: roleext users add {who} "
                       "--role annotator --no-password").format(who=escape_markdown(email)))
        st.button(_("Sign out"), on_click=st.logout)
        return None
    return user.person()
