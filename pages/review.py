"""Review: the chat, the editable summary and the editable gold side by side; saved at once."""

import json
from collections.abc import Callable

import pandas as pd
import streamlit as st

from pages.customers_editor import customers_editor, customers_in_form
from pages.identity import current_person
from pages.language import _, column_labels, ngettext
from pages.my_queue import my_queue, queue_start
from pages.record_panes import chat_pane
from pages.resources import project_store
from pages.shortcuts import commit_typing_on_shortcuts
from pages.unsaved_edits import save_in_callback, show_unsaved
from roleext.assignments import has_assignments
from roleext.chatview import chat_view
from roleext.evaluation import compare_prediction, comparison_rows, wrong_fields_line
from roleext.exports import row_length
from roleext.io import SPLITS
from roleext.labels import record_label, status_name
from roleext.markup import escape_markdown
from roleext.project import Record, ReviewStatus
from roleext.record_list import PAGE_SIZE, RecordFilter, RecordList, list_version
from roleext.review import (
    FormValues,
    RecordAddress,
    RecordEditor,
    history_rows,
    next_undo,
    record_address,
    record_warnings,
    target_name,
)
from roleext.support import gold_values

WRONG_STYLE = "background-color: rgba(255, 75, 75, 0.18)"


store = project_store()
st.title(_("Review"))

# The URL names the record (?split=train&record=19): a bookmark, a shared link, the back button
# and the Evaluate page all open a record through it. It wins only when it changed since this
# session last wrote it; otherwise the widgets below decide and the URL follows them.
last = st.session_state.get("review_address")
wanted = record_address(st.query_params.to_dict())
if wanted is None and {"split", "record"} & set(st.query_params):  # once: the page writes a valid one below
    st.warning(_("This address names no record: it takes a split and a record number, such as "
                 "?split=train&record=19."))
if wanted is None and last is None:
    wanted = queue_start(store)  # an annotator's first visit opens their queue, not the split's first record
if wanted is not None and wanted != last:
    st.session_state["review_split"] = wanted.split
    st.session_state["review_target"] = wanted.index
    shown = RecordFilter(wanted.split, tuple(st.session_state.get("review_status", ())),
                         st.session_state.get("review_search", ""), st.session_state.get("review_warnings", False))
    if RecordList(store, shown).get(wanted.index) is None:
        st.session_state.update(review_status=[], review_search="", review_warnings=False)
elif last is not None and "review_split" not in st.session_state:
    st.session_state["review_split"] = last.split  # back from another page: where the reviewer was

with st.sidebar:
    my_queue(store)  # team mode only: the signed-in user's records and progress (pages.my_queue)
    st.subheader(_("Records"))
    split = st.selectbox(_("Split"), SPLITS, key="review_split")
    statuses = st.multiselect(_("Status"), list(ReviewStatus), format_func=status_name, key="review_status",
                              placeholder=_("Choose options"))
    text = st.text_input(_("Search chat, gold and summary"), key="review_search")
    if text.strip() and (joining := store.waiting_for_index()):
        st.caption(ngettext("{n} record just imported is still joining the search index: it is searched "
                            "more slowly until then", "{n} records just imported are still joining the search "
                            "index: they are searched more slowly until then", joining).format(n=joining))
    warnings_only = st.checkbox(_("Only records with warnings"), key="review_warnings")


@st.cache_data(max_entries=100, show_spinner=False)
def status_counts(url: str, split: str, statuses: tuple[ReviewStatus, ...], warnings_only: bool,
                  version: tuple[str, int], _records: RecordList) -> dict[ReviewStatus, int]:
    """The list's counts, kept while no record is written (`version`): counting reads the whole
    split's index, the one part of a rerun that grew with the project. A search's counts are
    made afresh, since a summary's edit changes them too."""
    return _records.counts()


def show_prediction(record: Record) -> None:
    """The model's answer beside the gold, the fields it got wrong highlighted (on from Evaluate)."""
    if record.prediction is None:
        return
    if not st.toggle(_("Show the prediction beside the gold"), key="review_show_prediction"):
        return
    comparisons = compare_prediction(record)
    if not comparisons:
        st.caption(_("This record has no gold to compare the prediction with."))
        st.code(json.dumps(record.prediction.infos, ensure_ascii=False, indent=2), language="json")
        return
    wrong = sum(c.wrong for c in comparisons)
    named = escape_markdown(wrong_fields_line(comparisons))
    st.markdown(ngettext("**Prediction** ({model}): {n} wrong field", "**Prediction** ({model}): {n} wrong fields",
                         wrong).format(model=escape_markdown(record.prediction.model), n=wrong)
                + (f": {named}" if wrong else ""))
    table = pd.DataFrame(comparison_rows(comparisons))
    st.dataframe(table.style.apply(lambda row: [WRONG_STYLE if row["wrong"] else ""] * len(row), axis=1),
                 hide_index=True, width="stretch", column_config=column_labels())


