"""Importing user files: every bad input gets a message naming the record and the field."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from roleext.errors import MAX_PROBLEMS_SHOWN, InvalidFileError
from roleext.i18n import using
from roleext.io import MAX_FILE_BYTES, load_chat_file, load_submission
from roleext.schema import FIELD_NAMES


def problems_of(data: bytes) -> list[str]:
    with pytest.raises(InvalidFileError) as caught:
        load_chat_file(data)
    return [str(p) for p in caught.value.problems]


def encode(items: Any) -> bytes:
    return json.dumps(items, ensure_ascii=False).encode("utf-8")


def test_sample_train_loads_with_its_customers(sample_train: Path) -> None:
    chat_file = load_chat_file(sample_train)
    assert chat_file.split == "train"
    assert [r.index for r in chat_file.records] == list(range(1, 11))
    assert max(len(r.infos) for r in chat_file.records) == 2


def test_test_file_is_guessed_as_test(sample_test: Path) -> None:
    assert load_chat_file(sample_test).split == "test"


def test_bom_and_jsonl_read_like_a_list(sample_records: list[dict[str, Any]]) -> None:
    as_list = load_chat_file(b"\xef\xbb\xbf" + encode(sample_records))
    jsonl = "\n".join(json.dumps(r, ensure_ascii=False) for r in sample_records).encode()
    as_lines = load_chat_file(jsonl)
    assert [r.chat_text for r in as_list.records] == [r.chat_text for r in as_lines.records]


def test_unknown_customer_field_is_named_with_a_suggestion(sample_records: list[dict[str, Any]]) -> None:
    records = copy.deepcopy(sample_records)
    customer = records[2]["infos"][0]
    customer["基本信息-姓 名"] = customer.pop("基本信息-姓名")
    problems = problems_of(encode(records))
    assert ("record 3, customer 1, field 基本信息-姓 名: unknown field, not one of the 21 fields "
            "(did you mean 基本信息-姓名?)") in problems
    assert any(p.startswith("record 3, customer 1, field 基本信息-姓名: missing") for p in problems)


def test_unknown_record_key_is_named(sample_records: list[dict[str, Any]]) -> None:
    records = copy.deepcopy(sample_records)
    records[4]["id"] = 5
    assert problems_of(encode(records)) == [
        "record 5, field id: unknown key; a record holds only chat_text (a string) and infos (a list)"]


def test_missing_chat_text_is_named(sample_records: list[dict[str, Any]]) -> None:
    records = copy.deepcopy(sample_records)
    del records[1]["chat_text"]
    assert problems_of(encode(records)) == [
        "record 2, field chat_text: missing; a record needs chat_text (a string) and infos (a list)"]


def test_customer_missing_most_fields_reads_as_one_line(sample_records: list[dict[str, Any]]) -> None:
    records = copy.deepcopy(sample_records)
    records[0]["infos"] = [{"基本信息-姓名": "李娜3"}]
    (problem,) = problems_of(encode(records))
    assert problem.startswith("record 1, customer 1, field infos: lacks 20 of the 21 fields")


def test_string_where_a_list_is_expected(sample_records: list[dict[str, Any]]) -> None:
    records = copy.deepcopy(sample_records)
    records[6]["infos"][0]["咨询类型"] = "答疑"
    assert problems_of(encode(records)) == [
        'record 7, customer 1, field 咨询类型: is a string ("答疑"), expected a list of strings']


def test_number_inside_a_list_field(sample_records: list[dict[str, Any]]) -> None:
    records = copy.deepcopy(sample_records)
    records[0]["infos"][0]["意向产品"] = ["会话存档", 3]
    assert problems_of(encode(records)) == [
        "record 1, customer 1, field 意向产品: item 2 is a number (3), expected a string"]


def test_record_that_is_not_an_object() -> None:
    assert problems_of(b'["just text"]') == [
        "record 1: is a string, expected an object with chat_text (a string) and infos (a list)"]


def test_infos_of_the_wrong_type(sample_records: list[dict[str, Any]]) -> None:
    records = copy.deepcopy(sample_records)
    records[3]["infos"] = "none"
    assert problems_of(encode(records)) == [
        'record 4, field infos: is a string ("none"), expected a list of customer objects']


def test_bare_dict_infos_is_accepted_with_a_warning(sample_records: list[dict[str, Any]]) -> None:
    records = copy.deepcopy(sample_records)
    records[1]["infos"] = records[1]["infos"][0]
    chat_file = load_chat_file(encode(records))
    assert chat_file.records[1].infos == sample_records[1]["infos"]
    assert [str(w) for w in chat_file.warnings] == [
        "record 2, field infos: is a single object, expected a list of customers; read as a list of one"]


@pytest.mark.parametrize("data", [b"", b"   \n", b"\xef\xbb\xbf"])
def test_empty_file(data: bytes) -> None:
    assert problems_of(data) == ["file: is empty; expected a JSON list of records"]


def test_not_json() -> None:
    (problem,) = problems_of(b'[{"chat_text": "a", "infos": [],}]')
    assert problem == "file: is not valid JSON: a key in double quotes was expected at line 1, column 33"


def test_why_a_file_is_not_json_is_said_in_the_readers_language() -> None:
    """Python's JSON reader speaks English only: its reason is translated, not quoted."""
    with using("zh"):
        (problem,) = problems_of(b'[{"chat_text": "a"')
    assert "不是有效的 JSON（第 1 行第 19 列：此处应为逗号）" in problem and "Expecting" not in problem


