"""The import plan, without SQL: which stored record each file record is, and what would change."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from roleext.io import ChatFile, ChatRecord
from roleext.matching import StoredRow, chat_hash, dumps, plan_import


def chat_file(records: list[dict[str, Any]], split: str = "train") -> ChatFile:
    return ChatFile(split, [ChatRecord(n, r["chat_text"], r["infos"])  # type: ignore[arg-type]
                            for n, r in enumerate(records, 1)])


def stored(records: list[dict[str, Any]]) -> tuple[list[StoredRow], dict[int, str]]:
    """The rows a store would hold after importing `records` (ids 101, 102, ...)."""
    rows = [StoredRow(100 + n, n, chat_hash(r["chat_text"]), dumps(r["infos"]), dumps(r["infos"]),
                      len(r["chat_text"])) for n, r in enumerate(records, 1)]
    return rows, {100 + n: r["chat_text"] for n, r in enumerate(records, 1)}


def test_a_reordered_file_with_one_corrected_chat_keeps_every_record(
        sample_records: list[dict[str, Any]]) -> None:
    rows, chats = stored(sample_records)
    changed = copy.deepcopy(sample_records)
    changed[4]["chat_text"] = changed[4]["chat_text"].replace("：", ":", 1)  # one typo fixed
    changed = changed[5:] + changed[:5]  # and the file reordered

    plan = plan_import(rows, chat_file(changed), chats.__getitem__)

    assert plan.inserts == [] and plan.detached == []
    assert plan.matched_by == {"hash": 9, "similar": 1}
    corrected = next(u for u in plan.updates if u.matched_by == "similar")
    assert corrected.row.id == 105 and corrected.chat_changed and not corrected.gold_changed
    assert "1 changed chat: summarize and infer them again" in plan.preview()[0]
    assert not plan.needs_confirmation


def test_different_chats_are_not_taken_for_corrected_ones(sample_records: list[dict[str, Any]]) -> None:
    rows, chats = stored(sample_records[:5])
    plan = plan_import(rows, chat_file(sample_records[5:]), chats.__getitem__)
    assert plan.matched_by == {"position": 5}  # never "similar": the real chats differ too much


def test_a_file_without_gold_over_gold_erases_and_says_how_much(sample_records: list[dict[str, Any]]) -> None:
    rows, chats = stored(sample_records)
    test_like = [{"chat_text": r["chat_text"] + "\n补一句", "infos": []} for r in sample_records[:4]]
    plan = plan_import(rows, chat_file(test_like), chats.__getitem__)
    assert plan.erases_gold and plan.needs_confirmation
    assert plan.gold_records_changed == 4
    filled = sum(1 for r in sample_records[:4] for c in r["infos"] for v in c.values() if v not in ("", []))
    assert plan.gold_values_changed == filled
    assert [row.index for row in plan.detached] == [5, 6, 7, 8, 9, 10]
    assert "records 5, 6, 7, 8, 9, 10 leave the split" in "\n".join(plan.preview())


def test_gold_a_person_edited_is_kept_and_is_no_change(sample_records: list[dict[str, Any]]) -> None:
    rows, chats = stored(sample_records)
    mine = copy.deepcopy(sample_records[1]["infos"])
    mine[0]["客户是否有意向"] = "有意向"
    rows[1] = StoredRow(rows[1].id, 2, rows[1].chat_hash, rows[1].gold_imported, dumps(mine), rows[1].chat_chars)
    changed = copy.deepcopy(sample_records)
    changed[1]["infos"][0]["客户购买阶段"] = "赢单"
    plan = plan_import(rows, chat_file(changed), chats.__getitem__)
    [update] = plan.updates
    assert update.gold == dumps(mine) and update.gold_imported_changed and not update.gold_changed
    assert not plan.needs_confirmation


def test_reimporting_the_same_file_is_all_unchanged(sample_records: list[dict[str, Any]]) -> None:
    rows, _chats = stored(sample_records)

    def never(_: int) -> str:
        raise AssertionError("matched by hash: no chat needs reading")

    plan = plan_import(rows, chat_file(sample_records), never)
    assert (plan.unchanged, plan.updates, plan.inserts, plan.detached) == (10, [], [], [])


@pytest.mark.parametrize("split_has_gold", [True, False])
def test_a_test_file_over_test_is_no_erasure(sample_records: list[dict[str, Any]], split_has_gold: bool) -> None:
    records = [{"chat_text": r["chat_text"], "infos": r["infos"] if split_has_gold else []}
               for r in sample_records]
    rows, chats = stored(records)
    plan = plan_import(rows, chat_file([{**r, "infos": []} for r in records], "test"), chats.__getitem__)
    assert plan.erases_gold is split_has_gold


def test_a_different_chat_at_the_same_position_needs_confirmation(sample_records: list[dict[str, Any]]) -> None:
    rows, chats = stored(sample_records[:3])
    other = [sample_records[0], sample_records[1], sample_records[7]]  # record 3 is another chat
    plan = plan_import(rows, chat_file(other), chats.__getitem__)
    assert [u.row.id for u in plan.replaced_chats] == [103]
    assert plan.needs_confirmation
    assert "records 3: a different chat at the same position" in "\n".join(plan.preview())


def test_the_fingerprint_changes_when_what_would_be_lost_changes(sample_records: list[dict[str, Any]]) -> None:
    rows, chats = stored(sample_records)
    before = plan_import(rows, chat_file(sample_records[:9]), chats.__getitem__)
    again = plan_import(rows, chat_file(sample_records[:9]), chats.__getitem__)
    fewer = plan_import(rows, chat_file(sample_records[:8]), chats.__getitem__)
    assert before.fingerprint() == again.fingerprint() != fewer.fingerprint()
