"""Export: the fine-tuning JSONL, the alpaca file and the test CSV, checked before download.

Only the open tab's export runs, into a preview that keeps the first rows; each file is
built from the store when its download button is clicked."""

import json
from collections.abc import Callable
from typing import BinaryIO

import streamlit as st

from pages.language import _
from pages.resources import project_store
from pages.session_settings import kept, kept_tabs
from roleext.errors import RoleextError
from roleext.exports import (
    MIN_TRAIN_ROWS,
    ExportReport,
    Preview,
    Repeat,
    alpaca_dataset_info,
    export_alpaca,
    export_test_csv,
    export_train_jsonl,
    file_builder,
)
from roleext.markup import escape_markdown
from roleext.project import InputSource
from roleext.prompts import DEFAULT_INSTRUCTION

store = project_store()
st.title(_("Export"))
if not store.list_records():
    st.info(_("No data yet: import files on the Data page first."))
    st.stop()

READS: dict[InputSource, str] = {"summary": _("the reviewed summary"), "chat": _("the raw chat")}
source = st.radio(_("The model reads"), tuple(READS), horizontal=True, key=kept("export_source", "summary"),
                  format_func=READS.__getitem__)
instruction = st.text_area(_("Fine-tuning instruction"), height=90, key=kept("export_instruction", DEFAULT_INSTRUCTION))


def export_tab(export: Callable[[BinaryIO], ExportReport], preview: Preview, label: str, file_name: str,
               mime: str) -> bool:
    """Run `export` into the preview, show its report and a download built at click time;
    False (with the reason shown) when there is nothing to export."""
    try:
        report = export(preview)
    except RoleextError as exc:
        st.info(escape_markdown(str(exc)))
        return False
    st.code("\n".join(report.lines()), language=None)
    for problem in report.problems:
        st.warning(escape_markdown(problem))
    st.download_button(label, file_builder(export), file_name, mime, on_click="ignore")
    return True


tabs = kept_tabs("export_tab", {"jsonl": _("Fine-tuning JSONL"), "alpaca": _("Alpaca (LLaMA-Factory)"),
                                "csv": _("Test CSV")})
tab_jsonl, tab_alpaca, tab_csv = tabs["jsonl"], tabs["alpaca"], tabs["csv"]
if tab_jsonl.open:
    with tab_jsonl:
        auto = st.checkbox(_("Repeat to reach the platform's minimum of {n:,} rows").format(n=MIN_TRAIN_ROWS),
                           key=kept("export_auto", True))
        times = st.number_input(_("Repeat each record this many times"), 1, 1000, key=kept("export_times", 1),
                                disabled=auto)
        repeat: Repeat = "auto" if auto else int(times)
        preview = Preview()
        if export_tab(lambda out: export_train_jsonl(store, out, repeat=repeat, instruction=instruction,
                                                     source=source), preview,
                      _("Download train.jsonl"), "train.jsonl", "application/jsonl"):
            first = preview.getvalue().split(b"\n", 3)[:3]
            st.caption(_("First rows"))
            st.json([json.loads(line) for line in first if line], expanded=False)
if tab_alpaca.open:
    with tab_alpaca:
        if export_tab(lambda out: export_alpaca(store, out, instruction=instruction, source=source),
                      Preview(0), _("Download roleext_train.json"), "roleext_train.json", "application/json"):
            st.caption(_("Add this entry to LLaMA-Factory's data/dataset_info.json:"))
            st.json(alpaca_dataset_info("roleext_train.json"))
if tab_csv.open:
    with tab_csv:
        escape = st.checkbox(_("Escape cells a spreadsheet would run as formulas (=, +, -, @) with a leading '"),
                             key=kept("export_escape", False),
                             help=_("Off for the platform, which reads the text as it is."))
        preview = Preview()
        if export_tab(lambda out: export_test_csv(store, out, source=source, escape_formulas=escape),
                      preview, _("Download test.csv"), "test.csv", "text/csv"):
            st.caption(_("First rows"))
            st.code("\n".join(preview.getvalue().decode("utf-8", "replace").splitlines()[:6]), language=None)
