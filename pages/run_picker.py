"""Which inference run a page shows: the run picker of Inference and Evaluate, and a run's name."""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from pages.language import _
from pages.session_settings import relabelled
from roleext.runs import Run


def run_label(run: Run) -> str:
    """One line naming a run: number, backend and model, when it started, usable records."""
    return run.label() + (_(" · chosen for the submission") if run.chosen else "")


def run_picker(label: str, runs: Sequence[Run], key: str, default: int | None) -> int:
    """A select box of the runs; it goes back to `default` whenever the split gains or loses a
    run, so a run that just started shows without a click. Its label follows the language and
    the run's growing record count."""
    ids = [run.id for run in runs]
    seen = f"{key}_runs"
    if st.session_state.get(seen) != ids or st.session_state.get(key) not in ids:
        st.session_state[key] = default if default in ids else ids[0]
        st.session_state[seen] = ids
    labels = {run.id: run_label(run) for run in runs}
    chosen: int = st.selectbox(label, ids, format_func=labels.__getitem__,
                               key=relabelled(key, labels[st.session_state[key]]))
    return chosen
