"""Review: the chat, the editable summary and the editable gold side by side; saved at once."""

import pandas as pd
import streamlit as st

from pages.common import customers_editor, flash, project_store, save_or_flash, show_flashes
from roleext.chatview import chat_html
from roleext.exports import MAX_ROW_CHARS
from roleext.markup import escape_markdown
from roleext.project import ReviewStatus
from roleext.review import RecordFilter, filter_records, next_unreviewed, record_warnings, undo_last_edit
from roleext.support import gold_values

store = project_store()
st.title("Review")
show_flashes()

with st.sidebar:
    st.subheader("Records")
    split = st.selectbox("Split", ["train", "test"], key="review_split")
    statuses = st.multiselect("Status", list(ReviewStatus), format_func=lambda s: s.value, key="review_status")
    text = st.text_input("Search chat, gold and summary", key="review_search")
    warnings_only = st.checkbox("Only records with warnings", key="review_warnings")

infos = filter_records(store, RecordFilter(split, tuple(statuses), text, warnings_only))
if not infos:
    st.info("No record matches: import data on the Data page, or loosen the filters.")
    st.stop()

target = st.session_state.pop("review_target", None)  # set by "Next" or by the Evaluate page
if target is not None:
    st.session_state["review_record"] = target
if st.session_state.get("review_record") not in [i.index for i in infos]:
    st.session_state["review_record"] = infos[0].index
by_index = {i.index: i for i in infos}
with st.sidebar:
    index = st.selectbox("Record", list(by_index), key="review_record",
                         format_func=lambda n: f"{split} {n} · {by_index[n].status.value}")
    done = sum(i.status == ReviewStatus.ACCEPTED for i in infos)
    st.caption(f"{done} of {len(infos)} accepted")


def go_next() -> None:
    upcoming = next_unreviewed(infos, by_index[index])
    if upcoming is None:
        flash("success", "Every record in this list is reviewed.")
    else:
        st.session_state["review_target"] = upcoming.index


record = store.get_record(split, index)


def set_status(status: ReviewStatus) -> None:
    saved = save_or_flash(lambda: store.set_status(record.id, status, record.version))
    if saved and status != ReviewStatus.NEEDS_FIX:
        go_next()


buttons = st.columns(5)
buttons[0].button("Accept", type="primary", shortcut="Alt+A", on_click=set_status, args=(ReviewStatus.ACCEPTED,))
buttons[1].button("Needs fix", shortcut="Alt+F", on_click=set_status, args=(ReviewStatus.NEEDS_FIX,))
buttons[2].button("Reject", shortcut="Alt+X", on_click=set_status, args=(ReviewStatus.REJECTED,))
buttons[3].button("Next unreviewed", shortcut="Alt+N", on_click=go_next)
buttons[4].markdown(f"**{record.status.value}**")

chat_column, edit_column = st.columns([1.1, 1])
with chat_column:
    st.caption(f"Chat: {len(record.chat_text):,} characters; gold values are highlighted")
    with st.container(height=640):
        st.html(chat_html(record.chat_text, (v.value for v in gold_values(record.gold))))

with edit_column:
    if record.summary is None:
        st.info("No summary yet: run the Summarize page for this split.")
    else:
        summary = record.summary

        def save_summary() -> None:
            text = st.session_state[f"summary_{record.id}_{summary.version}"]
            save_or_flash(lambda: store.edit_summary(record.id, text, summary.version))

        if summary.stale:
            st.warning("This summary was written for an earlier version of the chat (a re-import changed "
                       "it): summarize again, or edit it. Exports leave it out until then.")
        st.text_area("Summary (saved when you leave the box)", summary.current, height=260,
                     key=f"summary_{record.id}_{summary.version}", on_change=save_summary)
        made_by = escape_markdown(f"{summary.backend} {summary.model}")
        st.caption(f"{len(summary.current):,} / {MAX_ROW_CHARS:,} characters · {made_by}")

    warnings = record_warnings(record)
    if warnings:
        with st.expander(f"{len(warnings)} warnings", expanded=True):
            st.markdown("\n".join(f"- {escape_markdown(str(w))}" for w in warnings))

    st.subheader("Gold customers")
    customers_editor(record.gold, f"gold_{record.id}_{record.version}",
                     lambda customers: store.update_gold(record.id, customers, record.version))

    history = store.history_of(record.id)
    with st.expander(f"History ({len(history)} edits)"):
        if history:
            st.dataframe(pd.DataFrame([{"when": h.at, "who": h.author, "what": h.target} for h in history]),
                         hide_index=True)

            def undo() -> None:
                save_or_flash(lambda: flash("info", undo_last_edit(store, store.get_record(split, index))))

            st.button("Undo the last edit", on_click=undo)
