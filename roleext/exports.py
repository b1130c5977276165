"""Files for the fine-tuning platform and the competition, streamed and checked.

Every export validates its rows against `schema` as it writes them and returns a report
of what went in, what was left out and why, and what breaks the platform's limits, so
nothing is cut or dropped silently.
"""

from __future__ import annotations

import csv
import io
import json
import math
import statistics
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Literal

from jsonschema import Draft202012Validator

from roleext.chunk_rows import ChunkOptions, ChunkValues, chunk_rows
from roleext.cleaning import learn_profile
from roleext.errors import ExportError
from roleext.i18n import N_, _, ngettext, remedy, translate
from roleext.io import Split
from roleext.project import InputSource, Record, ReviewStatus
from roleext.prompts import DEFAULT_INSTRUCTION
from roleext.resolution import ExportGold
from roleext.schema import (
    FINETUNE_ROW_SCHEMA,
    SUBMISSION_ENTRY_SCHEMA,
    Customer,
    complete_customer,
    empty_customer,
)
from roleext.store import ProjectStore

MIN_TRAIN_ROWS = 1_500
"""The platform refuses a training file with fewer rows (known from its error message)."""
MAX_TRAIN_ROWS = 90_000_000
MAX_ROW_CHARS = 8_000
"""The platform refuses a row (a JSONL row, a test CSV row) whose fields together exceed this."""
EMPTY_TEMPLATE = N_("no prediction: empty template written")

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
"""A spreadsheet may run a cell starting so as a formula (CSV injection); the platform reads text."""

Repeat = int | Literal["auto"]

_ROW_VALIDATOR = Draft202012Validator(FINETUNE_ROW_SCHEMA)
_ENTRY_VALIDATOR = Draft202012Validator(SUBMISSION_ENTRY_SCHEMA)


@dataclass
class ExportReport:
    """What an export wrote; `problems` are limit breaches the user must see.

    `kind` and the reasons in `left_out` are keys marked with `N_`, shown translated by `lines`."""

    kind: str
    rows: int = 0
    records: int = 0
    repeat: int = 1
    left_out: Counter[str] = field(default_factory=Counter)
    row_chars: list[int] = field(default_factory=list)
    over_limit: list[int] = field(default_factory=list)
    formula_like: list[int] = field(default_factory=list)
    """Records whose CSV cell starts like a spreadsheet formula (escaped or not: see `lines`)."""
    formulas_escaped: bool = False
    problems: list[str] = field(default_factory=list)
    chunk_values: list[ChunkValues] = field(default_factory=list)
    """A chunk export's rows: how many gold values each chunk kept."""
    unresolved: int = 0
    """Records two annotators labelled differently where a reviewer has not settled every field
    (team mode, roleext.resolution): exported with the reviewer's choices, else the first's labels."""

    def lines(self, problems: bool = True) -> list[str]:
        """The report as a person reads it; `problems=False` where the problems are shown apart."""
        first = (_("{kind}: {rows} rows from {records} chunks") if self.chunk_values
                 else _("{kind}: {rows} rows from {records} records"))
        out = [first.format(kind=translate(self.kind), rows=self.rows, records=self.records)
               + (_(", each repeated {n} times").format(n=self.repeat) if self.repeat > 1 else "")]
        out.extend(chunk_lines(self.chunk_values))
        if self.row_chars:
            out.append(_("characters per row: min {min}, median {median}, max {max}").format(
                min=min(self.row_chars), median=int(statistics.median(self.row_chars)), max=max(self.row_chars)))
        if self.unresolved:
            out.append(ngettext(
                "unresolved: {n} record whose annotators disagree is exported with the reviewer's choices where made, "
                "else the first annotator's labels; {remedy}",
                "unresolved: {n} records whose annotators disagree are exported with the reviewer's choices where "
                "made, else the first annotator's labels; {remedy}", self.unresolved).format(
                n=self.unresolved, remedy=remedy(app=_("resolve them on the Agreement page"),
                                                 cli=_("resolve them on the app's Agreement page"))))
        for reason, count in sorted(self.left_out.items()):
            out.append(ngettext("left out: {n} record ({reason})", "left out: {n} records ({reason})", count).format(
                n=count, reason=translate(reason)))
        if self.over_limit:
            shown = ", ".join(map(str, self.over_limit[:20]))
            more = _(" and {n} more").format(n=len(self.over_limit) - 20) if len(self.over_limit) > 20 else ""
            out.append(_("over {limit} characters: records {shown}{more}").format(
                limit=MAX_ROW_CHARS, shown=shown, more=more))
        if self.formula_like:
            shown = ", ".join(map(str, self.formula_like[:20]))
            more = _(" and {n} more").format(n=len(self.formula_like) - 20) if len(self.formula_like) > 20 else ""
            what = (_("escaped with a leading ' for spreadsheets") if self.formulas_escaped
                    else _("a spreadsheet may run them; {remedy}").format(remedy=remedy(
                        app=_("escaping them prefixes a '"), cli=_("--escape-formulas prefixes a '"))))
            out.append(_("cells starting with =, +, -, @, tab or CR: records {shown}{more} ({what})").format(
                shown=shown, more=more, what=what))
        if problems:
            out.extend(_("problem: {problem}").format(problem=p) for p in self.problems)
        return out


