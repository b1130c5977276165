"""The curated data in every format: dataset round trips, chat rows and Parquet checked against their readers."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from jsonschema import Draft202012Validator
from sqlalchemy import func, select

from roleext.errors import ExportError, ImportRefusedError, InvalidFileError
from roleext.exports import export_alpaca, export_train_jsonl
from roleext.formats.chat_rows import export_messages, export_sharegpt, sharegpt_dataset_info
from roleext.formats.dataset import export_dataset, misfit
from roleext.formats.hf import export_hf, export_hf_zip, hf_report
from roleext.formats.importing import load_import, looks_like_chat
from roleext.formats.review_key import STATUS_VALUES
from roleext.io import load_chat_file
from roleext.project import ReviewStatus
from roleext.schema import CUSTOMER_SCHEMA, FIELD_NAMES, empty_customer
from roleext.store import ProjectStore

# --- the readers' own schemas, written from their documentation, not from our code ---------

OPENAI_CHAT_LINE = {
    # OpenAI's chat fine-tuning format: one object per line, a list of messages, each a role and text.
    "type": "object",
    "required": ["messages"],
    "properties": {"messages": {"type": "array", "minItems": 2, "items": {
        "type": "object", "required": ["role", "content"],
        "properties": {"role": {"enum": ["system", "user", "assistant", "tool"]},
                       "content": {"type": "string"}, "name": {"type": "string"},
                       "weight": {"enum": [0, 1]}},
        "additionalProperties": False}}},
    "additionalProperties": False,
}
ALPACA_ROW = {  # LLaMA-Factory data/README.md, alpaca supervised fine-tuning
    "type": "object", "required": ["instruction", "output"],
    "properties": {"instruction": {"type": "string"}, "input": {"type": "string"}, "output": {"type": "string"},
                   "system": {"type": "string"}, "history": {"type": "array"}},
}


def sharegpt_problems(item: dict[str, Any], info: dict[str, Any]) -> list[str]:
    """LLaMA-Factory's ShareGPT rules (data/README.md and its converter): the messages column
    holds turns keyed by the role and content tags; user turns at odd positions, assistant
    turns at even ones, an even count; `system` a string."""
    columns, tags = info["columns"], info.get("tags", {})
    role, content = tags.get("role_tag", "from"), tags.get("content_tag", "value")
    user, assistant = tags.get("user_tag", "human"), tags.get("assistant_tag", "gpt")
    turns = item[columns.get("messages", "conversations")]
    problems = [f"turn {n} is {t[role]}" for n, t in enumerate(turns)
                if t[role] not in ((user, "observation") if n % 2 == 0 else (assistant, "function_call"))]
    problems += ["odd number of turns"] if len(turns) % 2 else []
    problems += [f"turn {n} content is not text" for n, t in enumerate(turns) if not isinstance(t[content], str)]
    if "system" in columns and not isinstance(item.get(columns["system"], ""), str):
        problems.append("system is not text")
    return problems


def summarize_all(store: ProjectStore) -> None:
    for record in store.iter_records("train"):
        store.save_summary(record.id, "客户基本信息：" + record.chat_text.splitlines()[0], "offline", "digest", "p1")


def curate(store: ProjectStore) -> None:
    """A person's review: gold corrected on two records, every status used, by two reviewers."""
    first = store.get_record("train", 1)
    gold = [dict(c) for c in first.gold]
    gold[0]["客户是否有意向"] = "有意向"
    gold[0]["意向产品"] = ["会话存档", "不在已知值里的产品"]
    version = store.update_gold(first.id, gold, first.version, author="ann")
    store.set_status(first.id, ReviewStatus.ACCEPTED, version, author="ann")
    second = store.get_record("train", 2)
    version = store.update_gold(second.id, [*second.gold, empty_customer() | {"基本信息-姓名": "新客户1"}],
                                second.version, author="bob")
    store.set_status(second.id, ReviewStatus.NEEDS_FIX, version, author="bob")
    third = store.get_record("train", 3)
    store.set_status(third.id, ReviewStatus.REJECTED, third.version, author="bob")


def by_chat(store: ProjectStore, split: str = "train") -> dict[str, tuple[Any, str]]:
    return {r.chat_text: (r.gold, r.status.value) for r in store.iter_records(split)}  # type: ignore[arg-type]


