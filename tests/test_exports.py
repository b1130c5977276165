"""Exports: what the platform and the competition receive, and what the report tells the user."""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from sqlalchemy import event

from roleext.errors import ExportError
from roleext.exports import (
    MAX_ROW_CHARS,
    MIN_TRAIN_ROWS,
    alpaca_dataset_info,
    export_alpaca,
    export_submission,
    export_test_csv,
    export_train_jsonl,
    finetune_row,
    row_chars,
    row_length,
)
from roleext.i18n import using
from roleext.io import load_chat_file
from roleext.project import ReviewStatus
from roleext.prompts import DEFAULT_INSTRUCTION
from roleext.runs import RunBook
from roleext.schema import FIELD_NAMES, SUBMISSION_SCHEMA
from roleext.store import ProjectStore


def summarize_all(store: ProjectStore, split: str = "train") -> dict[int, str]:
    """Give every record a summary a person could have written (its first lines)."""
    texts = {}
    for record in store.iter_records(split):  # type: ignore[arg-type]
        texts[record.index] = "\n".join(record.chat_text.splitlines()[:3])
        store.save_summary(record.id, texts[record.index], "offline", "digest", "p1")
    return texts


@pytest.fixture
def project(store: ProjectStore, sample_train: Path, sample_test: Path) -> ProjectStore:
    store.import_chat_file(load_chat_file(sample_train))
    store.import_chat_file(load_chat_file(sample_test))
    return store


def test_train_jsonl_repeats_to_the_platform_minimum(project: ProjectStore) -> None:
    summaries = summarize_all(project)
    out = io.BytesIO()
    report = export_train_jsonl(project, out, repeat="auto")
    rows = [json.loads(line) for line in out.getvalue().decode().splitlines()]
    assert report.repeat == math.ceil(MIN_TRAIN_ROWS / 10)
    assert len(rows) == report.rows == report.repeat * 10 >= MIN_TRAIN_ROWS
    assert report.problems == []
    first = rows[0]
    assert first["instruction"] == DEFAULT_INSTRUCTION
    assert first["input"] == summaries[1]  # plain text, never a quoted JSON string
    gold = project.get_record("train", 1).gold
    assert json.loads(first["output"]) == gold
    assert "\\u" not in first["output"]  # ensure_ascii=False: Chinese stays readable


def test_rejected_records_are_left_out_and_edits_are_used(project: ProjectStore) -> None:
    summarize_all(project)
    record = project.get_record("train", 2)
    project.set_status(record.id, ReviewStatus.REJECTED, record.version)
    other = project.get_record("train", 3)
    assert other.summary is not None
    project.edit_summary(other.id, "审核员改过的摘要", other.summary.version)
    out = io.BytesIO()
    report = export_train_jsonl(project, out, repeat=1)
    inputs = [json.loads(line)["input"] for line in out.getvalue().decode().splitlines()]
    assert report.rows == 9 and report.left_out["rejected in review"] == 1
    assert "审核员改过的摘要" in inputs
    assert not any("周军9" in text for text in inputs)


def test_too_few_rows_is_reported_not_hidden(project: ProjectStore) -> None:
    summarize_all(project)
    report = export_train_jsonl(project, io.BytesIO(), repeat=2)
    assert report.rows == 20
    assert any(f"under the platform's minimum of {MIN_TRAIN_ROWS}" in p for p in report.problems)


def test_no_summaries_is_an_error_with_a_way_out(project: ProjectStore) -> None:
    """The way out in the words of the surface the user is on: an option, or what the app offers."""
    with using(surface="cli"), pytest.raises(ExportError,
                                             match="Run summarize first, or export the chats with --input chat"):
        export_train_jsonl(project, io.BytesIO())
    with using(surface="app"), pytest.raises(ExportError, match="Summarize first, or export the raw chats") as exc:
        export_train_jsonl(project, io.BytesIO())
    assert "--" not in str(exc.value)
    report = export_train_jsonl(project, io.BytesIO(), source="chat")
    assert report.over_limit == [8]  # the sample's long chat, reported, not cut


def test_alpaca_rows_and_dataset_entry(project: ProjectStore) -> None:
    summarize_all(project)
    out = io.BytesIO()
    report = export_alpaca(project, out)
    rows = json.loads(out.getvalue())
    assert len(rows) == report.rows == 10
    assert set(rows[0]) == {"instruction", "input", "output"}
    entry = alpaca_dataset_info("train_alpaca.json")
    assert entry["roleext"]["file_name"] == "train_alpaca.json"
    assert entry["roleext"]["columns"] == {"prompt": "instruction", "query": "input", "response": "output"}


def test_test_csv_reports_long_rows_and_never_cuts_them(project: ProjectStore) -> None:
    summaries = summarize_all(project, "test")
    long_record = project.get_record("test", 2)
    long_text = "郑伟9：很长的摘要\n" * 900
    project.save_summary(long_record.id, long_text, "offline", "digest", "p1")
    out = io.BytesIO()
    report = export_test_csv(project, out)
    rows = list(csv.reader(io.StringIO(out.getvalue().decode("utf-8"))))
    assert rows[0] == ["input", "target"]
    assert [r[1] for r in rows[1:]] == ["-"] * 5
    assert rows[1][0] == summaries[1]
    assert rows[2][0] == long_text
    assert report.over_limit == [2] and len(long_text) > MAX_ROW_CHARS
    assert report.problems


FORMULAS = {1: "=HYPERLINK(\"http://x\")", 2: "+1+2", 3: "-cmd", 4: "@SUM(A1)", 5: "\t=1"}


