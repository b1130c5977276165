"""The offline rules on the Evaluate page: how each did on this split's gold, and its switch.

A switch is the project's setting (stored in its database): the next offline inference job,
from the app or the command line, leaves the rules switched off out and redoes its records.
"""

import pandas as pd
import streamlit as st

from pages.identity import current_person
from pages.language import _, column_labels
from roleext.i18n import translate
from roleext.io import Split
from roleext.roles import may
from roleext.rule_report import stats_rows, store_rule_report
from roleext.store import ProjectStore


def _switch(store: ProjectStore, name: str, key: str) -> None:
    if may(current_person(), "run_jobs"):  # checked again: the box is disabled for others anyway
        store.set_rule_enabled(name, bool(st.session_state[key]))


def rule_panel(store: ProjectStore, split: Split) -> None:
    """Per rule: fired, right, precision, points over the prior; a checkbox switches it for the project."""
    stats = store_rule_report(store, split, store.disabled_rules())
    if stats is None:
        return
    st.subheader(_("Offline rules"))
    st.caption(_("How each rule of the offline backend does on this split's gold, measured as if on. "
                 "A wrong value costs what an empty one earns: a rule earns its place by precision. "
                 "Switching a rule off applies to this project's next offline inference job."))
    # The switches steer every later inference job of the project: whoever runs jobs sets them.
    switches = may(current_person(), "run_jobs")
    if not switches:
        st.caption(_("An admin switches the rules: they decide what the project's next inference job does."))
    for s in stats:
        key = f"rule_switch_{s.rule.name}"
        st.session_state[key] = s.enabled  # the stored switch, even if another tab changed it
        st.checkbox(f"`{s.rule.name}` ({s.rule.field}: {translate(s.rule.fills)})", key=key, disabled=not switches,
                    on_change=_switch, args=(store, s.rule.name, key), help=translate(s.rule.why))
    # A static table: small, and it keeps the page's interactive grids (the wrong fields) its last.
    labels = column_labels()
    table = pd.DataFrame(stats_rows(stats))
    table["on"] = table["on"].map({True: _("on"), False: _("off")})  # st.table writes a bool as true / false
    table = table.set_index("rule").rename(columns=lambda c: labels.get(c) or c)
    table.index.name = labels["rule"]
    st.table(table)