def row_chars(row: Mapping[str, str]) -> int:
    """Characters of an exported row as the platform counts them: every field it holds.

    The one measure of "too long": the JSONL, the CSV and the Review counter all use it."""
    return sum(len(value) for value in row.values())


TOO_LONG = N_("over the platform's row length")
"""Why a row was left out when long rows are (`drop_long`): over `max_chars`, 8,000 by default."""


def is_too_long(row: Mapping[str, str], max_chars: int = MAX_ROW_CHARS) -> bool:
    """True when the platform refuses this row for its length."""
    return row_chars(row) > max_chars


def finetune_row(record: Record, text: str, instruction: str = DEFAULT_INSTRUCTION) -> dict[str, str]:
    """The fine-tuning row of a train record: `text` in, its gold JSON out."""
    return {"instruction": instruction, "input": text,
            "output": json.dumps([complete_customer(c) for c in record.gold], ensure_ascii=False)}


def csv_row(text: str) -> dict[str, str]:
    """The test CSV row of a record: `text` in, the platform's `-` target."""
    return {"input": text, "target": "-"}


def row_length(record: Record, text: str, instruction: str = DEFAULT_INSTRUCTION) -> str:
    """What Review shows under a summary: the characters of the row an export makes of it."""
    row = finetune_row(record, text, instruction) if record.split == "train" else csv_row(text)
    flag = _(" · too long: the platform refuses this row") if is_too_long(row) else ""
    return _("{chars:,} / {limit:,} characters in the exported row{flag}").format(
        chars=row_chars(row), limit=MAX_ROW_CHARS, flag=flag)


def _flag_long(report: ExportReport, index: int, row: Mapping[str, str], max_chars: int) -> None:
    chars = row_chars(row)
    report.row_chars.append(chars)
    if chars > max_chars:
        report.over_limit.append(index)


def measured_rows(rows: Iterable[tuple[int, dict[str, str]]], report: ExportReport, max_chars: int,
                  drop_long: bool) -> Iterator[dict[str, str]]:
    """The rows, each measured into `report`; one over `max_chars` is listed (`over_limit`), or
    left out and counted as such with `drop_long`."""
    for index, row in rows:
        if drop_long and row_chars(row) > max_chars:
            report.left_out[TOO_LONG] += 1
            continue
        _flag_long(report, index, row, max_chars)
        yield row


def _long_rows_problem(report: ExportReport, max_chars: int, source: InputSource) -> None:
    """One problem naming the rows the file really holds (each record's row times the repeat)
    and the remedy that fits what the model reads."""
    if not report.over_limit:
        return
    records, rows = len(report.over_limit), len(report.over_limit) * report.repeat
    fix = (_("shorten those summaries") if source == "summary"
           else _("use summaries for those records: their chats are too long for one row"))
    of_records = ngettext("{n} record", "{n} records", records).format(n=records)
    report.problems.append(ngettext("{rows} row ({records}) exceeds {limit} characters; the platform refuses it: "
                                    "{fix}",
                                    "{rows} rows ({records}) exceed {limit} characters; the platform refuses them: "
                                    "{fix}", rows).format(rows=rows, records=of_records, limit=max_chars, fix=fix))


