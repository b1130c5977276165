"""Review logic without the UI: warnings, filters, navigation, undo, form values."""

from __future__ import annotations

from pathlib import Path

import pytest

from roleext.backends import OfflineBackend
from roleext.backends.choice import BackendChoice, find_credentials
from roleext.errors import NotFoundError, RoleextError
from roleext.io import load_chat_file
from roleext.jobs import Job, JobRegistry, JobSpec
from roleext.project import ReviewStatus
from roleext.review import (
    RecordFilter,
    customer_from_form,
    filter_records,
    next_unreviewed,
    options_for,
    record_warnings,
    to_form,
    undo_last_edit,
)
from roleext.schema import FIELDS_BY_NAME
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
    infos = project.list_records("train")
    assert next_unreviewed(infos, infos[0]).index == 4  # type: ignore[union-attr]
    assert next_unreviewed(infos, infos[-1]).index == 1  # type: ignore[union-attr]
    for info in infos:
        record = project.get_record("train", info.index)
        project.set_status(record.id, ReviewStatus.REJECTED, record.version)
    done = project.list_records("train")
    assert next_unreviewed(done, done[0]) is None


def test_undo_reverts_the_last_edit_and_records_the_undo(project: ProjectStore) -> None:
    record = project.get_record("train", 1)
    edited = [dict(record.gold[0], 客户购买阶段="赢单")]
    project.update_gold(record.id, edited, record.version)
    message = undo_last_edit(project, project.get_record("train", 1))
    assert message.startswith("undid the last gold edit")
    assert project.get_record("train", 1).gold == record.gold
    assert [h.target for h in project.history_of(record.id)] == ["gold", "gold"]

    project.set_status(record.id, ReviewStatus.REJECTED, project.get_record("train", 1).version)
    undo_last_edit(project, project.get_record("train", 1))
    assert project.get_record("train", 1).status == ReviewStatus.PENDING


def test_undo_with_nothing_to_undo_says_so(project: ProjectStore) -> None:
    with pytest.raises(NotFoundError, match="no edit to undo"):
        undo_last_edit(project, project.get_record("train", 1))


def test_options_keep_a_value_outside_the_known_set() -> None:
    consult = FIELDS_BY_NAME["咨询类型"]
    assert options_for(consult, ["答疑、吐槽"]) == ["答疑", "询价", "吐槽", "答疑、吐槽"]
    stage = FIELDS_BY_NAME["客户购买阶段"]
    assert options_for(stage, "")[0] == "" and "赢单" in options_for(stage, "")


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
