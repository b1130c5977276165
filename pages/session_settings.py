"""Settings a user made on a page, kept for the session when they visit another page and back.

Streamlit forgets the state of a widget that a run does not draw, so going Summarize → Data
→ Summarize reset the backend, the URL and the typed keys. Each kept widget's value is also
copied into a plain session entry, which no page change drops, and handed back to the
widget when Streamlit has forgotten it. Typed keys stay in this session like any value here;
nothing in this module logs or stores anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import streamlit as st

_KEPT = "_kept_settings"
_SHOWN_TABS = "_shown_tab_labels"
LANGUAGE_SWITCHED = "_language_switched_this_run"
"""True in the run a language switch started (pages.language.language_switch)."""
_DRAWN_LABELS = "_choice_labels_drawn"
"""The label each `relabelled` choice was last drawn with, by key."""


def _kept() -> dict[str, Any]:
    kept: dict[str, Any] = st.session_state.setdefault(_KEPT, {})
    return kept


def keep_settings() -> None:
    """Copy every kept widget's current value aside; app.py calls it first on every run, so a
    value the user set just before leaving the page is kept too."""
    kept = _kept()
    for key in kept:
        if key in st.session_state:
            kept[key] = st.session_state[key]


def kept(key: str, default: Any) -> str:
    """The widget key `key`, its value restored if Streamlit forgot it (else `default`).

    Pass no value, index or default to the widget itself: its value comes from here."""
    values = _kept()
    if key in st.session_state:
        values[key] = st.session_state[key]
    else:
        st.session_state[key] = values.setdefault(key, default)
    return key


def kept_choice(key: str, default: Any) -> str:
    """`kept`, for a radio, select box or segmented control whose choices are shown in the
    session's language. In the run a language switch starts it is handed its value again:
    Streamlit 1.67 keys these widgets by their key alone, and its browser side showed a radio
    with none chosen, or a select box with its old label, until the next click (the value was
    kept). Choices only: a text box handed its value would drop what was typed meanwhile.

    The switch is noted by full runs (`pages.language.language_switch`); call this in a full
    run, not in a fragment."""
    kept(key, default)
    if st.session_state.get(LANGUAGE_SWITCHED):
        st.session_state[key] = st.session_state[key]
    return key


def relabelled(key: str, label: str | None) -> str:
    """The choice widget `key`, handed its value again when that value's label (`label`) is not
    the one the browser drew last: Streamlit 1.67 keys these widgets by their key alone, and
    its browser side kept the label it drew after a language switch (as `kept_choice` says) or
    while a run's record count grew. For a choice this module does not keep across pages.

    Only for a widget given no index or default, which Streamlit would report as set twice,
    and no None among its options: a radio handed None again shows none chosen."""
    drawn: dict[str, str | None] = st.session_state.setdefault(_DRAWN_LABELS, {})
    if key in st.session_state and drawn.get(key, label) != label:
        st.session_state[key] = st.session_state[key]
    drawn[key] = label
    return key


def kept_tabs(key: str, labels: Mapping[str, str]) -> dict[str, Any]:
    """Tabs by id (`labels` maps each id to its label), the open one kept across a language switch.

    Streamlit remembers the open tab by its label, and a label changes with the language: a
    switch to 中文 reopened the first tab. The labels of the last run are kept, so the open
    tab is found by id and handed back under its label in the current language. Only the open
    tab's body needs to run (`tab.open`)."""
    shown: dict[str, dict[str, str]] = st.session_state.setdefault(_SHOWN_TABS, {})
    label = st.session_state.get(key)
    if label not in labels.values():
        before = shown.get(key, {})
        opened = next((tab for tab, old in before.items() if old == label and tab in labels), None)
        if opened is not None:
            st.session_state[key] = labels[opened]
    shown[key] = dict(labels)
    return dict(zip(labels, st.tabs(list(labels.values()), key=key, on_change="rerun"), strict=True))
