"""Review logic without the UI: warnings, filters, navigation, undo, form values."""

from __future__ import annotations

from pathlib import Path

import pytest

from roleext.backends import OfflineBackend
from roleext.backends.choice import BackendChoice, find_credentials
from roleext.errors import NotFoundError, RoleextError
from roleext.i18n import using
from roleext.io import load_chat_file
from roleext.jobs import Job, JobRegistry, JobSpec
from roleext.project import ReviewStatus
from roleext.record_list import RecordFilter, RecordList, filter_records
from roleext.review import (
    FormValues,
    RecordAddress,
    RecordEditor,
    UnsavedEditConflict,
    customer_cells,
    customer_from_form,
    history_rows,
    options_for,
    record_address,
    record_warnings,
    to_form,
    undo_last_edit,
)
from roleext.schema import FIELDS, FIELDS_BY_NAME
from roleext.store import ProjectStore


@pytest.fixture
def project(store: ProjectStore, sample_train: Path) -> ProjectStore:
    store.import_chat_file(load_chat_file(sample_train))
    return store


def test_a_gold_value_the_summary_lost_is_a_warning(project: ProjectStore) -> None:
    record = project.get_record("train", 1)
    project.save_summary(record.id, "客户李娜3咨询会话存档价格", "spark", "lite", "p")
    warnings = [str(w) for w in record_warnings(project.get_record("train", 1))]
    assert any("field 基本信息-手机号码: '13812345678' is in the chat but not in the summary" in w for w in warnings)
    assert not any("'李娜3'" in w for w in warnings)


def test_a_gold_name_absent_from_the_chat_is_a_warning(project: ProjectStore) -> None:
    record = project.get_record("train", 2)
    project.update_gold(record.id, [dict(record.gold[0], **{"基本信息-姓名": "王五"})], record.version)
    warnings = [str(w) for w in record_warnings(project.get_record("train", 2))]
    assert "record 2, customer 1, field 基本信息-姓名: '王五' does not occur in the chat" in warnings


def test_filters_by_status_text_and_warnings(project: ProjectStore) -> None:
    first = project.get_record("train", 1)
    project.set_status(first.id, ReviewStatus.ACCEPTED, first.version)
    accepted = filter_records(project, RecordFilter("train", (ReviewStatus.ACCEPTED,)))
    assert [i.index for i in accepted] == [1]
    assert [i.index for i in filter_records(project, RecordFilter("train", text="sunjie@huihuang.com"))] == [3]
    assert [i.index for i in filter_records(project, RecordFilter("train", text="100%_"))] == []
    Job(project, OfflineBackend(), JobSpec("summarize", "train")).run()
    assert filter_records(project, RecordFilter("train", warnings_only=True)) == []


def test_next_unreviewed_skips_done_records_and_wraps(project: ProjectStore) -> None:
    for index in (2, 3):
        record = project.get_record("train", index)
        project.set_status(record.id, ReviewStatus.ACCEPTED, record.version)
    records = RecordList(project, RecordFilter("train"))
    assert records.next_unreviewed(1).index == 4  # type: ignore[union-attr]
    assert records.next_unreviewed(10).index == 1  # type: ignore[union-attr]
    for index in range(1, 11):
        record = project.get_record("train", index)
        project.set_status(record.id, ReviewStatus.REJECTED, record.version)
    assert records.next_unreviewed(1) is None


def test_next_unreviewed_means_pending_and_review_opens_at_the_first_one(project: ProjectStore) -> None:
    for index, status in ((1, ReviewStatus.ACCEPTED), (2, ReviewStatus.NEEDS_FIX), (4, ReviewStatus.NEEDS_FIX)):
        record = project.get_record("train", index)
        project.set_status(record.id, status, record.version)
    records = RecordList(project, RecordFilter("train"))
    assert records.next_unreviewed(1).index == 3  # type: ignore[union-attr]
    assert records.next_unreviewed(3).index == 5  # type: ignore[union-attr]  # needs-fix 4 was reviewed
    assert records.opening().index == 3  # type: ignore[union-attr]
    assert records.opening(4).index == 4  # type: ignore[union-attr]  # a record asked for by name opens, any status
    assert records.opening(99).index == 3  # type: ignore[union-attr]
    assert records.counts() == {ReviewStatus.PENDING: 7, ReviewStatus.ACCEPTED: 1, ReviewStatus.NEEDS_FIX: 2,
                                ReviewStatus.REJECTED: 0}