def test_test_csv_lists_formula_cells_and_keeps_them_by_default(project: ProjectStore) -> None:
    for index, text in FORMULAS.items():
        project.save_summary(project.get_record("test", index).id, text, "offline", "digest", "p1")
    out = io.BytesIO()
    report = export_test_csv(project, out)
    rows = list(csv.reader(io.StringIO(out.getvalue().decode("utf-8"))))
    assert [r[0] for r in rows[1:]] == list(FORMULAS.values())
    assert report.formula_like == [1, 2, 3, 4, 5]
    assert any("cells starting with =, +, -, @, tab or CR: records 1, 2, 3, 4, 5" in line for line in report.lines())


def test_test_csv_escapes_formula_cells_when_asked(project: ProjectStore) -> None:
    summaries = summarize_all(project, "test")
    project.save_summary(project.get_record("test", 2).id, "\r=cmd|' /C calc'!A0", "offline", "digest", "p1")
    out = io.BytesIO()
    report = export_test_csv(project, out, escape_formulas=True)
    rows = list(csv.reader(io.StringIO(out.getvalue().decode("utf-8"))))
    assert rows[2][0] == "'\r=cmd|' /C calc'!A0" and rows[1][0] == summaries[1]
    assert [r[1] for r in rows[1:]] == ["-"] * 5  # the platform's own unknown-target marker stays
    assert report.formula_like == [2] and "escaped" in "\n".join(report.lines())


def test_submission_has_every_record_and_validates(project: ProjectStore) -> None:
    first = project.get_record("test", 1)
    predicted = [{"基本信息-姓名": "孙芳6", "咨询类型": ["询价"]}]
    run = RunBook(project).create("test", "offline", "rules")
    project.save_prediction(first.id, json.dumps(predicted, ensure_ascii=False), predicted, "offline", "rules",
                            run=run)
    third = project.get_record("test", 3)
    project.save_prediction(third.id, "not json", [], "offline", "rules", error="no JSON in the answer", run=run)
    out = io.BytesIO()
    report = export_submission(project, out)
    entries = json.loads(out.getvalue())
    Draft202012Validator(SUBMISSION_SCHEMA).validate(entries)
    assert [e["index"] for e in entries] == [1, 2, 3, 4, 5]
    assert all(list(c) == list(FIELD_NAMES) for e in entries for c in e["infos"])
    assert entries[0]["infos"][0]["基本信息-姓名"] == "孙芳6"
    assert entries[0]["infos"][0]["意向产品"] == []
    assert entries[2]["infos"] == [dict.fromkeys(FIELD_NAMES, "") | {
        k: [] for k in ("咨询类型", "意向产品", "购买异议点", "下一步跟进计划-参与人")}]
    assert report.left_out["no prediction: empty template written"] == 4


def test_submission_of_an_empty_split_is_refused(store: ProjectStore) -> None:
    with pytest.raises(ExportError, match="import test data first"):
        export_submission(store, io.BytesIO())


def test_a_row_too_long_is_flagged_alike_in_the_jsonl_and_the_csv(project: ProjectStore) -> None:
    """One measure, `row_chars`, for both files: 7,990 characters of summary make a JSONL row
    over the limit (instruction and gold count too) and a CSV row under it."""
    summarize_all(project, "train")
    summarize_all(project, "test")
    text = "摘" * 7_990
    for split in ("train", "test"):
        project.save_summary(project.get_record(split, 2).id, text, "offline", "digest", "p1")  # type: ignore[arg-type]
    with using(surface="cli"):
        jsonl = export_train_jsonl(project, io.BytesIO(), repeat=1)
    table = export_test_csv(project, io.BytesIO())
    assert jsonl.over_limit == [2] and jsonl.problems == [
        "10 rows is under the platform's minimum of 1500; use --repeat auto",
        f"1 row (1 record) exceeds {MAX_ROW_CHARS} characters; the platform refuses it: shorten those summaries"]
    with using(surface="cli"):
        repeated = export_train_jsonl(project, io.BytesIO(), repeat=3)
    assert repeated.problems[-1].startswith("3 rows (1 record) exceed")  # the rows the file holds
    assert "problem:" not in "\n".join(repeated.lines(problems=False))
    assert table.over_limit == [] and max(table.row_chars) == 7_991
    train_row = finetune_row(project.get_record("train", 2), text)
    assert row_chars(train_row) == max(jsonl.row_chars) > MAX_ROW_CHARS
    assert row_length(project.get_record("train", 2), text).startswith(f"{row_chars(train_row):,} / 8,000")
    assert "too long" not in row_length(project.get_record("test", 2), text)
    out = io.BytesIO()
    dropped = export_train_jsonl(project, out, repeat=1, drop_long=True)  # as the other formats may
    assert dropped.over_limit == [] and dropped.records == 9 and len(out.getvalue().splitlines()) == 9
    assert "left out: 1 record (over the platform's row length)" in dropped.lines()
    assert not any("exceed" in problem for problem in dropped.problems)


def test_a_repeated_jsonl_reads_the_store_once(project: ProjectStore) -> None:
    """`--repeat auto` on a project with one big chat took 38 s: it re-read the store per repeat."""
    summarize_all(project)
    statements: list[str] = []
    event.listen(project.engine, "before_cursor_execute",
                 lambda conn, cursor, statement, *rest: statements.append(statement))

    def reads(repeat: int) -> int:
        statements.clear()
        out = io.BytesIO()
        report = export_train_jsonl(project, out, repeat=repeat)
        assert report.rows == 10 * repeat == out.getvalue().count(b"\n")
        return len(statements)

    assert reads(1) == reads(150)
