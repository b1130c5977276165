"""Export: the fine-tuning JSONL, the alpaca file and the test CSV, checked before download.

Only the open tab's export runs, into a preview that keeps the first rows; each file is
built from the store when its download button is clicked."""

import json

import streamlit as st

from pages.common import project_store
from pages.session_settings import kept
from roleext.errors import RoleextError
from roleext.exports import (
    MIN_TRAIN_ROWS,
    Preview,
    alpaca_dataset_info,
    export_alpaca,
    export_test_csv,
    export_train_jsonl,
    file_builder,
)
from roleext.markup import escape_markdown
from roleext.prompts import DEFAULT_INSTRUCTION

store = project_store()
st.title("Export")
if not store.list_records():
    st.info("No data yet: import files on the Data page first.")
    st.stop()

source = st.radio("The model reads", ["summary", "chat"], horizontal=True, key=kept("export_source", "summary"),
                  format_func={"summary": "the reviewed summary", "chat": "the raw chat"}.get)
instruction = st.text_area("Fine-tuning instruction", height=90, key=kept("export_instruction", DEFAULT_INSTRUCTION))


def show(report_lines: list[str], problems: list[str]) -> None:
    st.code("\n".join(report_lines), language=None)
    for problem in problems:
        st.warning(escape_markdown(problem))


tab_jsonl, tab_alpaca, tab_csv = st.tabs(["Fine-tuning JSONL", "Alpaca (LLaMA-Factory)", "Test CSV"],
                                         key="export_tab", on_change="rerun")
if tab_jsonl.open:
    with tab_jsonl:
        auto = st.checkbox(f"Repeat to reach the platform's minimum of {MIN_TRAIN_ROWS:,} rows",
                           key=kept("export_auto", True))
        times = st.number_input("Repeat each record this many times", 1, 1000, key=kept("export_times", 1),
                                disabled=auto)
        options = {"repeat": "auto" if auto else int(times), "instruction": instruction, "source": source}
        preview = Preview()
        try:
            report = export_train_jsonl(store, preview, **options)  # type: ignore[arg-type]
        except RoleextError as exc:
            st.info(escape_markdown(str(exc)))
        else:
            show(report.lines(), report.problems)
            first = preview.getvalue().split(b"\n", 3)[:3]
            st.caption("First rows")
            st.json([json.loads(line) for line in first if line], expanded=False)
            st.download_button("Download train.jsonl",
                               file_builder(lambda out: export_train_jsonl(store, out, **options)),  # type: ignore[arg-type]
                               "train.jsonl", "application/jsonl",
                               on_click="ignore")
if tab_alpaca.open:
    with tab_alpaca:
        preview = Preview(0)
        try:
            report = export_alpaca(store, preview, instruction=instruction, source=source)  # type: ignore[arg-type]
        except RoleextError as exc:
            st.info(escape_markdown(str(exc)))
        else:
            show(report.lines(), report.problems)
            st.download_button("Download roleext_train.json",
                               file_builder(lambda out: export_alpaca(store, out, instruction=instruction,
                                                                      source=source)),  # type: ignore[arg-type]
                               "roleext_train.json", "application/json",
                               on_click="ignore")
            st.caption("Add this entry to LLaMA-Factory's data/dataset_info.json:")
            st.json(alpaca_dataset_info("roleext_train.json"))
if tab_csv.open:
    with tab_csv:
        escape = st.checkbox("Escape cells a spreadsheet would run as formulas (=, +, -, @) with a leading '",
                             key=kept("export_escape", False),
                             help="Off for the platform, which reads the text as it is.")
        preview = Preview()
        try:
            report = export_test_csv(store, preview, source=source, escape_formulas=escape)  # type: ignore[arg-type]
        except RoleextError as exc:
            st.info(escape_markdown(str(exc)))
        else:
            show(report.lines(), report.problems)
            st.caption("First rows")
            st.code("\n".join(preview.getvalue().decode("utf-8", "replace").splitlines()[:6]), language=None)
            st.download_button("Download test.csv",
                               file_builder(lambda out: export_test_csv(store, out, source=source,  # type: ignore[arg-type]
                                                                        escape_formulas=escape)),
                               "test.csv", "text/csv",
                               on_click="ignore")