def test_the_record_list_pages_and_steps_within_its_filter(project: ProjectStore) -> None:
    """The picker offers a page around the record; page buttons step by whole pages, stopping at the ends."""
    records = RecordList(project, RecordFilter("train"))
    assert [i.index for i in records.page(5, size=4)] == [3, 4, 5, 6]
    assert [i.index for i in records.page(1, size=4)] == [1, 2, 3, 4]
    assert [i.index for i in records.page(10, size=4)] == [8, 9, 10]
    assert records.step(2, 4).index == 6 and records.step(8, 4).index == 10  # type: ignore[union-attr]
    assert records.step(10, 4) is None and records.step(3, -4).index == 1  # type: ignore[union-attr]
    for index in (2, 5, 7):
        record = project.get_record("train", index)
        project.set_status(record.id, ReviewStatus.ACCEPTED, record.version)
    accepted = RecordList(project, RecordFilter("train", (ReviewStatus.ACCEPTED,)))
    assert [i.index for i in accepted.page(5)] == [2, 5, 7]
    assert accepted.step(2, 1).index == 5 and accepted.get(3) is None  # type: ignore[union-attr]
    assert accepted.next_unreviewed(5) is None  # nothing pending among the accepted
    assert accepted.counts()[ReviewStatus.ACCEPTED] == 3 and sum(accepted.counts().values()) == 3


def test_warnings_only_walks_the_list_and_agrees_with_the_warnings(project: ProjectStore) -> None:
    Job(project, OfflineBackend(), JobSpec("summarize", "train")).run()
    for index in (3, 8):
        record = project.get_record("train", index)
        project.update_gold(record.id, [dict(record.gold[0], **{"基本信息-姓名": "不在聊天里的人"})], record.version)
    warned = RecordList(project, RecordFilter("train", warnings_only=True))
    expected = [r.index for r in project.iter_records("train") if record_warnings(r)]
    assert expected and {3, 8} <= set(expected)
    assert [i.index for i in warned.every()] == expected
    assert warned.opening().index == expected[0]  # type: ignore[union-attr]
    assert warned.next_unreviewed(expected[0]).index == expected[1]  # type: ignore[union-attr]
    assert [i.index for i in warned.page(expected[0])] == expected


def test_a_customer_reads_as_its_21_fields_in_order_each_value_as_text() -> None:
    customer = {"基本信息-姓名": "王五<script>alert(1)</script>", "咨询类型": ["答疑", "询价"], "客户购买阶段": ""}
    cells = dict(customer_cells(customer))
    assert list(cells) == [spec.name for spec in FIELDS]
    assert cells["基本信息-姓名"] == "王五<script>alert(1)</script>"  # text: the page never parses it
    assert cells["咨询类型"] == "答疑、询价" and cells["客户购买阶段"] == "—"


def test_a_url_query_names_a_record_or_nothing() -> None:
    assert record_address({"split": "test", "record": "19"}) == RecordAddress("test", 19)
    assert RecordAddress("train", 7).query() == {"split": "train", "record": "7"}
    for query in ({}, {"split": "train"}, {"split": "dev", "record": "1"}, {"split": "train", "record": "x"},
                  {"split": "train", "record": "-1"}, {"split": "train", "record": "١"}):
        assert record_address(query) is None


def test_undo_walks_back_one_edit_per_click_newest_first(project: ProjectStore) -> None:
    record = project.get_record("train", 1)
    assert record.summary is None
    Job(project, OfflineBackend(), JobSpec("summarize", "train")).run()
    record = project.get_record("train", 1)
    generated = record.summary.current  # type: ignore[union-attr]
    project.edit_summary(record.id, "审核员改写的摘要", 1)
    edited = [dict(record.gold[0], 客户购买阶段="赢单")]
    version = project.update_gold(record.id, edited, record.version)
    project.set_status(record.id, ReviewStatus.ACCEPTED, version)

    def undo() -> str:
        return undo_last_edit(project, project.get_record("train", 1), author="reviewer")

    assert undo().startswith("undid the status edit")
    now = project.get_record("train", 1)
    assert (now.status, now.gold, now.summary.current) == (ReviewStatus.PENDING, edited, "审核员改写的摘要")  # type: ignore[union-attr]
    assert undo().startswith("undid the gold edit")
    now = project.get_record("train", 1)
    assert (now.status, now.gold, now.summary.current) == (ReviewStatus.PENDING, record.gold, "审核员改写的摘要")  # type: ignore[union-attr]
    assert undo().startswith("undid the summary edit")
    assert project.get_record("train", 1).summary.current == generated  # type: ignore[union-attr]
    with pytest.raises(NotFoundError, match="no edit to undo"):
        undo()
    rows = history_rows(project.history_of(record.id))
    assert [(r["who"], r["what"]) for r in rows[:3]] == [
        ("reviewer", "undo of #1 (summary edit)"), ("reviewer", "undo of #2 (gold edit)"),
        ("reviewer", "undo of #3 (status edit)")]
    assert (rows[3]["before"], rows[3]["after"]) == ("pending", "accepted")
    assert (rows[4]["before"], rows[4]["after"]) == ("customer 1 客户购买阶段: 报价", "customer 1 客户购买阶段: 赢单")
    with using("zh"):  # statuses as the page names them, not the stored words
        status_row = history_rows(project.history_of(record.id))[3]
    assert (status_row["before"], status_row["after"]) == ("待审核", "已通过")