def history_count(store: ProjectStore) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(store.history)).scalar_one())


@pytest.fixture
def project(store: ProjectStore, sample_train: Path, sample_test: Path) -> ProjectStore:
    store.import_chat_file(load_chat_file(sample_train))
    store.import_chat_file(load_chat_file(sample_test))
    return store


def fresh(tmp_path: Path, name: str = "fresh.db") -> ProjectStore:
    return ProjectStore(tmp_path / name)


def dataset_bytes(store: ProjectStore, **options: Any) -> bytes:
    out = io.BytesIO()
    export_dataset(store, out, **options)
    return out.getvalue()


# --- dataset ---------------------------------------------------------------------------


def round_trip(project: ProjectStore, tmp_path: Path) -> None:
    data = dataset_bytes(project, scope="all", with_review=True)
    other = fresh(tmp_path)
    report = other.import_chat_file(load_import(other, data))
    assert report.added == project.count("train") and report.statuses_set == 3
    assert by_chat(other) == by_chat(project)
    # the reviewers come along: exporting the new project gives the same review keys
    again = json.loads(dataset_bytes(other, scope="all", with_review=True))
    first = json.loads(data)
    assert [(i["roleext"]["status"], i["roleext"]["reviewer"]) for i in again] == \
        [(i["roleext"]["status"], i["roleext"]["reviewer"]) for i in first]
    other.close()


def test_dataset_round_trip_gives_the_same_gold_and_statuses(project: ProjectStore, tmp_path: Path) -> None:
    curate(project)
    round_trip(project, tmp_path)


def test_dataset_round_trip_on_the_real_records(store: ProjectStore, shared_train: Path, tmp_path: Path) -> None:
    store.import_chat_file(load_chat_file(shared_train))
    curate(store)
    round_trip(store, tmp_path)


def test_dataset_is_the_competition_format_with_corrections_and_the_review(project: ProjectStore) -> None:
    curate(project)
    items = json.loads(dataset_bytes(project, with_review=True))
    assert len(items) == 9  # record 3 was rejected
    assert items[0]["infos"] == project.get_record("train", 1).gold
    assert items[0]["roleext"]["status"] == "accepted" and items[0]["roleext"]["reviewer"] == "ann"
    assert items[0]["roleext"]["last_edit"]["by"] == "ann"
    assert items[2]["roleext"] == {"status": "pending", "reviewer": None, "last_edit": None}
    # other tools read chat_text and infos: without the key, roleext reads it as a plain train.json
    plain = json.loads(dataset_bytes(project))
    assert [set(item) for item in plain] == [{"chat_text", "infos"}] * 9
    assert load_chat_file(json.dumps(plain, ensure_ascii=False).encode()).split == "train"
    test = json.loads(dataset_bytes(project, split="test"))
    assert len(test) == 5 and all(item["infos"] == [] for item in test)


def test_dataset_states_what_it_left_out(project: ProjectStore) -> None:
    curate(project)
    out = io.BytesIO()
    report = export_dataset(project, out, scope="accepted")
    assert report.rows == 1
    assert report.left_out == {"not accepted: pending": 7, "not accepted: needs-fix": 1,
                               "not accepted: rejected": 1}
    assert "left out: 7 records (not accepted: pending)" in report.lines()
    assert export_dataset(project, io.BytesIO()).left_out == {"rejected in review": 1}


def test_importing_the_dataset_into_the_same_project_changes_nothing(project: ProjectStore) -> None:
    curate(project)
    before, versions, edits = by_chat(project), [r.version for r in project.iter_records("train")], \
        history_count(project)
    for options in ({"scope": "all"}, {"scope": "all", "with_review": True},
                    {"scope": "accepted", "with_review": True}):
        report = project.import_chat_file(load_import(project, dataset_bytes(project, **options)))
        assert (report.added, report.updated, report.detached, report.statuses_set) == (0, 0, 0, 0), options
    assert by_chat(project) == before
    assert [r.version for r in project.iter_records("train")] == versions
    assert history_count(project) == edits
    # the corrected gold is still an edit: the original file cannot silently take it back
    assert project.get_record("train", 1).gold_edited