def show_chat(record: Record) -> None:
    """The chat, gold values marked, in a box of its own height (pages.record_panes)."""
    st.caption(_("Chat: {n:,} characters; gold values are highlighted").format(n=len(record.chat_text)))
    chat_pane(str(record.id), chat_view(record.chat_text, (v.value for v in gold_values(record.gold))), _("Chat"))


def record_picker(records: RecordList, listing: RecordFilter) -> int | None:
    """The row above the record: page buttons, the Record box (a page of the list), Go to and the
    counts. The record it opens (None: the list is empty): the one "Next", a link or the
    Evaluate page asked for, else the one this split showed last."""
    split = listing.split
    record_key = f"review_record_{split}"  # one box a split, so it never shows the other split's record
    target = st.session_state.pop("review_target", None)  # set by "Next", a link or the Evaluate page
    places = st.session_state.setdefault("review_places", {})  # the last record of each split, kept across pages
    remembered = st.session_state.get(record_key, places.get(split))
    opened = records.opening(target if target is not None else remembered)
    if opened is None:
        st.info(_("No record matches: import data on the Data page, or loosen the filters."))
        return None
    if target is not None and opened.index != target:
        st.warning(_("There is no {split} record {target} in this list: showing {split} record {shown}.").format(
            split=split, target=target, shown=opened.index))
    st.session_state[record_key] = opened.index
    by_index = {i.index: i for i in records.page(opened.index)}

    def go_to(index: int | None) -> None:
        """Open a record by its number (the "Go to" box)."""
        if index is not None:
            st.session_state["review_target"] = index
        st.session_state["review_go_to"] = None

    def turn_page(step: int) -> None:
        """Open the record a page away; the list's end stops it (found on the click, not on every run)."""
        found = records.step(index, step)
        if found is not None:
            st.session_state["review_target"] = found.index

    with st.container(horizontal=True, vertical_alignment="bottom"):
        st.button(_("Previous page"), icon=":material/chevron_left:", on_click=turn_page, args=(-PAGE_SIZE,))
        index = st.selectbox(_("Record"), list(by_index), key=record_key, width=320,
                             format_func=lambda n: record_label(by_index[n]))
        st.button(_("Next page"), icon=":material/chevron_right:", on_click=turn_page, args=(PAGE_SIZE,))
        st.number_input(_("Go to record number"), min_value=1, step=1, value=None, key="review_go_to", width=180,
                        on_change=lambda: go_to(st.session_state.get("review_go_to")))
        counts = (status_counts(store.url, split, listing.statuses, listing.warnings_only, list_version(store), records)
                  if not listing.text.strip() else records.counts())
        st.caption(_("{done} of {total} accepted").format(done=counts[ReviewStatus.ACCEPTED],
                                                          total=sum(counts.values())))
    if listing.warnings_only:
        st.caption(_("Counts leave the warnings filter aside: counting it would read every chat."))
    places[split] = index
    return index


def history_pane(editor: RecordEditor, record: Record, undo: Callable[[], None]) -> None:
    """The record's edits, folded; Undo under them for the newest edit this person may undo."""
    full_history = store.history_of(record.id)
    history = editor.visible_history(full_history)  # an annotator never reads a teammate's labels here

    def history_toggled() -> None:
        # The label counts the edits, and a new label is a new expander: the reviewer's choice is kept apart.
        st.session_state["review_history_open"] = st.session_state.get("review_history", False)

    # Drawn only while open (Streamlit's lazy expander): a table redrawn on every "Next" cost the
    # browser as much as the chat; the label's count comes from the same small query.
    with st.expander(ngettext("History ({n} edit)", "History ({n} edits)", len(history)).format(n=len(history)),
                     expanded=st.session_state.get("review_history_open", False), key="review_history",
                     on_change=history_toggled) as history_box:
        if history_box.open:
            if history:
                st.dataframe(pd.DataFrame(history_rows(history)), hide_index=True, width="stretch",
                             column_config=column_labels())
            undoable = next_undo(full_history)
            if undoable is not None and editor.may_undo(undoable):
                st.button(_("Undo #{id}: the {time:%H:%M:%S} edit of the {target}").format(
                    id=undoable.id, target=target_name(undoable.target, undoable.run), time=undoable.at),
                          on_click=save_in_callback, args=(undo,))


SHORTCUTS = {"accept": "Alt+A", "fix": "Alt+F", "reject": "Alt+X", "next": "Alt+N"}


