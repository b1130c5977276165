"""The language of this session: the browser's at first, then the sidebar switch's.

Pages write `_("English text")` and `ngettext("one", "many", n)`; each call looks up this
session's language, so a switch applies from the next run. roleext's own messages follow the
same language (`set_language_source` below). Widget keys never depend on the
language, so switching keeps every value the user set.
"""

from __future__ import annotations

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from pages.session_settings import LANGUAGE_SWITCHED, kept
from roleext.i18n import LANGUAGE_NAMES, LANGUAGES, Language, language_of, set_language_source, translator

LANGUAGE_KEY = "language"
_LANGUAGE_OF_LAST_RUN = "_language_of_last_run"


def session_language() -> Language:
    """The language chosen in this session, else the browser's (`st.context.locale`)."""
    chosen = st.session_state.get(LANGUAGE_KEY)
    return next((language for language in LANGUAGES if language == chosen), None) or language_of(st.context.locale)


def _language_in_a_session() -> Language | None:
    """The session's language on a thread that runs this session's script, callbacks or fragments.

    Other threads (a job's, a test's) have no session: None, and roleext speaks English or the
    language it was given. `get_script_run_ctx` is how Streamlit itself tells the two apart; it
    lives outside `st.`, so it is used here only."""
    return session_language() if get_script_run_ctx(suppress_warning=True) is not None else None


# Messages of roleext's core (file problems, job lines, reports) follow the session too: a
# callback or a fragment rerun runs on a fresh thread that never passes through app.py.
set_language_source(_language_in_a_session)


def _(message: str) -> str:
    """`message` in this session's language."""
    return translator(session_language()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The singular or plural form for `n`, in this session's language."""
    return translator(session_language()).ngettext(singular, plural, n)


def language_switch() -> None:
    """The sidebar's 中文 / English switch, kept for the session; app.py draws it before any page.

    It notes whether this run is the one a switch started: the kept choice widgets are then
    handed their values again (`pages.session_settings.kept_choice`)."""
    language = st.sidebar.segmented_control("语言 / Language", LANGUAGES, key=kept(LANGUAGE_KEY, session_language()),
                                            format_func=LANGUAGE_NAMES.__getitem__, label_visibility="collapsed",
                                            required=True)
    last = st.session_state.get(_LANGUAGE_OF_LAST_RUN)
    st.session_state[LANGUAGE_SWITCHED] = last is not None and last != language
    st.session_state[_LANGUAGE_OF_LAST_RUN] = language


def column_labels() -> dict[str, str | None]:
    """Headers for the columns of roleext's tables (`st.dataframe(..., column_config=column_labels())`).

    The rows keep their English keys, which code and tests read; only what the table shows changes."""
    return {"record": _("record"), "customer": _("customer"), "field": _("field"), "gold": _("gold"),
            "predicted": _("predicted"), "prediction": _("prediction"), "earned": _("earned"), "of": _("of"),
            "weight": _("weight"), "accuracy": _("accuracy"), "wrong": _("wrong"), "points": _("points"),
            "characters": _("characters"), "status": _("status"), "what was done": _("what was done"),
            "error": _("error"), "when": _("when"), "who": _("who"), "what": _("what"), "before": _("before"),
            "after": _("after"), "on": _("on"), "rule": _("rule"), "fills": _("fills"), "fired": _("fired"),
            "right": _("right"), "precision": _("precision"), "points per record": _("points per record"),
            "why": _("why"), "agreement": _("agreement"), "kappa": _("kappa"), "first": _("first annotator"),
            "second": _("second annotator"), "resolved": _("resolved")}


