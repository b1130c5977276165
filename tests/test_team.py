"""Team mode without the UI: assignment, per-annotator labels, import --as, agreement, resolution."""

from __future__ import annotations

import io
import json
from collections import Counter
from collections.abc import Callable
from contextlib import closing
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert

from roleext.agreement import agreement, cohen_kappa, record_cells
from roleext.annotations import annotations_of, assignees, get_annotation, save_annotation
from roleext.assignments import assign, next_in_queue, progress, queue, spread
from roleext.backends import OfflineBackend
from roleext.errors import ConflictError, RoleextError, UsageError
from roleext.exports import export_train_jsonl
from roleext.formats.dataset import export_dataset
from roleext.io import load_chat_file
from roleext.jobs import Job, JobSpec
from roleext.project import ReviewStatus
from roleext.resolution import ExportGold, disagreements, resolve
from roleext.review import FormValues, RecordEditor, UnsavedEditConflict, history_rows, next_undo
from roleext.roles import Person
from roleext.schema import complete_customer
from roleext.store import ProjectStore
from roleext.users import UserBook

STUCK = "客户是否有卡点"
KIND = "咨询类型"


@pytest.fixture
def project(store: ProjectStore, sample_train: Path) -> ProjectStore:
    store.import_chat_file(load_chat_file(sample_train))
    return store


def customer(name: str, **values: Any) -> dict[str, Any]:
    return complete_customer({"基本信息-姓名": name, **{k.replace("_", "-"): v for k, v in values.items()}})


def who_has(store: ProjectStore) -> dict[int, tuple[str, ...]]:
    """Each train record's annotators, by index."""
    return {r.index: tuple(sorted(assignees(store, r.id))) for r in store.iter_records("train")}


# --- assign ---------------------------------------------------------------------------


def test_assign_spreads_evenly_gives_the_overlap_to_two_and_repeats_for_a_seed(project: ProjectStore,
                                                                                tmp_path: Path,
                                                                                sample_train: Path) -> None:
    report = assign(project, "train", ["a", "b", "c"], overlap=0.2, seed=7)
    held = who_has(project)
    assert report.newly == 10 and report.doubled == 2
    assert sorted(len(names) for names in held.values()) == [1] * 8 + [2] * 2
    assert all(len(set(names)) == len(names) for names in held.values())
    load = Counter(name for names in held.values() for name in names)
    assert sorted(load.values()) == [4, 4, 4]
    assert {p.annotator: p.assigned for p in progress(project, "train")} == {"a": 4, "b": 4, "c": 4}
    assert any("a: 4 assigned (4 new), 0 labelled" in line for line in report.lines())

    other = ProjectStore(tmp_path / "again.db")
    other.import_chat_file(load_chat_file(sample_train))
    assign(other, "train", ["a", "b", "c"], overlap=0.2, seed=7)
    assert who_has(other) == held
    other.close()
    assert spread(list(range(10)), ["a", "b", "c"], 0.2, 8) != spread(list(range(10)), ["a", "b", "c"], 0.2, 7)


def test_reassigning_keeps_every_assignment_and_label_and_assigns_only_new_records(
        project: ProjectStore, sample_records: list[dict[str, Any]], write_json: Callable[..., Path]) -> None:
    assign(project, "train", ["a", "b"], overlap=0.0, seed=1)
    first = project.get_record("train", 1)
    owner = assignees(project, first.id)[0]
    save_annotation(project, first.id, owner, [customer("李娜3")], 0, owner)
    before = who_has(project)

    again = assign(project, "train", ["c", "d"], overlap=0.5, seed=2)
    assert again.newly == 0 and again.already == 10
    assert who_has(project) == before
    assert get_annotation(project, first.id, owner) is not None

    extra = {"chat_text": "赵六1：你好，我想问一下会话存档\n客服王勇7：好的", "infos": [customer("赵六1")]}
    project.import_chat_file(load_chat_file(write_json([*sample_records, extra])))
    third = assign(project, "train", ["c", "d"], overlap=0.0, seed=2)
    assert third.newly == 1
    held = who_has(project)
    assert {k: v for k, v in held.items() if k != 11} == before and held[11] in {("c",), ("d",)}


