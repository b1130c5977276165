"""Review: the chat, the editable summary and the editable gold side by side; saved at once."""

import pandas as pd
import streamlit as st

from pages.common import (
    commit_typing_on_shortcuts,
    customers_editor,
    customers_in_form,
    flash,
    project_store,
    save_or_flash,
    show_flashes,
)
from roleext.chatview import chat_html
from roleext.exports import row_length
from roleext.markup import escape_markdown, plural
from roleext.project import ReviewStatus
from roleext.review import (
    FormValues,
    RecordEditor,
    RecordFilter,
    filter_records,
    history_rows,
    next_undo,
    next_unreviewed,
    record_warnings,
)
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


record = store.get_record(split, index)
editor = st.session_state.get("review_editor")
if editor is None or editor.record.id != record.id:
    editor = st.session_state["review_editor"] = RecordEditor(store, record)
else:
    editor.seen(record)
summary_key = f"summary_{record.id}_{record.summary.version}" if record.summary else None
gold_key = f"gold_{record.id}_{record.version}"


def in_form() -> FormValues:
    """What the boxes hold now, typed but not yet saved included."""
    summary = None if record.summary is None else st.session_state.get(summary_key, record.summary.current)
    return FormValues(summary, customers_in_form(gold_key, record.gold))


def go_next() -> None:
    editor.save(in_form())
    upcoming = next_unreviewed(infos, by_index[index])
    if upcoming is None:
        flash("success", "Every record in this list is reviewed.")
    else:
        st.session_state["review_target"] = upcoming.index


def undo() -> None:
    editor.save(in_form())  # text typed before the click is the newest edit, so the one undone
    flash("info", escape_markdown(editor.undo()))


def set_status(status: ReviewStatus) -> None:
    editor.set_status(status, in_form())
    if status != ReviewStatus.NEEDS_FIX:
        go_next()


SHORTCUTS = {"accept": "Alt+A", "fix": "Alt+F", "reject": "Alt+X", "next": "Alt+N"}
buttons = st.columns(5)
buttons[0].button("Accept", type="primary", shortcut=SHORTCUTS["accept"], on_click=save_or_flash,
                  args=(lambda: set_status(ReviewStatus.ACCEPTED),))
buttons[1].button("Needs fix", shortcut=SHORTCUTS["fix"], on_click=save_or_flash,
                  args=(lambda: set_status(ReviewStatus.NEEDS_FIX),))
buttons[2].button("Reject", shortcut=SHORTCUTS["reject"], on_click=save_or_flash,
                  args=(lambda: set_status(ReviewStatus.REJECTED),))
buttons[3].button("Next unreviewed", shortcut=SHORTCUTS["next"], on_click=save_or_flash, args=(go_next,))
buttons[4].markdown(f"**{record.status.value}**")
with st.sidebar:
    commit_typing_on_shortcuts(list(SHORTCUTS.values()))

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
        if summary.stale:
            st.warning("This summary was written for an earlier version of the chat (a re-import changed "
                       "it): summarize again, or edit it. Exports leave it out until then.")
        st.text_area("Summary (saved when you leave the box)", summary.current, height=260, key=summary_key,
                     on_change=save_or_flash, args=(lambda: editor.save(in_form()),))
        made_by = escape_markdown(f"{summary.backend} {summary.model}")
        st.caption(f"{row_length(record, summary.current)} · {made_by}")

    warnings = record_warnings(record)
    if warnings:
        with st.expander(plural(len(warnings), "warning"), expanded=True):
            st.markdown("\n".join(f"- {escape_markdown(str(w))}" for w in warnings))

    st.subheader("Gold customers")
    customers_editor(record.gold, gold_key, lambda customers: editor.save(FormValues(gold=customers)))

history = store.history_of(record.id)
with st.expander(f"History ({plural(len(history), 'edit')})"):
    if history:
        st.dataframe(pd.DataFrame(history_rows(history)), hide_index=True, width="stretch")
    undoable = next_undo(history)
    if undoable is not None:
        st.button(f"Undo #{undoable.id}, the {undoable.target} edit of {undoable.at:%H:%M:%S}",
                  on_click=save_or_flash, args=(undo,))