def test_a_file_status_never_replaces_a_review_made_here(project: ProjectStore, tmp_path: Path,
                                                         sample_train: Path) -> None:
    curate(project)
    data = dataset_bytes(project, scope="all", with_review=True)
    other = fresh(tmp_path)
    other.import_chat_file(load_chat_file(sample_train))
    mine = other.get_record("train", 1)
    other.set_status(mine.id, ReviewStatus.REJECTED, mine.version, author="cy")
    report = other.import_chat_file(load_import(other, data), confirmed=True)  # the file corrects gold
    assert report.statuses_set == 2 and report.statuses_kept == 1
    assert "1 review status kept" in report.line()
    assert other.get_record("train", 1).status == ReviewStatus.REJECTED
    assert other.get_record("train", 2).status == ReviewStatus.NEEDS_FIX
    other.close()


def test_a_bad_review_key_is_named_by_record_and_field(project: ProjectStore) -> None:
    items = json.loads(dataset_bytes(project, with_review=True))
    items[1]["roleext"]["status"] = "done"
    with pytest.raises(InvalidFileError) as caught:
        load_chat_file(json.dumps(items, ensure_ascii=False).encode())
    assert str(caught.value.problems[0]).startswith("record 2, field roleext: status is 'done'")


def test_review_statuses_are_spelled_as_the_project_spells_them() -> None:
    assert tuple(s.value for s in ReviewStatus) == STATUS_VALUES


# --- chat messages, ShareGPT, alpaca -----------------------------------------------------


def test_messages_lines_fit_openai_chat_format(project: ProjectStore) -> None:
    summarize_all(project)
    curate(project)
    out = io.BytesIO()
    report = export_messages(project, out)
    lines = [json.loads(line) for line in out.getvalue().decode().splitlines()]
    validator = Draft202012Validator(OPENAI_CHAT_LINE)
    assert all(not list(validator.iter_errors(line)) for line in lines)
    assert report.rows == len(lines) == 9 and report.left_out == {"rejected in review": 1}
    first = lines[0]["messages"]
    assert [m["role"] for m in first] == ["system", "user", "assistant"]
    assert json.loads(first[2]["content"]) == project.get_record("train", 1).gold
    assert first[1]["content"] == project.get_record("train", 1).summary.current  # type: ignore[union-attr]


def test_messages_repeat_only_when_asked_and_long_rows_can_be_left_out(project: ProjectStore) -> None:
    out = io.BytesIO()
    report = export_messages(project, out, source="chat", repeat=3, instruction="")
    lines = out.getvalue().decode().splitlines()
    assert report.rows == len(lines) == 30 and lines[:10] == lines[10:20]
    assert all(json.loads(line)["messages"][0]["role"] == "user" for line in lines)  # no instruction, no system
    assert report.over_limit == [8]
    assert report.problems[0].startswith("3 rows (1 record) exceed 8000 characters")  # the rows the file holds
    assert "use summaries for those records" in report.problems[0]  # the model reads the chat
    dropped = export_messages(project, io.BytesIO(), source="chat", drop_long=True)
    assert dropped.rows == 9 and dropped.left_out == {"over the platform's row length": 1}


def test_messages_without_summaries_say_why(project: ProjectStore) -> None:
    with pytest.raises(ExportError, match=r"10 no summary yet.*Summarize first"):
        export_messages(project, io.BytesIO())


def test_sharegpt_follows_llama_factory_and_registers_itself(project: ProjectStore) -> None:
    summarize_all(project)
    out = io.BytesIO()
    report = export_sharegpt(project, out)
    items = json.loads(out.getvalue())
    info = sharegpt_dataset_info("roleext_sharegpt.json")["roleext_sharegpt"]
    assert info["formatting"] == "sharegpt" and info["file_name"] == "roleext_sharegpt.json"
    assert report.rows == len(items) == 10
    assert all(sharegpt_problems(item, info) == [] for item in items)
    assert json.loads(items[0]["conversations"][1]["value"]) == project.get_record("train", 1).gold


def test_alpaca_rows_fit_llama_factory(project: ProjectStore) -> None:
    summarize_all(project)
    out = io.BytesIO()
    export_alpaca(project, out)
    validator = Draft202012Validator(ALPACA_ROW)
    assert all(not list(validator.iter_errors(row)) for row in json.loads(out.getvalue()))