def test_assign_refuses_what_it_cannot_do(project: ProjectStore) -> None:
    with pytest.raises(UsageError, match="two annotators"):
        assign(project, "train", ["a"], overlap=0.2)
    with pytest.raises(UsageError, match="from 0 to 1"):
        assign(project, "train", ["a", "b"], overlap=1.5)
    with pytest.raises(UsageError, match="x is not a user"):
        assign(project, "train", ["a", "x"], known={"a", "b"})
    assert not any(who_has(project).values())


def test_the_cli_assigns_and_prints_each_annotators_share(cli: Callable[..., tuple[int, str, str]],
                                                          db_url: str, sample_train: Path) -> None:
    assert cli("import", str(sample_train), "--db", db_url)[0] == 0
    code, out, _err = cli("assign", "--split", "train", "--to", "ann,bob", "--overlap", "0.2", "--seed", "3",
                          "--db", db_url)
    assert code == 0, _err
    assert "10 of 10 records assigned now (2 to two annotators)" in out
    assert "ann: 6 assigned (6 new), 0 labelled" in out and "bob: 6 assigned (6 new), 0 labelled" in out
    assert cli("assign", "--to", "ann", "--db", db_url)[0] == 2


def test_in_team_mode_the_cli_assigns_only_people_who_can_sign_in(cli: Callable[..., tuple[int, str, str]],
                                                                  db_url: str, sample_train: Path) -> None:
    assert cli("import", str(sample_train), "--db", db_url)[0] == 0
    with closing(ProjectStore(db_url)) as store:
        UserBook(store).add("ann", "annotator", "a long passphrase")
    code, _out, err = cli("assign", "--split", "train", "--to", "ann,bob", "--overlap", "0", "--db", db_url)
    assert code == 2 and "bob is not a user of this project" in err
    code, out, err = cli("assign", "--split", "train", "--to", "ann", "--overlap", "0", "--db", db_url)
    assert code == 0, err
    assert "ann: 10 assigned (10 new)" in out


# --- per-annotator labels from Review ---------------------------------------------------


def test_in_team_mode_an_annotators_gold_edit_goes_to_their_own_labels(project: ProjectStore) -> None:
    assign(project, "train", ["a", "b"], overlap=1.0)
    record = project.get_record("train", 1)
    mine = [dict(record.gold[0], **{STUCK: "有卡点"})]
    editor = RecordEditor(project, record, "a")
    assert editor.record.gold == record.gold  # the first edit starts from the record's gold
    editor.save_gold(mine)

    assert project.get_record("train", 1).gold == record.gold
    assert get_annotation(project, record.id, "a").infos == mine  # type: ignore[union-attr]
    assert RecordEditor(project, project.get_record("train", 1), "b").record.gold == record.gold
    assert RecordEditor(project, project.get_record("train", 1), "a").record.gold == mine
    entry = project.history_of(record.id)[-1]
    assert (entry.target, entry.author, entry.annotator) == ("annotation", "a", "a")
    assert entry.before == record.gold and entry.after == mine

    stale = RecordEditor(project, record, "a")
    stale.annotation_version = 0  # a second tab opened before the first edit
    with pytest.raises(UnsavedEditConflict):
        stale.save_gold(record.gold)
    assert get_annotation(project, record.id, "a").infos == mine  # type: ignore[union-attr]
    with pytest.raises(RoleextError, match="not assigned to you"):  # an annotator of other records
        RecordEditor(project, record, person=Person("z", "annotator")).save_gold(mine)

    # A reviewer sees and corrects the labels exports use while one annotator labelled the record...
    reviewer = RecordEditor(project, project.get_record("train", 1), person=Person("rui", "reviewer"))
    assert reviewer.labels_of == "a" and reviewer.record.gold == mine and reviewer.may_edit_gold()
    fixed = [dict(mine[0], **{STUCK: "无卡点"})]
    reviewer.save_gold(fixed)
    assert get_annotation(project, record.id, "a").infos == fixed  # type: ignore[union-attr]
    entry = project.history_of(record.id)[-1]
    assert (entry.author, entry.annotator) == ("rui", "a")
    # ...and settles two annotators' labels on the Agreement page, not here.
    save_annotation(project, record.id, "b", mine, 0, "b")
    reviewer = RecordEditor(project, project.get_record("train", 1), person=Person("rui", "reviewer"))
    assert reviewer.labelled_twice and not reviewer.may_edit_gold()
    with pytest.raises(RoleextError, match="Agreement page"):
        reviewer.save_gold(mine)