def with_export_gold(store: ProjectStore, split: Split, records: Iterable[Record],
                     report: ExportReport) -> Iterator[Record]:
    """`records` with the gold exports use: in team mode the resolved annotations
    (roleext.resolution), each unresolved one counted in the report. A split nobody annotated
    costs one query and passes through untouched."""
    book = ExportGold.of(store, split)
    if book is None:
        yield from records
        return
    for record in records:
        record, unresolved = book.apply(record)
        report.unresolved += unresolved
        yield record


def _eligible(store: ProjectStore, split: Split, source: InputSource,
              report: ExportReport) -> Iterator[tuple[Record, str]]:
    """The records an export writes, with their model input and the gold exports use."""
    inputs: dict[int, str] = {}

    def with_input() -> Iterator[Record]:
        for record in store.iter_records(split):
            if record.status == ReviewStatus.REJECTED:
                report.left_out[N_("rejected in review")] += 1
                continue
            text = record.model_input(source)
            if text is None:
                stale = record.summary is not None and record.summary.stale
                report.left_out[N_("summary of an older chat: summarize again") if stale
                                else N_("no summary yet")] += 1
                continue
            inputs[record.id] = text
            yield record

    for record in with_export_gold(store, split, with_input(), report):
        yield record, inputs.pop(record.id)


def finetune_rows(store: ProjectStore, *, instruction: str = DEFAULT_INSTRUCTION,
                  source: InputSource = "summary",
                  report: ExportReport | None = None) -> Iterator[tuple[int, dict[str, str]]]:
    """(index, row) for every exportable train record: the summary in, the gold JSON out."""
    report = report or ExportReport(N_("fine-tuning JSONL"))
    for record, text in _eligible(store, "train", source, report):
        if not record.gold:
            report.left_out[N_("no gold customers")] += 1
            continue
        row = finetune_row(record, text, instruction)
        errors = list(_ROW_VALIDATOR.iter_errors(row))
        if errors:  # pragma: no cover - rows are built from validated parts
            raise ExportError(_("record {index}: the row is invalid: {reason}").format(
                index=record.index, reason=errors[0].message))
        yield record.index, row


def chunk_lines(chunks: list[ChunkValues]) -> list[str]:
    """The chunk export's report: values kept over all chunks, and per record cut in several."""
    if not chunks:
        return []
    records: dict[int, list[ChunkValues]] = {}
    for chunk in chunks:
        records.setdefault(chunk.record, []).append(chunk)
    several = {index: rows for index, rows in records.items() if len(rows) > 1}
    gold = sum(rows[0].total for rows in records.values())
    lost = sum(rows[0].in_no_chunk for rows in records.values())
    fields = Counter(name for chunk in chunks for name in chunk.left_out)
    most = "、".join(f"{name} {n}" for name, n in fields.most_common(4))
    out = [_("chunks: {chunks} from {records} records, {several} of them in more than one chunk").format(
               chunks=len(chunks), records=len(records), several=len(several)),
           _("gold values kept: {kept} of {total} over all chunks (a value a chunk does not hold is left out of "
             "its row)").format(kept=sum(c.kept for c in chunks), total=sum(c.total for c in chunks)),
           _("gold values in no chunk's row: {lost} of {gold}").format(lost=lost, gold=gold)
           + (_("; left out most: {fields}").format(fields=most) if fields else "")]
    for index, rows in several.items():
        out.append(_("record {index}: {n} chunks kept {kept} of {total} values").format(
            index=index, n=len(rows), kept=", ".join(str(c.kept) for c in rows), total=rows[0].total))
    return out


def chunked_rows(store: ProjectStore, options: ChunkOptions, *, instruction: str = DEFAULT_INSTRUCTION,
                 max_chars: int = MAX_ROW_CHARS,
                 report: ExportReport | None = None) -> Iterator[tuple[int, dict[str, str]]]:
    """(index, row) for every chunk of every exportable train record's chat (roleext.chunk_rows)."""
    report = report or ExportReport(N_("fine-tuning JSONL of chat chunks"))
    options.check()
    profile = learn_profile(store.iter_all_chats())
    for record, _chat in _eligible(store, "train", "chat", report):
        if not record.gold:
            report.left_out[N_("no gold customers")] += 1
            continue
        rows = [(row, values) for row, values in chunk_rows(record, instruction, options, max_chars, profile)
                if row["input"].strip()]
        if not rows:
            report.left_out[N_("nothing left of the chat once cleaned")] += 1
            continue
        for row, values in rows:
            report.chunk_values.append(values)
            yield record.index, row


