"""Fine-tuning rows in the chat formats other trainers read: OpenAI-style messages and ShareGPT.

The same rows as the platform's JSONL (`exports.finetune_rows`: the same records, the same
input, rejected and summary-less records left out, the same 8,000-character check), laid
out as turns: the instruction as the system turn, the input as the user turn, the gold JSON
as the assistant turn. An empty instruction leaves the system turn out.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from typing import Any, BinaryIO

from roleext.errors import ExportError
from roleext.exports import (
    MAX_ROW_CHARS,
    MIN_TRAIN_ROWS,
    ExportReport,
    Repeat,
    finetune_rows,
    measured_rows,
    resolve_repeat,
)
from roleext.formats.dataset import left_out_reasons
from roleext.i18n import N_, _, ngettext, remedy
from roleext.project import InputSource
from roleext.prompts import DEFAULT_INSTRUCTION
from roleext.store import ProjectStore

SHAREGPT_DATASET = "roleext_sharegpt"
"""The name the ShareGPT export registers in LLaMA-Factory's dataset_info.json (alpaca's is roleext)."""


def messages_row(row: dict[str, str]) -> dict[str, Any]:
    """A platform row as one line of OpenAI's chat fine-tuning format."""
    turns = [{"role": "system", "content": row["instruction"]}] if row["instruction"] else []
    turns += [{"role": "user", "content": row["input"]}, {"role": "assistant", "content": row["output"]}]
    return {"messages": turns}


def sharegpt_row(row: dict[str, str]) -> dict[str, Any]:
    """A platform row as LLaMA-Factory's ShareGPT: human asks, gpt answers, the instruction as system."""
    item: dict[str, Any] = {"conversations": [{"from": "human", "value": row["input"]},
                                              {"from": "gpt", "value": row["output"]}]}
    if row["instruction"]:
        item["system"] = row["instruction"]
    return item


def sharegpt_dataset_info(file_name: str, dataset: str = SHAREGPT_DATASET) -> dict[str, Any]:
    """The `dataset_info.json` entry that registers a ShareGPT export with LLaMA-Factory."""
    return {dataset: {"file_name": file_name, "formatting": "sharegpt",
                      "columns": {"messages": "conversations", "system": "system"},
                      "tags": {"role_tag": "from", "content_tag": "value", "user_tag": "human",
                               "assistant_tag": "gpt"}}}


def _checked_rows(store: ProjectStore, report: ExportReport, *, instruction: str, source: InputSource,
                  max_chars: int, drop_long: bool) -> Iterator[dict[str, str]]:
    """The platform's rows, each measured; rows over `max_chars` left out if `drop_long`, else listed."""
    return measured_rows(finetune_rows(store, instruction=instruction, source=source, report=report), report,
                         max_chars, drop_long)


def _finish(report: ExportReport, source: InputSource, max_chars: int) -> None:
    if not report.records:
        hint = " " + _("Summarize first, or {remedy}.").format(remedy=remedy(
            app=_("let the model read the raw chat"), cli=_("export the chats with --input chat"))) \
            if source == "summary" else ""
        raise ExportError(_("no train record can be exported ({reasons}).").format(
            reasons=left_out_reasons(report) or _("the split is empty")) + hint)
    if report.over_limit:
        # Counted as exports.export_train_jsonl counts them: the rows the file holds, and the
        # fix that fits what the model reads.
        records, rows = len(report.over_limit), len(report.over_limit) * report.repeat
        fix = (_("shorten those summaries") if source == "summary"
               else _("use summaries for those records: their chats are too long for one row"))
        of_records = ngettext("{n} record", "{n} records", records).format(n=records)
        report.problems.append(ngettext(
            "{rows} row ({records}) exceeds {limit} characters: the platform refuses it and other trainers may "
            "cut it; {fix}, or {remedy}",
            "{rows} rows ({records}) exceed {limit} characters: the platform refuses them and other trainers may "
            "cut them; {fix}, or {remedy}", rows).format(
            rows=rows, records=of_records, limit=max_chars, fix=fix,
            remedy=remedy(app=_("leave them out"), cli=_("leave them out (--drop-long)"))))


def export_messages(store: ProjectStore, out: BinaryIO, *, repeat: Repeat = 1,
                    instruction: str = DEFAULT_INSTRUCTION, source: InputSource = "summary",
                    max_chars: int = MAX_ROW_CHARS, drop_long: bool = False,
                    min_rows: int = MIN_TRAIN_ROWS) -> ExportReport:
    """Write chat-format JSONL (`{"messages": [...]}` a line), one row per record unless `repeat`.

    Rows are streamed; with a repeat they are first spooled to a temporary file, written once
    and copied as many times as asked, so memory stays flat however large the split."""
    report = ExportReport(N_("chat messages JSONL"))
    lines = (json.dumps(messages_row(row), ensure_ascii=False).encode("utf-8") + b"\n"
             for row in _checked_rows(store, report, instruction=instruction, source=source,
                                      max_chars=max_chars, drop_long=drop_long))
    if repeat == 1:
        for line in lines:
            out.write(line)
            report.records += 1
    else:
        with tempfile.TemporaryFile() as spool:
            for line in lines:
                spool.write(line)
                report.records += 1
            report.repeat = resolve_repeat(repeat, report.records, min_rows) if report.records else 1
            for _ in range(report.repeat):
                spool.seek(0)
                shutil.copyfileobj(spool, out)
    report.rows = report.records * report.repeat
    _finish(report, source, max_chars)
    return report


def export_sharegpt(store: ProjectStore, out: BinaryIO, *, instruction: str = DEFAULT_INSTRUCTION,
                    source: InputSource = "summary", max_chars: int = MAX_ROW_CHARS,
                    drop_long: bool = False) -> ExportReport:
    """Write LLaMA-Factory's ShareGPT JSON (a list, one row per record: LLaMA-Factory has epochs)."""
    report = ExportReport(N_("ShareGPT JSON"))
    out.write(b"[")
    for row in _checked_rows(store, report, instruction=instruction, source=source, max_chars=max_chars,
                             drop_long=drop_long):
        out.write((b",\n" if report.records else b"\n")
                  + json.dumps(sharegpt_row(row), ensure_ascii=False).encode("utf-8"))
        report.records += 1
    out.write(b"\n]\n")
    report.rows = report.records
    _finish(report, source, max_chars)
    return report