def test_accepting_an_assigned_record_labels_it_as_shown_and_history_names_whose_labels(
        project: ProjectStore) -> None:
    assign(project, "train", ["a", "b"], overlap=1.0)
    record = project.get_record("train", 4)
    editor = RecordEditor(project, record, "b")
    editor.set_status(ReviewStatus.ACCEPTED, FormValues())
    assert get_annotation(project, record.id, "b").infos == record.gold  # type: ignore[union-attr]
    assert [(q.index, q.done) for q in queue(project, "b") if q.index == 4] == [(4, True)]
    flipped = "无卡点" if record.gold[0][STUCK] == "有卡点" else "有卡点"
    editor.save_gold([dict(record.gold[0], **{STUCK: flipped})])
    row = history_rows(project.history_of(record.id))[0]
    assert row["what"] == "edit of b's labels" and row["after"] == f"customer 1 {STUCK}: {flipped}"


def test_a_record_nobody_is_assigned_keeps_the_single_user_path(project: ProjectStore) -> None:
    record = project.get_record("train", 2)
    changed = [dict(record.gold[0], **{STUCK: "有卡点"})]
    RecordEditor(project, record, "a").save_gold(changed)
    assert project.get_record("train", 2).gold == changed
    assert annotations_of(project, record.id) == []


def test_a_signed_in_annotator_edits_only_their_records_and_sets_no_status(project: ProjectStore) -> None:
    assign(project, "train", ["a", "b"], overlap=0.0, seed=4)
    theirs = {q.index for q in queue(project, "a")}
    mine_index = min(theirs)
    other_index = min(q.index for q in queue(project, "b"))
    ann = Person("a", "annotator")
    other = project.get_record("train", other_index)
    changed = [dict(other.gold[0], **{STUCK: "有卡点" if other.gold[0][STUCK] != "有卡点" else "无卡点"})]

    refused = RecordEditor(project, other, person=ann)
    assert not refused.may_edit()
    with pytest.raises(RoleextError, match="not assigned to you"):
        refused.save_gold(changed)
    with pytest.raises(RoleextError, match="not assigned to you"):
        refused.save(FormValues(summary="mine now") if other.summary else FormValues(gold=changed))
    assert project.get_record("train", other_index).gold == other.gold
    assert get_annotation(project, other.id, "a") is None

    mine = project.get_record("train", mine_index)
    editor = RecordEditor(project, mine, person=ann)
    assert editor.may_edit() and not editor.may_set_status()
    with pytest.raises(RoleextError, match="Only a reviewer"):
        editor.set_status(ReviewStatus.REJECTED, FormValues())
    editor.set_status(ReviewStatus.ACCEPTED, FormValues())  # marks their labels done, not the record
    assert project.get_record("train", mine_index).status == ReviewStatus.PENDING
    assert [q.done for q in queue(project, "a") if q.index == mine_index] == [True]

    reviewer = RecordEditor(project, project.get_record("train", other_index), person=Person("rui", "reviewer"))
    assert reviewer.may_set_status()
    reviewer.set_status(ReviewStatus.NEEDS_FIX, FormValues())
    assert project.get_record("train", other_index).status == ReviewStatus.NEEDS_FIX


def test_double_annotation_stays_blind_in_history_and_the_summary_is_the_reviewers(project: ProjectStore) -> None:
    assign(project, "train", ["a", "b"], overlap=1.0)
    record = project.get_record("train", 1)
    save_annotation(project, record.id, "a", [customer("甲", 客户是否有卡点="有卡点")], 0, "a")
    save_annotation(project, record.id, "b", [customer("甲", 客户是否有卡点="无卡点")], 0, "b")
    history = project.history_of(record.id)
    bob = RecordEditor(project, record, person=Person("b", "annotator"))
    assert [entry.annotator for entry in bob.visible_history(history)] == ["b"]  # a's labels stay unseen
    assert bob.labels_own() and not bob.may_edit_summary()
    Job(project, OfflineBackend(), JobSpec("summarize", "train")).run()
    bob = RecordEditor(project, project.get_record("train", 1), person=Person("b", "annotator"))
    with pytest.raises(RoleextError, match="a reviewer edits it"):
        bob.save(FormValues(summary="b's summary"))
    rui = RecordEditor(project, record, person=Person("rui", "reviewer"))
    assert len(rui.visible_history(history)) == len(history) and rui.may_edit_summary() and not rui.labels_own()


