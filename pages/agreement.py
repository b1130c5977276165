"""Agreement: how often two annotators label alike, where they differ, and the reviewer's resolution."""

import pandas as pd
import streamlit as st

from pages.identity import current_user
from pages.language import _, column_labels, ngettext
from pages.resources import project_store
from pages.unsaved_edits import save_in_callback
from roleext.agreement import agreement
from roleext.io import SPLITS
from roleext.markup import escape_markdown
from roleext.resolution import Disagreement, disagreement_rows, disagreements, resolve, unresolved_first
from roleext.schema import value_text

SHOWN = 30  # disagreements given a resolution control at once: the unresolved first

store = project_store()
st.title(_("Agreement"))
split = st.radio(_("Split"), SPLITS, horizontal=True, key="agreement_split")
report = agreement(store, split)
if not report.records:
    st.info(_("No {split} record has been labelled by two annotators yet: assign records with an overlap "
              "(`roleext assign --overlap 0.2`) and label them on the Review page, or import a teammate's labels "
              "(`roleext import FILE --as NAME`).").format(split=split))
    st.stop()

st.caption(ngettext("{n} record labelled by two annotators; kappa for the closed fields, overall the mean of theirs.",
                    "{n} records labelled by two annotators; kappa for the closed fields, overall the mean of theirs.",
                    report.records).format(n=report.records))
st.dataframe(pd.DataFrame(report.rows()), hide_index=True, width="stretch", column_config=column_labels())

items = unresolved_first(disagreements(store, split))
left = sum(d.resolution is None for d in items)
st.subheader(_("Disagreements"))
st.caption(_("{left} of {total} unresolved. Until a field is resolved, exports use the first annotator's "
             "value (the first assigned to the record).").format(left=left, total=len(items)))
if not items:
    st.stop()
st.dataframe(pd.DataFrame(disagreement_rows(items)), hide_index=True, width="stretch",
             column_config=column_labels())


def save(item: Disagreement, key: str) -> None:
    choice = st.session_state[f"{key}_choice"]
    resolve(store, item.cell.record_id, item.cell.customer, item.cell.field, choice,
            st.session_state.get(f"{key}_text", ""), current_user(), seen=(item.cell.a, item.cell.b))
    st.toast(_("Resolved {field} of {split} record {index}.").format(
        field=item.cell.field, split=item.cell.split, index=item.cell.index), icon=":material/done:")


for item in items[:SHOWN]:
    cell = item.cell
    key = f"resolve_{cell.record_id}_{cell.customer}_{cell.field}"
    with st.container(border=True):
        st.markdown(escape_markdown(_("{split} record {index}, customer {customer}: {field}").format(
            split=cell.split, index=cell.index, customer=cell.customer, field=cell.field)))
        sides = {"first": f"{cell.first}: {value_text(cell.a)}", "second": f"{cell.second}: {value_text(cell.b)}",
                 "edit": _("Edit")}
        # Nothing is preselected: a stray Save must not settle a field on a side nobody chose.
        default = item.resolution.choice if item.resolution and item.resolution.choice in sides else None
        choice = st.radio(_("Resolution"), list(sides), format_func=sides.__getitem__, key=f"{key}_choice",
                          index=None if default is None else list(sides).index(default), horizontal=True)
        if choice == "edit":
            st.text_input(_("Value (list items separated by 、)"), key=f"{key}_text",
                          value=value_text(item.resolution.value, "") if item.resolution else "")
        if item.resolution is not None:
            st.caption(_("Resolved by {reviewer}: {value}").format(reviewer=item.resolution.reviewer,
                                                                   value=value_text(item.resolution.value)))
        elif item.outdated is not None:
            st.caption(_("{reviewer} resolved it as {value}, but the labels changed since: resolve it again.").format(
                reviewer=item.outdated.reviewer, value=value_text(item.outdated.value)))
        st.button(_("Save"), key=f"{key}_save", on_click=save_in_callback, args=(lambda i=item, k=key: save(i, k),),
                  disabled=choice is None)
if len(items) > SHOWN:
    st.caption(_("Showing the first {shown} of {total}: resolve these, and the next ones appear.").format(
        shown=SHOWN, total=len(items)))