def test_an_edit_after_an_undo_is_undone_first_then_the_walk_goes_on(project: ProjectStore) -> None:
    record = project.get_record("train", 1)
    first = project.update_gold(record.id, [dict(record.gold[0], 客户购买阶段="赢单")], record.version)
    undo_last_edit(project, project.get_record("train", 1))
    later = [dict(record.gold[0], 竞品信息="微盛")]
    project.set_status(record.id, ReviewStatus.REJECTED, first + 1)
    project.update_gold(record.id, later, first + 2)
    undo_last_edit(project, project.get_record("train", 1))
    assert project.get_record("train", 1).gold == record.gold
    undo_last_edit(project, project.get_record("train", 1))
    assert project.get_record("train", 1).status == ReviewStatus.PENDING
    with pytest.raises(NotFoundError):
        undo_last_edit(project, project.get_record("train", 1))


def test_undo_never_reaches_behind_a_new_run_of_the_summary(project: ProjectStore) -> None:
    record = project.get_record("train", 1)
    project.save_summary(record.id, "第一次生成", "offline", "m", "p")
    project.edit_summary(record.id, "审核员改写", 1)
    version = project.update_gold(record.id, [dict(record.gold[0], 竞品信息="微盛")], record.version)
    project.save_summary(record.id, "重新生成", "offline", "m", "p", overwrite_edits=True)
    undo_last_edit(project, project.get_record("train", 1))
    assert project.get_record("train", 1).version == version + 1
    with pytest.raises(NotFoundError, match="no edit to undo"):
        undo_last_edit(project, project.get_record("train", 1))
    assert project.get_record("train", 1).summary.current == "重新生成"  # type: ignore[union-attr]


def test_accepting_saves_the_typed_text_first_even_when_its_own_save_ran_already(project: ProjectStore) -> None:
    Job(project, OfflineBackend(), JobSpec("summarize", "train")).run()
    record = project.get_record("train", 1)
    editor = RecordEditor(project, record)
    typed = FormValues("按快捷键前打的字", [dict(record.gold[0], **{"基本信息-邮箱": "a@example.com"})])
    editor.save(FormValues(summary=typed.summary))  # the box's own callback, in the same run
    editor.set_status(ReviewStatus.ACCEPTED, typed)
    saved = project.get_record("train", 1)
    assert saved.summary.current == "按快捷键前打的字"  # type: ignore[union-attr]
    assert saved.gold[0]["基本信息-邮箱"] == "a@example.com"
    assert saved.status == ReviewStatus.ACCEPTED
    assert [h.target for h in project.history_of(record.id)] == ["summary", "gold", "status"]


def test_a_refused_edit_keeps_the_text_that_was_not_saved(project: ProjectStore) -> None:
    Job(project, OfflineBackend(), JobSpec("summarize", "train")).run()
    record = project.get_record("train", 1)
    project.edit_summary(record.id, "另一个标签页先保存了", 1)  # another tab
    with pytest.raises(UnsavedEditConflict) as refused:
        RecordEditor(project, record).set_status(ReviewStatus.ACCEPTED, FormValues("我的改写"))
    assert (refused.value.unsaved.target, refused.value.unsaved.text) == ("summary", "我的改写")
    assert "changed elsewhere" in refused.value.unsaved.message
    assert project.get_record("train", 1).status == ReviewStatus.PENDING


def test_undo_with_nothing_to_undo_says_so(project: ProjectStore) -> None:
    with pytest.raises(NotFoundError, match="no edit to undo"):
        undo_last_edit(project, project.get_record("train", 1))