def test_an_annotator_undoes_only_their_own_edits(project: ProjectStore) -> None:
    assign(project, "train", ["a", "b"], overlap=0.0, seed=4)
    mine_index = min(q.index for q in queue(project, "a"))
    other_index = min(q.index for q in queue(project, "b"))
    reviewer = Person("rui", "reviewer")
    for index in (mine_index, other_index):  # a reviewer accepts both records
        RecordEditor(project, project.get_record("train", index), person=reviewer).set_status(
            ReviewStatus.ACCEPTED, FormValues())
    ann = Person("a", "annotator")
    for index in (mine_index, other_index):
        editor = RecordEditor(project, project.get_record("train", index), person=ann)
        entry = next_undo(project.history_of(editor.record.id))
        assert entry is not None and not editor.may_undo(entry)
        with pytest.raises(RoleextError, match="you may not undo it"):
            editor.undo()
        assert project.get_record("train", index).status == ReviewStatus.ACCEPTED
    editor = RecordEditor(project, project.get_record("train", other_index), person=reviewer)
    editor.undo()  # a reviewer may
    assert project.get_record("train", other_index).status == ReviewStatus.PENDING


def test_labels_of_a_chat_a_reimport_changed_are_outdated_until_looked_at_again(
        project: ProjectStore, sample_records: list[dict[str, Any]], write_json: Callable[..., Path]) -> None:
    assign(project, "train", ["a", "b"], overlap=1.0)
    record = project.get_record("train", 1)
    mine = [customer("甲", 客户是否有卡点="有卡点")]
    save_annotation(project, record.id, "a", mine, 0, "a")
    assert not get_annotation(project, record.id, "a").outdated  # type: ignore[union-attr]

    changed = [dict(item) for item in sample_records]
    changed[0]["chat_text"] = changed[0]["chat_text"] + "\n客服王勇7：补充一句：合同下周发您"
    project.import_chat_file(load_chat_file(write_json(changed, "train.json")), confirmed=True)
    assert project.get_record("train", 1).id == record.id  # the same record, its chat changed
    labels = get_annotation(project, record.id, "a")
    assert labels is not None and labels.outdated and labels.infos == mine  # kept, and flagged
    editor = RecordEditor(project, project.get_record("train", 1), person=Person("a", "annotator"))
    assert editor.labels_outdated
    editor.set_status(ReviewStatus.ACCEPTED, FormValues())  # looked at again on the chat as it is
    labels = get_annotation(project, record.id, "a")
    assert labels is not None and not labels.outdated and labels.infos == mine


def test_the_queue_counts_labelled_records_and_points_at_the_next(project: ProjectStore) -> None:
    assign(project, "train", ["a", "b"], overlap=0.0, seed=4)
    items = queue(project, "a")
    assert len(items) == 5 and not any(i.done for i in items)
    first = project.get_record("train", items[0].index)
    save_annotation(project, first.id, "a", first.gold, 0, "a")
    items = queue(project, "a")
    assert items[0].done and sum(i.done for i in items) == 1
    assert {p.annotator: (p.done, p.assigned) for p in progress(project)} == {"a": (1, 5), "b": (0, 5)}
    assert next_in_queue(items) == items[1]
    assert next_in_queue(items, ("train", items[1].index)) == items[2]
    assert next_in_queue([i for i in items if i.done]) is None


# --- import --as --------------------------------------------------------------------------


