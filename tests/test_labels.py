"""A record is listed by split, position, customer and status, never as a bare number."""

from __future__ import annotations

import json

from roleext.io import Split, load_chat_file
from roleext.labels import MAX_NAME_CHARS, record_label
from roleext.project import ReviewStatus
from roleext.runs import RunBook
from roleext.schema import empty_customer
from roleext.store import ProjectStore


def customer(name: str) -> dict[str, object]:
    return {**empty_customer(), "基本信息-姓名": name}


def import_records(store: ProjectStore, infos: list[list[dict[str, object]]], split: Split = "train") -> None:
    records = [{"chat_text": f"李娜3：第{i}条\n王艳9：好的", "infos": gold} for i, gold in enumerate(infos)]
    store.import_chat_file(load_chat_file(json.dumps(records, ensure_ascii=False).encode(), split=split),
                           confirmed=True)


def test_the_list_and_the_record_read_the_same_label(store: ProjectStore) -> None:
    import_records(store, [[customer("李娜3")], [customer("李娜3"), customer("吴伟7")], [customer("")], []])
    record = store.get_record("train", 1)
    store.set_status(record.id, ReviewStatus.ACCEPTED, record.version)
    labels = [record_label(info) for info in store.list_records("train")]
    assert labels == ["train 1 · 李娜3 · accepted", "train 2 · 李娜3 +1 · pending", "train 3 · pending",
                      "train 4 · pending"]
    assert [record_label(store.get_record("train", n)) for n in (1, 2, 3, 4)] == labels


def test_a_name_from_a_model_is_marked_and_a_long_one_cut(store: ProjectStore) -> None:
    import_records(store, [[], [customer("辉煌有限公司（老客户，已续费三年，联系人在外地出差）\n备注")]], split="test")
    first = store.get_record("test", 1)
    assert record_label(first) == "test 1 · pending"
    store.save_prediction(first.id, "[]", [customer("吴伟7")], "offline", "rules",
                          run=RunBook(store).create("test", "offline", "rules"))
    assert record_label(store.get_record("test", 1)) == "test 1 · 吴伟7 (predicted) · pending"
    long_name = record_label(store.get_record("test", 2)).split(" · ")[1]
    assert len(long_name) == MAX_NAME_CHARS and long_name.endswith("…") and "\n" not in long_name
    assert record_label(store.list_records("test")[1]).split(" · ")[1] == long_name