def test_options_keep_a_value_outside_the_known_set() -> None:
    consult = FIELDS_BY_NAME["咨询类型"]
    assert options_for(consult, ["答疑、吐槽"]) == ["答疑", "询价", "吐槽", "答疑、吐槽"]
    stage = FIELDS_BY_NAME["客户购买阶段"]
    assert "" not in options_for(stage, "") and "赢单" in options_for(stage, "")
    assert to_form(stage, "") is None and customer_from_form({"客户购买阶段": None})["客户购买阶段"] == ""


def test_form_values_round_trip(sample_records: list[dict[str, object]]) -> None:
    customer = sample_records[2]["infos"][0]  # type: ignore[index]
    form = {name: to_form(FIELDS_BY_NAME[name], value) for name, value in customer.items()}
    assert form["下一步跟进计划-参与人"] == "孙洋2、钱芳6、孙杰2"
    assert customer_from_form(form) == customer


def test_the_registry_refuses_a_second_run_of_a_running_job(project: ProjectStore) -> None:
    registry = JobRegistry()

    class Slow(OfflineBackend):
        def summarize(self, chat: str, template: str, *, timeout: float | None = None):  # type: ignore[no-untyped-def]
            import time

            time.sleep(0.05)
            return super().summarize(chat, template, timeout=timeout)

    job = registry.start("summarize:train", Job(project, Slow(), JobSpec("summarize", "train", concurrency=1)))
    with pytest.raises(RoleextError, match="already running"):
        registry.start("summarize:train", Job(project, Slow(), JobSpec("summarize", "train")))
    assert job.wait(10).done == 10
    assert registry.get("summarize:train") is job


def test_credentials_say_where_they_were_found_and_stay_out_of_reprs() -> None:
    found = find_credentials(("SPARK_APP_ID", "SPARK_API_KEY", "SPARK_API_SECRET"),
                             {"SPARK_API_KEY": "env-key-1234"}, {"SPARK_API_SECRET": "sec-5678", "SPARK_APP_ID": ""})
    assert {name: where for name, (_, where) in found.items()} == {
        "SPARK_API_KEY": "environment", "SPARK_API_SECRET": "secrets.toml"}
    choice = BackendChoice(kind="spark", app_id="app").with_credentials(
        {"SPARK_API_KEY": "env-key-1234"}, {"SPARK_API_SECRET": "sec-5678"})
    assert choice.api_key == "env-key-1234" and choice.api_secret == "sec-5678"
    assert "env-key-1234" not in repr(choice) and "sec-5678" not in repr(choice)


def test_a_refused_prediction_correction_keeps_what_was_typed(project: ProjectStore) -> None:
    Job(project, OfflineBackend(), JobSpec("infer", "train", input_source="chat")).run()
    record = project.get_record("train", 1)
    assert record.prediction is not None
    other_tab = RecordEditor(project, record)
    this_tab = RecordEditor(project, record)
    other_tab.correct_prediction([dict(record.prediction.parsed[0], 竞品信息="微盛")])
    mine = [dict(record.prediction.parsed[0], 竞品信息="企微管家")]
    with pytest.raises(UnsavedEditConflict) as refused:
        this_tab.correct_prediction(mine)
    assert refused.value.unsaved.target == "prediction" and "企微管家" in refused.value.unsaved.text
    stored = project.get_record("train", 1).prediction
    assert stored is not None and stored.infos[0]["竞品信息"] == "微盛"


def test_undo_never_reverts_gold_behind_an_import_that_changed_it(
        project: ProjectStore, sample_train: Path) -> None:
    import json

    record = project.get_record("train", 1)
    version = project.update_gold(record.id, [dict(record.gold[0], 竞品信息="微盛")], record.version)
    project.update_gold(record.id, record.gold, version)  # and back: the gold is the file's again
    records = json.loads(sample_train.read_text("utf-8"))
    records[0]["infos"][0]["客户购买阶段"] = "赢单"
    project.import_chat_file(load_chat_file(json.dumps(records, ensure_ascii=False).encode()), confirmed=True)
    assert project.get_record("train", 1).gold[0]["客户购买阶段"] == "赢单"
    with pytest.raises(NotFoundError, match="no edit to undo"):
        undo_last_edit(project, project.get_record("train", 1))
    assert project.get_record("train", 1).gold[0]["客户购买阶段"] == "赢单"