def test_import_as_loads_labels_by_chat_reports_strangers_and_never_touches_others(
        cli: Callable[..., tuple[int, str, str]], db_url: str, sample_train: Path,
        sample_records: list[dict[str, Any]], write_json: Callable[..., Path]) -> None:
    assert cli("import", str(sample_train), "--db", db_url)[0] == 0
    store = ProjectStore(db_url)
    third = store.get_record("train", 3)
    save_annotation(store, third.id, "bob", [customer("bob's")], 0, "bob")
    gold_before = {r.index: r.gold for r in store.iter_records("train")}

    theirs = [dict(sample_records[2], infos=[customer("甲")]),  # record 3, moved to the front
              dict(sample_records[0], infos=[customer("乙")]),
              {"chat_text": "陌生人1：这段对话不在项目里\n客服王勇7：好的", "infos": [customer("陌生人1")]},
              dict(sample_records[4], infos=[])]
    path = write_json(theirs, "alice.json")
    code, out, err = cli("import", str(path), "--as", "alice", "--db", db_url)
    assert code == 0, err
    assert "labels of alice: 2 added, 0 updated, 0 unchanged; matched records by split: train 2" in out
    assert "1 file record matches no chat of the project (not added): record 3" in out
    assert "1 file record has no customers: skipped" in out
    assert store.count("train") == 10
    assert get_annotation(store, third.id, "alice").infos == [customer("甲")]  # type: ignore[union-attr]
    assert get_annotation(store, third.id, "bob").infos == [customer("bob's")]  # type: ignore[union-attr]
    assert {r.index: r.gold for r in store.iter_records("train")} == gold_before
    assert "alice" in assignees(store, third.id)

    assert "0 added, 0 updated, 2 unchanged" in cli("import", str(path), "--as", "alice", "--db", db_url)[1]
    theirs[1] = dict(sample_records[0], infos=[customer("乙", 客户是否有卡点="有卡点")])
    code, out, _err = cli("import", str(write_json(theirs, "alice.json")), "--as", "alice", "--db", db_url)
    assert "0 added, 1 updated, 1 unchanged" in out
    entry = store.history_of(store.get_record("train", 1).id)[-1]
    assert (entry.target, entry.annotator, entry.after[0][STUCK]) == ("annotation", "alice", "有卡点")

    # alice then fixes record 1 in the app: importing the same file again, or a changed one, keeps her fix.
    first = store.get_record("train", 1)
    fixed = [customer("乙", 客户是否有卡点="无卡点", 客户是否有意向="有意向")]
    save_annotation(store, first.id, "alice", fixed, get_annotation(store, first.id, "alice").version,  # type: ignore[union-attr]
                    "alice")
    for infos in ([customer("乙", 客户是否有卡点="有卡点")], [customer("乙", 客户是否有卡点="无卡点")]):
        theirs[1] = dict(sample_records[0], infos=infos)
        code, out, _err = cli("import", str(write_json(theirs, "alice.json")), "--as", "alice", "--db", db_url)
        assert code == 0 and "0 added, 0 updated, 1 unchanged" in out
        assert "1 file record differs from labels alice made or edited in the app: theirs are kept (record 2)" in out
        assert get_annotation(store, first.id, "alice").infos == fixed  # type: ignore[union-attr]
    # bob labelled record 3 in the app; a file of bob's labels never overwrites them either.
    code, out, _err = cli("import", str(write_json([dict(sample_records[2], infos=[customer("丙")])], "bob.json")),
                          "--as", "bob", "--db", db_url)
    assert "theirs are kept (record 1)" in out
    assert get_annotation(store, third.id, "bob").infos == [customer("bob's")]  # type: ignore[union-attr]
    store.close()


# --- agreement ----------------------------------------------------------------------------

# Five records, one customer each, labelled by a and b. Hand computation:
# 客户是否有卡点  a: 有 有 无 无 无   b: 有 无 无 无 有   -> 3 of 5 agree, p_o = 0.6
#   a's shares 有 2/5, 无 3/5; b's the same; p_e = 0.4*0.4 + 0.6*0.6 = 0.52
#   kappa = (0.6 - 0.52) / (1 - 0.52) = 0.08 / 0.48 = 1/6
# 咨询类型 (sets)  a: {答疑} {答疑,询价} {答疑} {} {询价}   b: {答疑} {询价,答疑} {吐槽} {} {询价}
#   4 of 5 agree, p_o = 0.8; categories a: {答疑} 2, {答疑,询价} 1, {} 1, {询价} 1;
#   b: {答疑} 1, {答疑,询价} 1, {吐槽} 1, {} 1, {询价} 1; p_e = (2*1 + 1 + 1 + 1) / 25 = 0.2
#   kappa = (0.8 - 0.2) / 0.8 = 0.75
# Every other field agrees; 性别 (closed) is empty throughout: its kappa is undefined.
# Overall: 102 of 5 * 21 = 105 cells agree; kappa = mean(1/6, 0.75) = 0.458333...
HAND_STUCK = (["有卡点", "有卡点", "无卡点", "无卡点", "无卡点"], ["有卡点", "无卡点", "无卡点", "无卡点", "有卡点"])
HAND_KIND = ([["答疑"], ["答疑", "询价"], ["答疑"], [], ["询价"]], [["答疑"], ["询价", "答疑"], ["吐槽"], [], ["询价"]])