ExportRows = Callable[[ProjectStore, io.BytesIO], object]
ROW_EXPORTS: dict[str, ExportRows] = {
    "messages": lambda s, out: export_messages(s, out, source="chat", repeat=2),
    "sharegpt": lambda s, out: export_sharegpt(s, out, source="chat"),
    "alpaca": lambda s, out: export_alpaca(s, out, source="chat"),
    "train-jsonl": lambda s, out: export_train_jsonl(s, out, source="chat"),
}


@pytest.mark.parametrize("kind", ROW_EXPORTS)
def test_chat_rows_import_as_gold_into_a_new_project(kind: str, project: ProjectStore, tmp_path: Path) -> None:
    curate(project)
    out = io.BytesIO()
    ROW_EXPORTS[kind](project, out)
    other = fresh(tmp_path)
    chat_file = load_import(other, out.getvalue())
    report = other.import_chat_file(chat_file)
    assert report.added == 9  # the rejected record was not exported
    expected = {chat: gold for chat, (gold, status) in by_chat(project).items() if status != "rejected"}
    assert {chat: gold for chat, (gold, _) in by_chat(other).items()} == expected
    other.close()


@pytest.mark.parametrize("kind", ["messages", "sharegpt"])
def test_summary_rows_give_their_gold_to_the_record_they_summarize(kind: str, project: ProjectStore) -> None:
    summarize_all(project)
    out = io.BytesIO()
    (export_messages if kind == "messages" else export_sharegpt)(project, out)
    items = [json.loads(line) for line in out.getvalue().decode().splitlines()] if kind == "messages" \
        else json.loads(out.getvalue())
    turns = items[1]["messages"] if kind == "messages" else items[1]["conversations"]
    answer = turns[-1]
    gold = json.loads(answer["content" if kind == "messages" else "value"])
    gold[0]["客户购买阶段"] = "报价"  # a teammate's correction in the file
    answer["content" if kind == "messages" else "value"] = json.dumps(gold, ensure_ascii=False)
    text = "\n".join(json.dumps(i, ensure_ascii=False) for i in items)
    chat_file = load_import(project, text.encode())
    with pytest.raises(ImportRefusedError, match="needs a confirmation"):
        project.import_chat_file(chat_file)
    first = project.get_record("train", 1).gold
    report = project.import_chat_file(chat_file, confirmed=True)
    assert (report.added, report.updated, report.detached) == (0, 1, 0)
    assert project.get_record("train", 2).gold == gold
    assert project.get_record("train", 1).gold == first


def test_rows_whose_input_is_an_unknown_summary_are_refused_by_row(project: ProjectStore, tmp_path: Path) -> None:
    summarize_all(project)
    out = io.BytesIO()
    export_messages(project, out)
    with pytest.raises(InvalidFileError) as caught:
        load_import(fresh(tmp_path), out.getvalue())
    assert str(caught.value.problems[0]).startswith("record 1, field input: the user turn is not a chat")


def test_rows_whose_answer_is_not_the_21_fields_are_refused() -> None:
    rows = [{"instruction": "x", "input": "王勇7：你好\n李娜3：在吗\n王勇7：在", "output": "好的"}]
    with pytest.raises(InvalidFileError, match="record 1, field answer: the answer is not JSON"):
        load_import(ProjectStore("sqlite://"), json.dumps(rows, ensure_ascii=False).encode())


def test_chats_and_summaries_are_told_apart(sample_records: list[dict[str, Any]]) -> None:
    assert all(looks_like_chat(r["chat_text"]) for r in sample_records)
    assert not looks_like_chat("客户基本信息：姓名王勇7\n客户意向与预算信息：无\n跟进计划信息：无")
    assert not looks_like_chat("## 客户基本信息\n- 姓名：王勇7\n- 手机：13812345678")
    assert not looks_like_chat("【事实摘录】\n发言人：王勇7（2条）\n【对话（已清理）】\n王勇7：你好\n王勇7：在吗")


# --- Hugging Face folder ---------------------------------------------------------------