def test_jsonl_with_a_broken_line_names_the_record(sample_records: list[dict[str, Any]]) -> None:
    lines = [json.dumps(r, ensure_ascii=False) for r in sample_records[:3]]
    lines[1] = lines[1][:-2]
    (problem,) = problems_of("\n".join(lines).encode())
    assert problem.startswith("record 2: line is not valid JSON")


def test_not_utf8() -> None:
    (problem,) = problems_of('[{"chat_text": "王勇7：你好"}]'.encode("gbk"))
    assert problem.startswith("file: is not UTF-8 text")


def test_top_level_object() -> None:
    assert problems_of(b'{"data": []}') == [
        "file: top level is an object, expected a list of records ([{...}, ...])"]


def test_file_over_the_size_limit_is_refused_before_reading(tmp_path: Path) -> None:
    big = tmp_path / "train.json"
    with big.open("wb") as handle:  # sparse: 1.2 GB on paper, nothing on disk
        handle.truncate(1200 * 1024 * 1024)
    assert big.stat().st_size > MAX_FILE_BYTES
    with pytest.raises(InvalidFileError) as caught:
        load_chat_file(big)
    assert str(caught.value.problems[0]) == (
        "file: is 1200.0 MB, over the limit of 1024 MB; split it into smaller files")
    assert "train.json" in str(caught.value)


def test_all_problems_are_reported_but_the_message_is_capped(sample_records: list[dict[str, Any]]) -> None:
    records = [{"chat_text": "王勇7：你好", "infos": "x"} for _ in range(120)]
    with pytest.raises(InvalidFileError) as caught:
        load_chat_file(encode(records))
    assert len(caught.value.problems) == 120
    lines = str(caught.value).splitlines()
    assert len(lines) == 1 + MAX_PROBLEMS_SHOWN + 1
    assert lines[-1] == f"... and {120 - MAX_PROBLEMS_SHOWN} more problems"


def test_label_noise_is_kept_and_flagged(sample_records: list[dict[str, Any]]) -> None:
    records = copy.deepcopy(sample_records)
    customer = records[0]["infos"][0]
    customer["咨询类型"] = ["答疑、吐槽"]
    customer["基本信息-手机号码"] = "138 1234 5678"
    customer["基本信息-姓名"] = "李娜3（客户）"
    chat_file = load_chat_file(encode(records))
    assert chat_file.records[0].infos[0] == customer
    lints = [str(p) for p in chat_file.lints]
    assert any(p.startswith("record 1, customer 1, field 咨询类型: '答疑、吐槽' is not a known value") for p in lints)
    assert any(p.startswith("record 1, customer 1, field 基本信息-手机号码:") for p in lints)
    assert any(p.startswith("record 1, customer 1, field 基本信息-姓名:") for p in lints)


def test_real_train_file_loads_with_its_known_noise(shared_train: Path) -> None:
    chat_file = load_chat_file(shared_train)
    assert len(chat_file.records) == 100
    assert all(set(c) == set(FIELD_NAMES) for r in chat_file.records for c in r.infos)
    assert chat_file.lints, "the real data's label noise should be flagged"


def test_submission_with_bare_dict_infos_is_read_with_a_warning() -> None:
    entry = {"infos": {"基本信息-姓名": "李娜3"}, "index": 1}
    submission = load_submission(json.dumps([entry], ensure_ascii=False).encode())
    assert submission.infos_by_index[1][0]["基本信息-姓名"] == "李娜3"
    assert len(submission.infos_by_index[1][0]) == 21
    assert submission.warnings[0].field == "infos"


def test_submission_with_a_repeated_index() -> None:
    entries = [{"infos": [{}], "index": 1}, {"infos": [{}], "index": 1}]
    with pytest.raises(InvalidFileError) as caught:
        load_submission(json.dumps(entries).encode())
    assert str(caught.value.problems[0]) == "record 2, field index: index 1 appears twice"