def label_hand_fixture(store: ProjectStore) -> list[int]:
    """Records 1-5 labelled by a (assigned first: the first annotator) and b, as the table above."""
    ids = []
    for n in range(5):
        record = store.get_record("train", n + 1)
        with store.write() as conn:
            conn.execute(insert(store.assignments), [
                {"record_id": record.id, "annotator": name, "assigned_at": datetime(2026, 11, 1, hour, tzinfo=UTC)}
                for hour, name in ((9, "a"), (10, "b"))])
        for side, name in enumerate(("a", "b")):
            save_annotation(store, record.id, name, [customer(f"客户{n}", 客户是否有卡点=HAND_STUCK[side][n],
                                                              咨询类型=HAND_KIND[side][n])], 0, name)
        ids.append(record.id)
    return ids


def test_agreement_and_kappa_match_the_hand_computation(project: ProjectStore) -> None:
    label_hand_fixture(project)
    report = agreement(project, "train")
    fields = {f.field: f for f in report.fields}
    assert report.records == 5
    assert fields[STUCK].agreement == pytest.approx(0.6) and fields[STUCK].kappa == pytest.approx(1 / 6)
    assert fields[KIND].agreement == pytest.approx(0.8) and fields[KIND].kappa == pytest.approx(0.75)
    assert fields["基本信息-性别"].agreement == 1.0 and fields["基本信息-性别"].kappa is None
    assert fields["基本信息-姓名"].kappa is None  # an open field has no kappa
    assert report.agreement == pytest.approx(102 / 105) and report.kappa == pytest.approx((1 / 6 + 0.75) / 2)
    assert len(report.disagreements) == 3


def test_kappa_of_textbook_cases() -> None:
    assert cohen_kappa(["x", "y"], ["x", "y"]) == pytest.approx(1.0)
    assert cohen_kappa(["x", "y"], ["y", "x"]) == pytest.approx(-1.0)
    assert cohen_kappa(["x", "x"], ["x", "x"]) is None and cohen_kappa([], []) is None


def test_a_customer_only_one_annotator_saw_counts_against_an_empty_one() -> None:
    first = [customer("张三1", 客户是否有卡点="无卡点")]
    second = [customer("李四2", 客户是否有卡点="有卡点"), customer("张三1", 客户是否有卡点="无卡点")]
    cells = list(record_cells(1, "train", 1, ("a", first), ("b", second)))
    assert len(cells) == 2 * 21  # 张三1 paired by name; 李四2 beside an empty customer
    wrong = {(c.customer, c.field) for c in cells if not c.agree}
    assert wrong == {(2, "基本信息-姓名"), (2, STUCK)}


def test_the_cli_prints_the_agreement_as_json(cli: Callable[..., tuple[int, str, str]], db_url: str,
                                              sample_train: Path) -> None:
    assert cli("import", str(sample_train), "--db", db_url)[0] == 0
    store = ProjectStore(db_url)
    label_hand_fixture(store)
    store.close()
    code, out, err = cli("agreement", "--split", "train", "--json", "--db", db_url)
    assert code == 0, err
    data = json.loads(out)
    assert data["records"] == 5 and len(data["fields"]) == 21
    stuck = next(f for f in data["fields"] if f["field"] == STUCK)
    assert stuck["agreement"] == pytest.approx(0.6) and stuck["kappa"] == pytest.approx(1 / 6)
    assert data["overall"]["agreement"] == pytest.approx(102 / 105)
    text = cli("agreement", "--db", db_url)[1]
    assert "5 records labelled by two annotators, 3 cells disagree" in text and "60.0%" in text


# --- resolution and exports ---------------------------------------------------------------


def exported_gold(store: ProjectStore) -> tuple[dict[str, Any], int]:
    """Each exported record's gold by its chat, and how many records the report says are unresolved."""
    out = io.BytesIO()
    report = export_dataset(store, out)
    return {item["chat_text"]: item["infos"] for item in json.loads(out.getvalue())}, report.unresolved


