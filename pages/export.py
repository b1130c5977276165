"""Export: the fine-tuning JSONL, the alpaca file and the test CSV, checked before download."""

import io
import json

import streamlit as st

from pages.common import project_store
from roleext.errors import RoleextError
from roleext.exports import (
    MIN_TRAIN_ROWS,
    alpaca_dataset_info,
    export_alpaca,
    export_test_csv,
    export_train_jsonl,
)
from roleext.markup import escape_markdown
from roleext.prompts import DEFAULT_INSTRUCTION

store = project_store()
st.title("Export")
if not store.list_records():
    st.info("No data yet: import files on the Data page first.")
    st.stop()

source = st.radio("The model reads", ["summary", "chat"], horizontal=True,
                  format_func={"summary": "the reviewed summary", "chat": "the raw chat"}.get)
instruction = st.text_area("Fine-tuning instruction", DEFAULT_INSTRUCTION, height=90)


def show(report_lines: list[str], problems: list[str]) -> None:
    st.code("\n".join(report_lines), language=None)
    for problem in problems:
        st.warning(escape_markdown(problem))


tab_jsonl, tab_alpaca, tab_csv = st.tabs(["Fine-tuning JSONL", "Alpaca (LLaMA-Factory)", "Test CSV"])
with tab_jsonl:
    auto = st.checkbox(f"Repeat to reach the platform's minimum of {MIN_TRAIN_ROWS:,} rows", value=True)
    times = st.number_input("Repeat each record this many times", 1, 1000, 1, disabled=auto)
    buffer = io.BytesIO()
    try:
        report = export_train_jsonl(store, buffer, repeat="auto" if auto else int(times),
                                    instruction=instruction, source=source)  # type: ignore[arg-type]
    except RoleextError as exc:
        st.info(escape_markdown(str(exc)))
    else:
        show(report.lines(), report.problems)
        first = buffer.getvalue().split(b"\n", 3)[:3]
        st.caption("First rows")
        st.json([json.loads(line) for line in first if line], expanded=False)
        st.download_button("Download train.jsonl", buffer.getvalue(), "train.jsonl", "application/jsonl")
with tab_alpaca:
    buffer = io.BytesIO()
    try:
        report = export_alpaca(store, buffer, instruction=instruction, source=source)  # type: ignore[arg-type]
    except RoleextError as exc:
        st.info(escape_markdown(str(exc)))
    else:
        show(report.lines(), report.problems)
        st.download_button("Download roleext_train.json", buffer.getvalue(), "roleext_train.json",
                           "application/json")
        st.caption("Add this entry to LLaMA-Factory's data/dataset_info.json:")
        st.json(alpaca_dataset_info("roleext_train.json"))
with tab_csv:
    escape = st.checkbox("Escape cells a spreadsheet would run as formulas (=, +, -, @) with a leading '",
                         help="Off for the platform, which reads the text as it is.")
    buffer = io.BytesIO()
    try:
        report = export_test_csv(store, buffer, source=source, escape_formulas=escape)  # type: ignore[arg-type]
    except RoleextError as exc:
        st.info(escape_markdown(str(exc)))
    else:
        show(report.lines(), report.problems)
        st.caption("First rows")
        st.code("\n".join(buffer.getvalue().decode("utf-8").splitlines()[:6]), language=None)
        st.download_button("Download test.csv", buffer.getvalue(), "test.csv", "text/csv")
