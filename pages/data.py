"""Data: upload train/test files, load the sample, see what the project holds."""

from typing import Literal

import pandas as pd
import streamlit as st

from pages.identity import current_user
from pages.language import _, ngettext
from pages.pager import pager
from pages.resources import project_store, search_indexer
from pages.session_settings import relabelled
from roleext.errors import ImportRefusedError, InvalidFileError, Problem, RoleextError
from roleext.formats.importing import load_import
from roleext.io import SPLITS, ChatFile, Split
from roleext.labels import status_name
from roleext.markup import escape_markdown
from roleext.matching import ImportPlan
from roleext.overview import length_histogram, split_overviews
from roleext.paging import project_version, records_on_page, split_sizes
from roleext.sample import import_sample
from roleext.uploads import spooled_upload

store = project_store()
st.title(_("Data"))
st.caption(_("Upload train.json (chats with gold infos) and test_data.json. A bad file is refused "
             "whole and nothing already stored changes."))

# A new key after each import empties the uploader: Streamlit then lets go of the file's bytes.
uploaded = st.file_uploader(_("train.json, test_data.json, or fine-tuning rows roleext exported (drag and drop "
                              "works too)"), type=["json", "jsonl"],
                            key=f"data_upload_{st.session_state.get('data_uploads', 0)}")
# "guess": from the content. A choice, not None: a radio handed None again shows nothing chosen.
SPLIT_CHOICES: tuple[Split | Literal["guess"], ...] = ("guess", *SPLITS)
GUESS = _("guess from the content")
split_choice = st.radio(_("Split"), SPLIT_CHOICES, horizontal=True,
                        key=relabelled("data_split", GUESS if st.session_state.get("data_split") == "guess" else None),
                        format_func=lambda split: GUESS if split == "guess" else split)


def show_notes(notes: list[Problem]) -> None:
    if notes:
        with st.expander(ngettext("{n} warning or lint (kept as it is)", "{n} warnings and lints (kept as they are)",
                                  len(notes)).format(n=len(notes))):
            st.code("\n".join(str(problem) for problem in notes), language=None, wrap_lines=True)


def do_import(chat_file: ChatFile, name: str, confirmed: ImportPlan | None = None) -> None:
    """Import, or keep the store's refusal and preview for the person to confirm.

    A confirmation carries the fingerprint of the preview it was given on: if the project
    changed meanwhile, the store refuses again with the new preview."""
    try:
        report = store.import_chat_file(
            chat_file, current_user(), confirmed=confirmed is not None,
            replace=confirmed is not None and confirmed.erases_gold,
            preview=confirmed.fingerprint() if confirmed is not None else None)
    except ImportRefusedError as exc:
        st.session_state["pending_import"] = (chat_file, name, exc.plan, exc.reason)
        return
    st.session_state.pop("pending_import", None)
    search_indexer().poke()  # the new records join the search index behind the person's back
    # The notes only: the records themselves must not stay in the session after the import.
    done = _("{where}: {message}").format(where=escape_markdown(name), message=report.line())  # ：in Chinese
    st.session_state["import_done"] = (done, [*chat_file.warnings, *chat_file.lints])
    st.session_state["data_uploads"] = st.session_state.get("data_uploads", 0) + 1


# Only this button imports: changing the split or any other widget never does.
if st.button(_("Import"), type="primary", disabled=uploaded is None):
    assert uploaded is not None
    st.session_state.pop("pending_import", None)
    st.session_state.pop("import_done", None)
    try:
        with spooled_upload(uploaded, uploaded.name) as path:
            chat_file = load_import(store, path, split=None if split_choice == "guess" else split_choice)
    except InvalidFileError as exc:
        st.error(ngettext("{name} cannot be used: {n} problem. Nothing was imported.",
                          "{name} cannot be used: {n} problems. Nothing was imported.",
                          len(exc.problems)).format(name=escape_markdown(uploaded.name), n=len(exc.problems)))
        st.code("\n".join(str(problem) for problem in exc.problems[:50]), language=None, wrap_lines=True)
    except RoleextError as exc:
        st.error(escape_markdown(str(exc)))
    else:
        do_import(chat_file, uploaded.name)
        if "pending_import" not in st.session_state:
            st.rerun()  # shows the emptied uploader

