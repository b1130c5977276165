"""Export: the fine-tuning JSONL, the alpaca file, the test CSV and the curated data in other
trainers' formats (dataset, chat messages, ShareGPT, Hugging Face), checked before download.

Only the open tab's export runs, into a preview that keeps the first rows; each file is
built from the store when its download button is clicked."""

import json
from collections.abc import Callable
from typing import BinaryIO

import pandas as pd
import streamlit as st

from pages.language import _
from pages.resources import project_store
from pages.session_settings import kept, kept_choice, kept_tabs
from roleext.chunk_rows import CHUNK_CHARS, CHUNK_OVERLAP, ChunkOptions
from roleext.chunking import MIN_CHUNK_CHARS
from roleext.errors import RoleextError
from roleext.exports import (
    MAX_ROW_CHARS,
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
from roleext.formats.chat_rows import export_messages, export_sharegpt, sharegpt_dataset_info
from roleext.formats.dataset import SCOPES, Scope, export_dataset
from roleext.formats.hf import export_hf_zip, hf_report
from roleext.io import SPLITS
from roleext.markup import escape_markdown
from roleext.project import InputSource
from roleext.prompts import DEFAULT_INSTRUCTION

store = project_store()
st.title(_("Export"))
if not store.list_records():
    st.info(_("No data yet: import files on the Data page first."))
    st.stop()

READS: dict[InputSource, str] = {"summary": _("the reviewed summary"), "chat": _("the raw chat")}
source = st.radio(_("The model reads"), tuple(READS), horizontal=True, key=kept_choice("export_source", "summary"),
                  format_func=READS.__getitem__)
instruction = st.text_area(_("Fine-tuning instruction"), height=90, key=kept("export_instruction", DEFAULT_INSTRUCTION))


def export_tab(export: Callable[[BinaryIO], ExportReport], preview: Preview, label: str, file_name: str,
               mime: str) -> ExportReport | None:
    """Run `export` into the preview, show its report and a download built at click time;
    None (with the reason shown) when there is nothing to export."""
    try:
        report = export(preview)
    except RoleextError as exc:
        st.info(escape_markdown(str(exc)))
        return None
    st.code("\n".join(report.lines(problems=False)), language=None)
    for problem in report.problems:
        st.warning(escape_markdown(problem))
    st.download_button(label, file_builder(export), file_name, mime, on_click="ignore")
    return report


def repeat_choice() -> Repeat:
    """How often each row is written: to the platform's minimum, or a number of times."""
    auto = st.checkbox(_("Repeat to reach the platform's minimum of {n:,} rows").format(n=MIN_TRAIN_ROWS),
                       key=kept("export_auto", True))
    if auto:  # how many times the report says; a greyed-out 1 read as the count
        return "auto"
    return int(st.number_input(_("Repeat each record this many times"), 1, 1000, key=kept("export_times", 1)))


def long_rows_choice() -> bool:
    """Whether rows the platform refuses are left out of the file rather than kept and listed."""
    return st.checkbox(_("Leave out rows over 8,000 characters (by default they are kept and listed)"),
                       key=kept("export_drop_long", False))


def first_rows(preview: Preview) -> None:
    first = preview.getvalue().split(b"\n", 3)[:3]
    st.caption(_("First rows"))
    st.json([json.loads(line) for line in first if line], expanded=False)


tabs = kept_tabs("export_tab", {"jsonl": _("Fine-tuning JSONL"), "chunks": _("Chat chunks (JSONL)"),
                                "alpaca": _("Alpaca (LLaMA-Factory)"), "csv": _("Test CSV"),
                                "dataset": _("Dataset (train.json)"), "messages": _("Chat messages JSONL"),
                                "sharegpt": _("ShareGPT (LLaMA-Factory)"), "hf": _("Hugging Face folder")})
tab_jsonl, tab_chunks, tab_alpaca, tab_csv = tabs["jsonl"], tabs["chunks"], tabs["alpaca"], tabs["csv"]
if tab_jsonl.open:
    with tab_jsonl:
        repeat = repeat_choice()
        drop_long = long_rows_choice()
        preview = Preview()
        if export_tab(lambda out: export_train_jsonl(store, out, repeat=repeat, instruction=instruction,
                                                     source=source, drop_long=drop_long), preview,
                      _("Download train.jsonl"), "train.jsonl", "application/jsonl"):
            first_rows(preview)
if tab_chunks.open:
    with tab_chunks:
        st.caption(_("Rows from chunks of each cleaned chat instead of its summary. A chunk's target keeps only "
                     "what the chunk holds: a name, phone, e-mail, address or other text it does not contain is "
                     "left out; the labels stay as in the gold."))
        size, overlap = st.columns(2)
        chunk_chars = size.number_input(_("Characters of chat per row at most"), MIN_CHUNK_CHARS, MAX_ROW_CHARS,
                                        step=100, key=kept("export_chunk_chars", CHUNK_CHARS))
        overlap_chars = overlap.number_input(_("Characters repeated between chunks"), 0, MAX_ROW_CHARS // 2,
                                             step=50, key=kept("export_chunk_overlap", CHUNK_OVERLAP))
        repeat = repeat_choice()
        chunks = ChunkOptions(int(chunk_chars), int(overlap_chars))
        preview = Preview()
        report = export_tab(lambda out: export_train_jsonl(store, out, repeat=repeat, instruction=instruction,
                                                           chunks=chunks),
                            preview, _("Download train_chunks.jsonl"), "train_chunks.jsonl", "application/jsonl")
        if report is not None:
            st.caption(_("What each chunk kept of its record's gold values"))
            st.dataframe(pd.DataFrame([{_("record"): c.record, _("chunk"): f"{c.chunk}/{c.chunks}",
                                        _("row characters"): c.chars, _("values kept"): c.kept,
                                        _("gold values"): c.total, _("left out"): "、".join(c.left_out)}
                                       for c in report.chunk_values]), hide_index=True)
            first_rows(preview)
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


SCOPE_LABELS: dict[Scope, str] = {"not-rejected": _("all but the rejected"), "accepted": _("only the accepted"),
                                  "all": _("all, rejected included")}


def scope_choice(key: str) -> Scope:
    scope: Scope = st.radio(_("Records"), SCOPES, horizontal=True, key=kept_choice(key, "not-rejected"),
                            format_func=SCOPE_LABELS.__getitem__)
    return scope


if tabs["dataset"].open:
    with tabs["dataset"]:
        st.caption(_("The split in the competition's own format, every correction applied."))
        split = st.radio(_("Split"), SPLITS, horizontal=True, key=kept_choice("export_dataset_split", "train"))
        scope = scope_choice("export_dataset_scope")
        with_review = st.checkbox(_("Add each record's review (status, reviewer, last edit) for roleext to read "
                                    "back; other tools ignore it"), key=kept("export_dataset_review", False))
        name = "train.json" if split == "train" else "test_data.json"
        export_tab(lambda out: export_dataset(store, out, split=split, scope=scope, with_review=with_review),
                   Preview(0), _("Download {name}").format(name=name), name, "application/json")
if tabs["messages"].open:
    with tabs["messages"]:
        st.caption(_("One JSON line per record: system (the instruction), user (the input), assistant (the "
                     "gold JSON), as OpenAI-compatible fine-tuning services read it."))
        times = st.number_input(_("Repeat each record this many times"), 1, 1000, key=kept("export_messages_times", 1))
        drop_long = long_rows_choice()
        preview = Preview()
        if export_tab(lambda out: export_messages(store, out, repeat=int(times), instruction=instruction,
                                                  source=source, drop_long=drop_long),
                      preview, _("Download messages.jsonl"), "messages.jsonl", "application/jsonl"):
            first = preview.getvalue().split(b"\n", 2)[:2]
            st.caption(_("First rows"))
            st.json([json.loads(line) for line in first if line], expanded=False)
if tabs["sharegpt"].open:
    with tabs["sharegpt"]:
        drop_long = long_rows_choice()
        if export_tab(lambda out: export_sharegpt(store, out, instruction=instruction, source=source,
                                                  drop_long=drop_long),
                      Preview(0), _("Download roleext_sharegpt.json"), "roleext_sharegpt.json", "application/json"):
            st.caption(_("Add this entry to LLaMA-Factory's data/dataset_info.json:"))
            st.json(sharegpt_dataset_info("roleext_sharegpt.json"))
if tabs["hf"].open:
    with tabs["hf"]:
        st.caption(_("Parquet per split and a dataset card: unzip, then datasets.load_dataset(folder)."))
        scope = scope_choice("export_hf_scope")
        report = hf_report(store, scope=scope)
        st.code("\n".join(report.lines()), language=None)
        if report.records:
            st.download_button(_("Download roleext_dataset.zip"),
                               file_builder(lambda out: export_hf_zip(store, out, scope=scope)),
                               "roleext_dataset.zip", "application/zip", on_click="ignore")
