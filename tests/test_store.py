"""The project store on real SQLite files: imports by content, versioned edits, history."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from roleext.errors import ConflictError, ImportRefusedError, NotFoundError
from roleext.io import load_chat_file
from roleext.migrations import MIGRATIONS
from roleext.project import ReviewStatus
from roleext.runs import RunBook
from roleext.store import ProjectStore


def chat_file_of(records: list[dict[str, Any]]) -> Any:
    return load_chat_file(json.dumps(records, ensure_ascii=False).encode(), split="train")


def test_reimporting_the_same_file_adds_nothing(store: ProjectStore, sample_train: Path) -> None:
    first = store.import_chat_file(load_chat_file(sample_train))
    again = store.import_chat_file(load_chat_file(sample_train))
    assert (first.added, again.added, again.updated, again.unchanged) == (10, 0, 0, 10)
    assert store.count("train") == 10


def test_reordered_file_keeps_ids_reviews_and_summaries(store: ProjectStore,
                                                        sample_records: list[dict[str, Any]]) -> None:
    store.import_chat_file(chat_file_of(sample_records))
    first = store.get_record("train", 1)
    store.set_status(first.id, ReviewStatus.ACCEPTED, first.version)
    store.save_summary(first.id, "客户李娜3询价", "offline", "digest", "p1")

    report = store.import_chat_file(chat_file_of(sample_records[1:] + sample_records[:1]))

    moved = store.get_record("train", 10)
    assert (report.added, report.updated) == (0, 10)
    assert moved.id == first.id and moved.chat_text == first.chat_text
    assert moved.status == ReviewStatus.ACCEPTED
    assert moved.summary is not None and moved.summary.text == "客户李娜3询价"


def test_changed_gold_follows_the_file_unless_the_user_edited_it(
        store: ProjectStore, sample_records: list[dict[str, Any]]) -> None:
    store.import_chat_file(chat_file_of(sample_records))
    edited = store.get_record("train", 2)
    mine = copy.deepcopy(edited.gold)
    mine[0]["客户是否有意向"] = "有意向"
    store.update_gold(edited.id, mine, edited.version)

    changed = copy.deepcopy(sample_records)
    changed[0]["infos"][0]["客户购买阶段"] = "赢单"
    changed[1]["infos"][0]["客户购买阶段"] = "赢单"
    with pytest.raises(ImportRefusedError, match="gold changes in 1 record "):
        store.import_chat_file(chat_file_of(changed))
    assert store.get_record("train", 1).gold[0]["客户购买阶段"] != "赢单"
    store.import_chat_file(chat_file_of(changed), confirmed=True)

    assert store.get_record("train", 1).gold[0]["客户购买阶段"] == "赢单"
    kept = store.get_record("train", 2)
    assert kept.gold == mine
    assert kept.gold_imported[0]["客户购买阶段"] == "赢单"


def test_a_chat_edited_in_place_keeps_its_review(store: ProjectStore,
                                                 sample_records: list[dict[str, Any]]) -> None:
    store.import_chat_file(chat_file_of(sample_records))
    record = store.get_record("train", 4)
    store.set_status(record.id, ReviewStatus.NEEDS_FIX, record.version)
    changed = copy.deepcopy(sample_records)
    changed[3]["chat_text"] += "\n赵强8：补充一句"
    report = store.import_chat_file(chat_file_of(changed))
    updated = store.get_record("train", 4)
    assert (report.added, report.updated, report.unchanged) == (0, 1, 9)
    assert updated.id == record.id and updated.chat_text.endswith("补充一句")
    assert updated.status == ReviewStatus.NEEDS_FIX


def test_a_record_dropped_from_the_file_is_kept_and_comes_back(
        store: ProjectStore, sample_records: list[dict[str, Any]]) -> None:
    store.import_chat_file(chat_file_of(sample_records))
    last = store.get_record("train", 10)
    store.save_summary(last.id, "钱娜6项目搁置", "offline", "digest", "p1")

    with pytest.raises(ImportRefusedError, match="record 10 leaves the split"):
        store.import_chat_file(chat_file_of(sample_records[:9]))
    assert store.count("train") == 10
    report = store.import_chat_file(chat_file_of(sample_records[:9]), confirmed=True)
    assert report.detached == 1 and store.count("train") == 9
    with pytest.raises(NotFoundError):
        store.get_record("train", 10)

    store.import_chat_file(chat_file_of(sample_records))
    back = store.get_record("train", 10)
    assert back.id == last.id
    assert back.summary is not None and back.summary.text == "钱娜6项目搁置"


def test_two_writers_on_one_file_the_second_gets_a_conflict(tmp_path: Path, sample_train: Path) -> None:
    path = tmp_path / "shared.db"
    tab_a, tab_b = ProjectStore(path), ProjectStore(path)
    try:
        tab_a.import_chat_file(load_chat_file(sample_train))
        seen_by_a = tab_a.get_record("train", 3)
        seen_by_b = tab_b.get_record("train", 3)
        edit_a = copy.deepcopy(seen_by_a.gold)
        edit_a[0]["客户购买阶段"] = "赢单"
        edit_b = copy.deepcopy(seen_by_b.gold)
        edit_b[0]["客户购买阶段"] = "输单"

        tab_a.update_gold(seen_by_a.id, edit_a, seen_by_a.version, author="tab-a")
        with pytest.raises(ConflictError, match="changed elsewhere"):
            tab_b.update_gold(seen_by_b.id, edit_b, seen_by_b.version, author="tab-b")

        stored = ProjectStore(path).get_record("train", 3)
        assert stored.gold == edit_a
        assert [(h.author, h.after) for h in tab_b.history_of(stored.id)] == [("tab-a", edit_a)]
    finally:
        tab_a.close()
        tab_b.close()


def test_status_and_summary_edits_are_versioned_and_recorded(store: ProjectStore, sample_train: Path) -> None:
    store.import_chat_file(load_chat_file(sample_train))
    record = store.get_record("train", 1)
    version = store.set_status(record.id, ReviewStatus.ACCEPTED, record.version, author="ann")
    with pytest.raises(ConflictError):
        store.set_status(record.id, ReviewStatus.REJECTED, record.version)
    store.save_summary(record.id, "生成的摘要", "offline", "digest", "p1")
    summary = store.get_record("train", 1).summary
    assert summary is not None
    store.edit_summary(record.id, "审核后的摘要", summary.version, author="ann")
    with pytest.raises(ConflictError):
        store.edit_summary(record.id, "另一个标签页的摘要", summary.version)

    after = store.get_record("train", 1)
    assert after.version == version and after.status == ReviewStatus.ACCEPTED
    assert after.summary is not None and after.summary.current == "审核后的摘要"
    assert after.summary.text == "生成的摘要"
    assert [(h.target, h.before, h.after) for h in store.history_of(record.id)] == [
        ("status", "pending", "accepted"), ("summary", "生成的摘要", "审核后的摘要")]


def test_prediction_correction_wins_over_the_parse(store: ProjectStore, sample_train: Path) -> None:
    store.import_chat_file(load_chat_file(sample_train))
    record = store.get_record("train", 2)
    run = RunBook(store).create("train", "offline", "rules")
    store.save_prediction(record.id, '[{"基本信息-姓名": "周军9"}]', [{"基本信息-姓名": "周军9"}], "offline", "rules",
                          run=run)
    prediction = store.get_record("train", 2).prediction
    assert prediction is not None and prediction.run == run
    store.correct_prediction(record.id, record.gold, prediction.version, run=run)
    corrected = store.get_record("train", 2).prediction
    assert corrected is not None and corrected.infos == record.gold
    assert corrected.raw_output == '[{"基本信息-姓名": "周军9"}]'


def test_editing_what_does_not_exist_says_so(store: ProjectStore, sample_train: Path) -> None:
    store.import_chat_file(load_chat_file(sample_train))
    record = store.get_record("train", 1)
    with pytest.raises(NotFoundError, match="no summary"):
        store.edit_summary(record.id, "x", 1)
    with pytest.raises(NotFoundError):
        store.update_gold(999_999, [], 1)


def test_database_is_in_wal_mode_and_reopens_without_migrating_again(tmp_path: Path) -> None:
    path = tmp_path / "roleext.db"
    ProjectStore(path).close()
    reopened = ProjectStore(path)
    with reopened.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        names = conn.execute(text("SELECT name FROM roleext_migrations")).scalars().all()
    assert names == [name for name, _ in MIGRATIONS] and len(names) >= 4
    reopened.close()


def test_real_train_file_imports_once(store: ProjectStore, shared_train: Path) -> None:
    chat_file = load_chat_file(shared_train)
    assert store.import_chat_file(chat_file).added == 100
    assert store.import_chat_file(chat_file).unchanged == 100
    assert [r.index for r in store.list_records("train")] == list(range(1, 101))


def test_a_new_run_keeps_reviewed_output_unless_told_and_history_keeps_what_it_replaced(
        store: ProjectStore, sample_train: Path) -> None:
    store.import_chat_file(load_chat_file(sample_train))
    record = store.get_record("train", 1)
    store.save_summary(record.id, "第一版", "offline", "digest", "p1")
    store.edit_summary(record.id, "审核员的版本", 1)
    run = RunBook(store).create("train", "offline", "rules")
    store.save_prediction(record.id, "[]", [], "offline", "rules", run=run)
    store.correct_prediction(record.id, record.gold, 1, run=run)

    assert not store.save_summary(record.id, "第二版", "spark", "lite", "p2")
    assert not store.save_prediction(record.id, "[]", [], "spark", "lite", run=run)
    kept = store.get_record("train", 1)
    assert kept.summary is not None and kept.summary.current == "审核员的版本"
    assert kept.prediction is not None and kept.prediction.infos == record.gold

    assert store.save_summary(record.id, "第二版", "spark", "lite", "p2", overwrite_edits=True)
    assert store.save_prediction(record.id, "[]", [], "spark", "lite", run=run, overwrite_edits=True)
    replaced = [(h.target, h.author, h.before, h.after) for h in store.history_of(record.id)
                if h.author == "generated"]
    assert replaced == [("summary", "generated", "审核员的版本", "第二版"),
                        ("prediction", "generated", record.gold, [])]


def test_an_edit_that_changes_nothing_writes_no_history(store: ProjectStore, sample_train: Path) -> None:
    """A widget re-sending what it shows (a rerun, a download click) is not an edit to undo."""
    store.import_chat_file(load_chat_file(sample_train))
    record = store.get_record("train", 1)
    assert store.update_gold(record.id, record.gold, record.version) == record.version
    assert store.set_status(record.id, record.status, record.version) == record.version
    assert store.history_of(record.id) == []
    changed = store.update_gold(record.id, [{**record.gold[0], "基本信息-邮箱": "a@b.cn"}], record.version)
    assert changed == record.version + 1 and len(store.history_of(record.id)) == 1