def record_view(listing: RecordFilter) -> None:
    """The record the list opens, its picker above it, and everything that edits it.

    A fragment in a single-user project: "Next", an edit or a status reruns this part only,
    not the sidebar and the page around it, which was a third of what the browser redrew
    after every click. In team mode the sidebar's queue shows progress this part changes, so
    the whole page runs as before.
    """
    show_unsaved()  # a conflict found by a callback of this part shows at once
    # One page of the list at a time, asked of the database (roleext.record_list): a rerun costs
    # the same with 29 records or 100,000.
    records, split = RecordList(store, listing), listing.split
    index = record_picker(records, listing)
    if index is None:
        return
    address = st.session_state["review_address"] = RecordAddress(split, index)
    if record_address(st.query_params.to_dict()) != address:
        st.query_params.from_dict(address.query())  # a new browser history entry: Back returns here

    record = store.get_record(split, index)
    kept_editor = st.session_state.get("review_editor")
    if isinstance(kept_editor, RecordEditor) and kept_editor.record.id == record.id:
        editor = kept_editor
        editor.seen(record)
    else:
        editor = st.session_state["review_editor"] = RecordEditor(store, record, person=current_person())
    record = editor.record  # in team mode its gold is this user's own labels (roleext.review.RecordEditor)
    summary_key = f"summary_{record.id}_{record.summary.version}" if record.summary else None
    gold_key = "gold"  # the boxes stay, their values follow the record (pages.customers_editor)

    def in_form() -> FormValues:
        """What the boxes hold now, typed but not yet saved included."""
        summary = (None if record.summary is None or summary_key is None
                   else st.session_state.get(summary_key, record.summary.current))
        return FormValues(summary, customers_in_form(gold_key, record.gold))

    def go_next() -> None:
        editor.save(in_form())
        upcoming = records.next_unreviewed(index)
        if upcoming is None:
            st.toast(_("Every record in this list is reviewed."), icon=":material/done_all:")
        else:
            st.session_state["review_target"] = upcoming.index

    def undo() -> None:
        editor.save(in_form())  # text typed before the click is the newest edit, so the one undone
        st.toast(escape_markdown(editor.undo()), icon=":material/undo:")

    def set_status(status: ReviewStatus) -> None:
        editor.set_status(status, in_form())
        if status != ReviewStatus.NEEDS_FIX:
            go_next()

    actions = st.container(horizontal=True, vertical_alignment="center")  # one block, not five columns
    editable = editor.may_edit()
    sets_status = editor.may_set_status()  # an annotator's Accept only marks their labels done
    not_yours = None if sets_status else _("A reviewer sets this status")
    actions.button(_("Accept"), type="primary", shortcut=SHORTCUTS["accept"], on_click=save_in_callback,
                   args=(lambda: set_status(ReviewStatus.ACCEPTED),), disabled=not (sets_status or editable),
                   help=None if sets_status or editable else not_yours)
    actions.button(_("Needs fix"), shortcut=SHORTCUTS["fix"], on_click=save_in_callback,
                   args=(lambda: set_status(ReviewStatus.NEEDS_FIX),), disabled=not sets_status, help=not_yours)
    actions.button(_("Reject"), shortcut=SHORTCUTS["reject"], on_click=save_in_callback,
                   args=(lambda: set_status(ReviewStatus.REJECTED),), disabled=not sets_status, help=not_yours)
    actions.button(_("Next unreviewed"), shortcut=SHORTCUTS["next"], on_click=save_in_callback, args=(go_next,))
    actions.markdown(f"**{status_name(record.status)}**")
    if not editable:
        st.info(_("This record is not assigned to you: you can read it, not edit it."))
    chat_column, edit_column = st.columns([1.1, 1])
    with chat_column:
        show_chat(record)
    with edit_column:
        if record.summary is None:
            st.info(_("No summary yet: run the Summarize page for this split."))
        else:
            summary = record.summary
            if summary.stale:
                st.warning(_("This summary was written for an earlier version of the chat (a re-import changed "
                             "it): summarize again, or edit it. Exports leave it out until then."))
            st.text_area(_("Summary (saved when you leave the box)"), summary.current, height=260, key=summary_key,
                         on_change=save_in_callback, args=(lambda: editor.save(in_form()),),
                         disabled=not editor.may_edit_summary())
            made_by = escape_markdown(f"{summary.backend} {summary.model}")
            st.caption(f"{row_length(record, summary.current)} · {made_by}")

        warnings = record_warnings(record)
        if warnings:
            with st.expander(ngettext("{n} warning", "{n} warnings", len(warnings)).format(n=len(warnings)),
                             expanded=True):
                st.markdown("\n".join(f"- {escape_markdown(str(w))}" for w in warnings))

        show_prediction(record)
        if editor.labels_own():
            st.subheader(_("Your labels"))
        elif editor.labels_of is not None:  # a reviewer, on the labels exports use
            st.subheader(_("{annotator}'s labels").format(annotator=escape_markdown(editor.labels_of)))
            if editor.labelled_twice:
                st.caption(_("Two annotators labelled this record; exports use the first's labels where the Agreement "
                             "page settled nothing: settle their disagreements there."))
        else:
            st.subheader(_("Gold customers"))
        if editor.labels_outdated and editor.labels_own():
            st.warning(_("Your labels were made for an earlier version of this chat (a re-import changed it): check "
                         "them; an edit or Accept marks them current."))
        customers_editor(record.gold, gold_key, lambda customers: editor.save(FormValues(gold=customers)),
                         source=editor.gold_source, read_only_for=str(record.id), locked=not editor.may_edit_gold())
    history_pane(editor, record, undo)


listed = RecordFilter(split, tuple(statuses), text, warnings_only)
with st.sidebar:
    commit_typing_on_shortcuts(list(SHORTCUTS.values()))
if has_assignments(store):
    record_view(listed)
else:
    st.fragment(record_view)(listed)