pending = st.session_state.get("pending_import")
if pending is not None:
    chat_file, name, plan, why = pending
    if plan.erases_gold:
        st.error(_("{name} has no gold: importing it over the {split} split would erase the gold of its records. "
                   "Choose the split test, or replace the split on purpose.").format(name=escape_markdown(name),
                                                                                      split=plan.split))
    elif why == "preview outdated":
        st.warning(_("The project changed since that preview (another tab or process): check this one."))
    else:
        st.warning(_("{name} would change what people curated. Check, then confirm.").format(
            name=escape_markdown(name)))
    st.code("\n".join(plan.preview()), language=None, wrap_lines=True)
    confirm, cancel = st.columns(2)
    if confirm.button(_("Replace the split's gold") if plan.erases_gold else _("Confirm import")):
        st.session_state.pop("pending_import", None)
        do_import(chat_file, name, confirmed=plan)
        st.rerun()
    if cancel.button(_("Cancel")):
        st.session_state.pop("pending_import", None)
        st.rerun()

done = st.session_state.get("import_done")  # kept until the next import: a rerun must not hide it
if done:
    st.success(done[0])
    show_notes(done[1])  # the file's warnings and lints stay in view after a confirmation
elif pending is not None:
    show_notes([*pending[0].warnings, *pending[0].lints])

# The sample is for an empty project only (it refuses to replace data): offered only there.
if not split_sizes(store) and st.button(_("Load sample data"),
                                        help=_("ten train chats with gold and five test chats written for roleext")):
    st.session_state.pop("import_done", None)
    try:
        reports = import_sample(store, current_user())
    except RoleextError as exc:
        st.error(_("{reason}. The sample would replace this project's data: start a new project "
                   "(another ROLEEXT_DB) to try it.").format(reason=escape_markdown(str(exc))))
    else:
        search_indexer().poke()
        st.session_state["import_done"] = ("  \n".join(report.line() for report in reports), [])
        st.rerun()  # the page as it is now: the button gone, the project's figures shown

sizes = split_sizes(store)
if not sizes:
    st.info(_("No data yet: upload a file above, or load the sample data."))
    st.stop()


@st.cache_data(max_entries=4, show_spinner=False)
def project_figures(url: str, version: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The overview and the length histogram, read once per project version, not per rerun."""
    infos = project_store().list_records()
    overview = pd.DataFrame([vars(o) for o in split_overviews(infos)])
    return overview, pd.DataFrame(length_histogram(infos)).T


overview, histogram = project_figures(store.url, project_version(store))
st.subheader(_("What the project holds"))
st.dataframe(overview.rename(columns={
    "split": _("split"), "records": _("records"), "customers": _("customers"), "over_limit": _("over 8,000 characters"),
    "median_chars": _("median characters")}), hide_index=True)
st.subheader(_("Chat lengths (characters)"))
st.bar_chart(histogram, x_label=_("characters"), y_label=_("chats"), stack=True,
             sort=False)  # the bins in numeric order, not "10000-11999" before "2000-3999"
with st.expander(_("All records")):
    listed = st.radio(_("Split"), [split for split in SPLITS if split in sizes], horizontal=True,
                      key="data_records_split")
    page = pager(sizes[listed], f"data_records_page_{listed}")
    st.dataframe(pd.DataFrame([{_("split"): r.split, _("record"): r.index, _("characters"): len(r.chat_text),
                                _("customers"): len(r.gold), _("status"): status_name(r.status),
                                _("summary"): r.summary is not None, _("prediction"): r.prediction is not None}
                               for r in records_on_page(store, listed, page)]),
                 hide_index=True)