def test_exports_use_resolved_then_the_reviewers_choice_then_the_first_annotators_labels(
        project: ProjectStore) -> None:
    ids = label_hand_fixture(project)
    second_record = project.get_record("train", 2)  # disagrees on 卡点 only
    third_record = project.get_record("train", 3)  # disagrees on 咨询类型 only
    first_of = {rid: assignees(project, rid)[0] for rid in ids}
    labels = {rid: {a.annotator: a.infos for a in annotations_of(project, rid)} for rid in ids}
    gold, unresolved = exported_gold(project)
    assert unresolved == 3  # records 2, 3 and 5 disagree somewhere
    assert gold[third_record.chat_text] == labels[third_record.id][first_of[third_record.id]]
    assert gold[project.get_record("train", 7).chat_text] == project.get_record("train", 7).gold  # nobody labelled

    other = next(name for name in ("a", "b") if name != first_of[second_record.id])
    resolve(project, second_record.id, 1, STUCK, "second" if other == "b" else "first", reviewer="rev")
    resolve(project, third_record.id, 1, KIND, "edit", "询价、吐槽", reviewer="rev")
    gold, unresolved = exported_gold(project)
    assert gold[second_record.chat_text][0][STUCK] == labels[second_record.id][other][0][STUCK]
    assert gold[third_record.chat_text][0][KIND] == ["询价", "吐槽"]
    assert unresolved == 1  # record 5 only
    book = ExportGold.of(project, "train")
    exported = replace(second_record, gold=gold[second_record.chat_text])
    assert book is not None and book.apply(second_record) == (exported, False)

    buffer = io.BytesIO()
    report = export_train_jsonl(project, buffer, source="chat")
    assert report.unresolved == 1
    assert any("unresolved: 1 record whose annotators disagree" in line for line in report.lines())
    left = [d for d in disagreements(project, "train") if d.resolution is None]
    assert [(d.cell.index, d.cell.field) for d in left] == [(5, STUCK)]
    assert project.history_of(third_record.id)[-1].target == "resolution"


def test_a_resolution_stops_applying_when_an_annotation_changes_under_it(project: ProjectStore) -> None:
    """X has 甲 and 乙, Y the same two with another 卡点 for 乙; the reviewer settles 乙's. X then
    removes 甲: the pairs renumber, and the old resolution must not land on another customer."""
    record = project.get_record("train", 1)
    with project.write() as conn:
        conn.execute(insert(project.assignments), [
            {"record_id": record.id, "annotator": name, "assigned_at": datetime(2026, 11, 1, hour, tzinfo=UTC)}
            for hour, name in ((9, "x"), (10, "y"))])
    save_annotation(project, record.id, "x", [customer("甲"), customer("乙", 客户是否有卡点="无卡点")], 0, "x")
    save_annotation(project, record.id, "y", [customer("甲"), customer("乙", 客户是否有卡点="有卡点")], 0, "y")
    [item] = disagreements(project, "train")
    assert (item.cell.customer, item.cell.field) == (2, STUCK)
    resolve(project, record.id, 2, STUCK, "second", reviewer="rev", seen=(item.cell.a, item.cell.b))
    gold, unresolved = exported_gold(project)
    assert [c[STUCK] for c in gold[record.chat_text]] == ["", "有卡点"] and unresolved == 0

    save_annotation(project, record.id, "x", [customer("乙", 客户是否有卡点="无卡点")], 1, "x")  # 甲 removed
    gold, unresolved = exported_gold(project)
    assert [(c["基本信息-姓名"], c[STUCK]) for c in gold[record.chat_text]] == [("乙", "无卡点")]  # no stray customer
    assert unresolved == 1  # the disagreement is open again, for the reviewer to look at
    [again] = [d for d in disagreements(project, "train") if d.cell.field == STUCK]
    assert again.cell.customer == 1 and again.resolution is None

    save_annotation(project, record.id, "y", [customer("乙", 客户是否有卡点="无卡点")], 1, "y")
    with pytest.raises(ConflictError, match="changed since the page showed them"):
        resolve(project, record.id, 1, STUCK, "first", reviewer="rev", seen=(again.cell.a, again.cell.b))


def test_a_single_user_export_reads_no_team_table_and_reports_nothing(project: ProjectStore) -> None:
    gold, unresolved = exported_gold(project)
    assert unresolved == 0
    assert gold == {r.chat_text: r.gold for r in project.iter_records("train")}


def test_a_resolution_names_a_real_choice(project: ProjectStore) -> None:
    ids = label_hand_fixture(project)
    with pytest.raises(UsageError, match="holds a list of strings"):
        resolve(project, ids[0], 1, KIND, "edit", 3)
    with pytest.raises(RoleextError, match="no customer 9"):
        resolve(project, ids[0], 9, KIND, "first")
    with pytest.raises(ConflictError):
        save_annotation(project, ids[0], "a", [], 0, "a")  # a's labels exist: version 0 is stale