def resolve_repeat(repeat: Repeat, unique_rows: int, min_rows: int = MIN_TRAIN_ROWS) -> int:
    """How many times to repeat the rows: `auto` takes the fewest that reach `min_rows`."""
    if repeat == "auto":
        return max(1, math.ceil(min_rows / unique_rows)) if unique_rows else 1
    if repeat < 1:
        raise ExportError(_("the repeat must be 1 or more, or auto; got {repeat}").format(repeat=repeat))
    return repeat


def export_train_jsonl(store: ProjectStore, out: BinaryIO, *, repeat: Repeat = "auto",
                       instruction: str = DEFAULT_INSTRUCTION, source: InputSource = "summary",
                       min_rows: int = MIN_TRAIN_ROWS, max_chars: int = MAX_ROW_CHARS,
                       chunks: ChunkOptions | None = None, drop_long: bool = False) -> ExportReport:
    """Write the fine-tuning JSONL, repeated to the platform's minimum row count; rows over
    `max_chars` are kept and listed as a problem, or left out with `drop_long`.

    With `chunks`, the rows are chunks of the chats instead (`source` is then the chat), each
    target keeping only what its chunk supports, and the report says what each chunk kept.
    The store is read once: the unique rows are kept, encoded, and written as many times as
    the repeat asks, so a large chat is read and serialized once however many rows it makes.
    """
    report = ExportReport(N_("fine-tuning JSONL") if chunks is None else N_("fine-tuning JSONL of chat chunks"))
    rows = (finetune_rows(store, instruction=instruction, source=source, report=report) if chunks is None
            else chunked_rows(store, chunks, instruction=instruction, max_chars=max_chars, report=report))
    lines = [json.dumps(row, ensure_ascii=False).encode("utf-8") + b"\n"
             for row in measured_rows(rows, report, max_chars, drop_long)]
    _require_rows(len(lines), "train", source if chunks is None else "chat", report)
    report.records = len(lines)
    report.repeat = resolve_repeat(repeat, len(lines), min_rows)
    for _repeat in range(report.repeat):
        for line in lines:
            out.write(line)
    report.rows = len(lines) * report.repeat
    if report.rows < min_rows:
        report.problems.append(_("{rows} rows is under the platform's minimum of {min}; {remedy}").format(
            rows=report.rows, min=min_rows, remedy=remedy(app=_("repeat the rows to reach it"),
                                                          cli=_("use --repeat auto"))))
    if report.rows > MAX_TRAIN_ROWS:
        report.problems.append(_("{rows} rows is over the platform's maximum of {max}").format(
            rows=report.rows, max=MAX_TRAIN_ROWS))
    _long_rows_problem(report, max_chars, source if chunks is None else "chat")
    return report


def _require_rows(count: int, split: Split, source: InputSource, report: ExportReport) -> None:
    if count:
        return
    reasons = _(", ").join(_("{n} {reason}").format(n=n, reason=translate(why)) for why, n in report.left_out.items())
    reasons = reasons or _("the split is empty")
    hint = remedy(app=_(" Summarize first, or export the raw chats."),
                  cli=_(" Run summarize first, or export the chats with --input chat.")) if source == "summary" else ""
    raise ExportError(_("no {split} record can be exported ({reasons}).{hint}").format(
        split=split, reasons=reasons, hint=hint))


def export_alpaca(store: ProjectStore, out: BinaryIO, *, instruction: str = DEFAULT_INSTRUCTION,
                  source: InputSource = "summary") -> ExportReport:
    """Write LLaMA-Factory's alpaca JSON (a list of rows, no repetition: it has epochs)."""
    report = ExportReport(N_("alpaca JSON"))
    rows = [row for _index, row in finetune_rows(store, instruction=instruction, source=source, report=report)]
    _require_rows(len(rows), "train", source, report)
    out.write(json.dumps(rows, ensure_ascii=False, indent=1).encode("utf-8"))
    report.rows = report.records = len(rows)
    report.row_chars = [sum(map(len, row.values())) for row in rows]
    return report