def test_hf_folder_reads_with_pandas_and_names_its_splits_and_fields(project: ProjectStore, tmp_path: Path) -> None:
    summarize_all(project)
    curate(project)
    folder = tmp_path / "hf"
    folder.mkdir()
    report = export_hf(project, folder)
    train = pd.read_parquet(folder / "data" / "train-00000-of-00001.parquet")
    test = pd.read_parquet(folder / "data" / "test-00000-of-00001.parquet")
    assert (len(train), len(test)) == (9, 5) and report.records == 14
    assert list(train.columns) == ["index", "chat_text", "summary", "infos", "status"]
    first = train.iloc[0]
    customer = first["infos"][0]
    assert customer["客户是否有意向"] == "有意向" and list(customer["意向产品"]) == ["会话存档", "不在已知值里的产品"]
    assert first["status"] == "accepted" and test["summary"].isna().all()
    card = (folder / "README.md").read_text("utf-8")
    assert "| train | 9 |" in card and "| test | 5 |" in card and "path: data/train-*.parquet" in card
    assert all(f"`{name}`" in card for name in FIELD_NAMES)
    assert report.left_out == {"rejected in review": 1}
    assert report.lines()[0] == "Hugging Face dataset: 14 rows from 14 records (by split: train 9, test 5)"
    assert hf_report(project).lines() == report.lines()


def test_hf_folder_loads_with_datasets(project: ProjectStore, tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    folder = tmp_path / "hf"
    folder.mkdir()
    export_hf(project, folder)
    loaded = datasets.load_dataset(str(folder))
    assert loaded["train"].num_rows == 10 and loaded["test"].num_rows == 5


def test_hf_zip_holds_the_folder(project: ProjectStore) -> None:
    out = io.BytesIO()
    export_hf_zip(project, out)
    names = zipfile.ZipFile(out).namelist()
    assert sorted(names) == ["roleext_dataset/README.md", "roleext_dataset/data/test-00000-of-00001.parquet",
                             "roleext_dataset/data/train-00000-of-00001.parquet"]


# --- command line ----------------------------------------------------------------------


def test_cli_exports_every_format_and_imports_the_dataset_back(cli: Callable[..., tuple[int, str, str]],
                                                               sample_train: Path, tmp_path: Path) -> None:
    assert cli("import", str(sample_train))[0] == 0
    code, out, _ = cli("export", "dataset", str(tmp_path / "d.json"), "--with-review", "--records", "all")
    assert code == 0 and "train dataset: 10 rows from 10 records" in out
    code, out, _ = cli("export", "sharegpt", str(tmp_path / "s.json"), "--input", "chat")
    assert code == 0 and "roleext_sharegpt" in json.loads((tmp_path / "dataset_info.json").read_text("utf-8"))
    code, out, _ = cli("export", "messages", str(tmp_path / "m.jsonl"), "--input", "chat", "--repeat", "2")
    assert code == 0 and len((tmp_path / "m.jsonl").read_text("utf-8").splitlines()) == 20
    code, out, _ = cli("export", "hf", str(tmp_path / "hf"))
    assert code == 0 and (tmp_path / "hf" / "README.md").exists()
    code, _, err = cli("export", "hf", str(tmp_path / "hf"))
    assert code == 2 and "is not an empty folder" in err
    code, out, err = cli("import", str(tmp_path / "d.json"))
    assert code == 0 and "10 unchanged" in out and "merged into the train split" in err
    code, out, _ = cli("import", str(tmp_path / "m.jsonl"))
    assert code == 0 and "10 unchanged" in out
    code, out, _ = cli("validate", str(tmp_path / "s.json"))
    assert code == 0 and out.startswith("sharegpt file: 10 records")


@pytest.mark.parametrize("customer", [
    empty_customer() | {"咨询类型": "答疑"}, {"基本信息-姓名": "王勇7"}, empty_customer() | {"多余": ""},
    empty_customer() | {"意向产品": [1]}, "王勇7", empty_customer() | {"基本信息-姓名": None}])
def test_the_dataset_check_agrees_with_the_schema(customer: Any) -> None:
    assert misfit(empty_customer()) is None
    assert misfit(customer) is not None
    assert list(Draft202012Validator(CUSTOMER_SCHEMA).iter_errors(customer))


def test_gold_that_does_not_fit_stops_the_export_naming_the_record(project: ProjectStore) -> None:
    record = project.get_record("train", 4)
    project.update_gold(record.id, [{"基本信息-姓名": "王勇7"}], record.version)
    with pytest.raises(ExportError, match="record 4: its gold does not fit"):
        export_dataset(project, io.BytesIO())