def alpaca_dataset_info(file_name: str, dataset: str = "roleext") -> dict[str, Any]:
    """The `dataset_info.json` entry that registers an alpaca export with LLaMA-Factory."""
    return {dataset: {"file_name": file_name,
                      "columns": {"prompt": "instruction", "query": "input", "response": "output"}}}


def escape_formula(cell: str) -> str:
    """The cell with a leading single quote if a spreadsheet would read it as a formula."""
    return "'" + cell if cell.startswith(FORMULA_PREFIXES) else cell


def export_test_csv(store: ProjectStore, out: BinaryIO, *, source: InputSource = "summary",
                    max_chars: int = MAX_ROW_CHARS, escape_formulas: bool = False) -> ExportReport:
    """Write the platform's test CSV (`input,target`, target `-`); long rows reported, never cut.

    Inputs that start like a spreadsheet formula are listed; `escape_formulas` prefixes them
    with a single quote for spreadsheet users (off by default: the platform reads the text
    as it is). The target is always our own `-`.
    """
    report = ExportReport(N_("test CSV"), formulas_escaped=escape_formulas)
    text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=True)
    writer = csv.writer(text)
    writer.writerow(["input", "target"])
    for record, model_input in _eligible(store, "test", source, report):
        if model_input.startswith(FORMULA_PREFIXES):
            report.formula_like.append(record.index)
            if escape_formulas:
                model_input = escape_formula(model_input)
        row = csv_row(model_input)
        writer.writerow([row["input"], row["target"]])
        report.rows += 1
        _flag_long(report, record.index, row, max_chars)
    text.detach()
    report.records = report.rows
    _require_rows(report.rows, "test", source, report)
    _long_rows_problem(report, max_chars, source)
    return report


def submission_entries(store: ProjectStore, split: Split = "test", report: ExportReport | None = None,
                       run: int | None = None) -> Iterator[dict[str, Any]]:
    """One validated submit.json entry per record of the split, in index order, from the
    predictions of `run` (default: the split's shown run, roleext.rows.shown_run)."""
    report = report or ExportReport(N_("submission"))
    for record in store.iter_records(split, run=run):
        infos: list[Customer] = record.prediction.infos if record.prediction else []
        if not infos:
            report.left_out[EMPTY_TEMPLATE] += 1
            infos = [empty_customer()]
        entry = {"infos": [complete_customer(c) for c in infos], "index": record.index}
        errors = list(_ENTRY_VALIDATOR.iter_errors(entry))
        if errors:
            raise ExportError(_("record {index}: the prediction does not fit submit.json: {reason}; {remedy}").format(
                index=record.index, reason=errors[0].message,
                remedy=remedy(app=_("correct it on the Inference page"),
                              cli=_("correct it on the app's Inference page"))))
        yield entry


def export_submission(store: ProjectStore, out: BinaryIO, split: Split = "test",
                      run: int | None = None) -> ExportReport:
    """Write submit.json: every record of the split, `infos` always a list of 21-key dicts,
    from the predictions of `run` (default: the split's shown run)."""
    report = ExportReport(N_("submission"))
    out.write(b"[")
    for entry in submission_entries(store, split, report, run):
        out.write((b",\n" if report.rows else b"\n") + json.dumps(entry, ensure_ascii=False).encode("utf-8"))
        report.rows += 1
    out.write(b"\n]\n")
    report.records = report.rows
    if not report.rows:
        raise ExportError(_("the {split} split holds no records; import {split} data first").format(split=split))
    return report


def file_builder(export: Callable[[BinaryIO], object]) -> Callable[[], bytes]:
    """A download's contents built when called: `export` writes the file from the store as it is then."""
    def build() -> bytes:
        buffer = io.BytesIO()
        export(buffer)
        return buffer.getvalue()

    return build


class Preview(io.BytesIO):
    """A file that keeps only its first `limit` bytes: an export's report and first rows, not the file."""

    def __init__(self, limit: int = 64_000) -> None:
        super().__init__()
        self.limit = limit

    def write(self, data: Any) -> int:
        room = self.limit - self.tell()
        if room > 0:
            super().write(bytes(data)[:room])
        return len(data)
