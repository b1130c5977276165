"""Search over chat, gold and summaries, on the database's own index (SQLite FTS5 trigram,
PostgreSQL pg_trgm), kept up to date by the database whatever wrote the text."""

from __future__ import annotations

import json
import threading
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from roleext import migrations, search
from roleext.cli import main
from roleext.io import Split, load_chat_file
from roleext.store import ProjectStore


@pytest.fixture
def project(store: ProjectStore, sample_train: Path) -> ProjectStore:
    store.import_chat_file(load_chat_file(sample_train))
    return store


def found(store: ProjectStore, query: str, split: Split | None = "train") -> list[int]:
    """Positions of the records a search finds, in file order."""
    ids = store.search_records(query, split)
    return sorted(i.index for i in store.list_records() if i.id in ids)


def expected(store: ProjectStore, query: str) -> list[int]:
    """What a plain substring look at every record says the search must find."""
    hits = []
    for record in store.iter_records("train"):
        summary = [record.summary.text, record.summary.edited_text or ""] if record.summary else []
        if any(query in part for part in [record.chat_text, json.dumps(record.gold, ensure_ascii=False), *summary]):
            hits.append(record.index)
    return hits


@pytest.mark.parametrize("query", ["13812345678", "钱芳6", "sunjie@huihuang.com", "会话存档", "[图片]", "王勇7：",
                                   "*", "[", "?", "a_b", "100%", "CRM", "crm"])
def test_a_search_finds_what_a_substring_look_finds(project: ProjectStore, query: str) -> None:
    assert found(project, query) == expected(project, query)


def test_a_phone_number_and_a_chinese_name_are_found(project: ProjectStore) -> None:
    assert found(project, "13812345678") == [1]
    assert found(project, "孙杰2") == [3]
    assert found(project, "13812345678", "test") == []


def test_a_gold_value_is_found_and_an_edit_moves_it(project: ProjectStore) -> None:
    record = project.get_record("train", 2)
    assert found(project, "企业微信私有化") == []
    project.update_gold(record.id, [dict(record.gold[0], **{"竞品信息": "企业微信私有化"})], record.version)
    assert found(project, "企业微信私有化") == [2]
    record = project.get_record("train", 2)
    project.update_gold(record.id, [dict(record.gold[0], **{"竞品信息": "钉钉专属版"})], record.version)
    assert found(project, "企业微信私有化") == []
    assert found(project, "钉钉专属版") == [2]


def test_a_summary_and_its_edit_are_found_and_the_old_text_no_longer(project: ProjectStore) -> None:
    record = project.get_record("train", 4)
    project.save_summary(record.id, "客户抱怨群发次数限制", "offline", "rules", "p")
    assert found(project, "群发次数限制") == [4]
    summary = project.get_record("train", 4).summary
    assert summary is not None
    project.edit_summary(record.id, "客户不满意群发功能，建议朋友圈触达", summary.version)
    assert found(project, "朋友圈触达") == [4]
    assert found(project, "群发次数限制") == [4]  # the generated text is kept beside the edit
    summary = project.get_record("train", 4).summary
    assert summary is not None
    project.edit_summary(record.id, "客户改用客户群触达", summary.version)
    assert found(project, "朋友圈触达") == []
    project.save_summary(record.id, "重新生成的摘要", "offline", "rules", "p", overwrite_edits=True)
    assert found(project, "群发次数限制") == [] and found(project, "客户改用客户群") == []
    assert found(project, "重新生成的摘要") == [4]


def test_a_reimport_with_new_chat_text_is_searched_at_once(project: ProjectStore,
                                                           sample_records: list[dict[str, Any]]) -> None:
    sample_records[1]["chat_text"] += "\n周军9：我的新号码是13999990000"
    sample_records[2]["chat_text"] = sample_records[2]["chat_text"].replace("13600001111", "13600002222")
    project.import_chat_file(load_chat_file(json.dumps(sample_records, ensure_ascii=False).encode(), split="train"),
                             confirmed=True)
    assert found(project, "13999990000") == [2]
    assert found(project, "13600002222") == [3]
    assert found(project, "我手机是13600001111") == []


@pytest.mark.parametrize("query", ["李", "王勇", "3：", "@h", "%", "_"])
def test_a_one_or_two_character_query_works(project: ProjectStore, query: str) -> None:
    assert found(project, query) == expected(project, query)
    assert found(project, "王勇") != []


def test_a_search_matches_the_case_as_typed(project: ProjectStore) -> None:
    assert 3 in found(project, "CRM") and found(project, "CRM") == expected(project, "CRM")
    assert found(project, "cRm") == []


def test_the_migration_indexes_the_records_already_there(db_url: str, sample_train: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    names = [name for name, _fn in migrations.MIGRATIONS]
    before = migrations.MIGRATIONS[:names.index("m010_search_index")]  # a project made before the index
    monkeypatch.setattr(migrations, "MIGRATIONS", before)
    old = ProjectStore(db_url)
    old.import_chat_file(load_chat_file(sample_train))
    old.close()
    monkeypatch.undo()
    store = ProjectStore(db_url)
    try:
        assert found(store, "13812345678") == [1] and found(store, "孙杰2") == [3]
        with store.engine.connect() as conn:
            applied = conn.execute(text("SELECT name FROM roleext_migrations")).scalars().all()
        assert "m010_search_index" in applied
        assert store.waiting_for_index() == 0  # what the index held before m012 counts as indexed
    finally:
        store.close()


def test_search_uses_the_index(project: ProjectStore) -> None:
    """The plan reads the trigram index, not every chat (what keeps it fast at 100,000 chats)."""
    with project.engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            plan = conn.execute(text("EXPLAIN QUERY PLAN SELECT rowid FROM records_search "
                                     "WHERE chat_text GLOB '*13812345678*'")).all()
            assert any("VIRTUAL TABLE INDEX" in str(row) for row in plan)
        else:
            conn.execute(text("SET enable_seqscan = off"))
            plan = conn.execute(text("EXPLAIN SELECT id FROM records_search "
                                     "WHERE chat_text LIKE '%13812345678%'")).all()
            assert any("ix_records_search_chat_text_trgm" in str(row) for row in plan)


# --- an import joins the index after it (SQLite, m012) -------------------------------------


def index_is_true(store: ProjectStore) -> None:
    """The index holds exactly what the indexed records hold: FTS5's own check on SQLite; on
    PostgreSQL the indexed copy compared with the records up to the watermark."""
    with store.engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.execute(text("INSERT INTO records_search(records_search) VALUES ('integrity-check')"))
            return
        upto = conn.execute(text("SELECT upto FROM search_indexed")).scalar_one()
        copied = conn.execute(text("SELECT id, chat_text, gold FROM records_search ORDER BY id")).all()
        held = conn.execute(text("SELECT id, chat_text, gold FROM records WHERE id <= :upto ORDER BY id"),
                            {"upto": upto}).all()
        assert [tuple(row) for row in copied] == [tuple(row) for row in held]


def caught_up(store: ProjectStore) -> int:
    return sum(store.index_for_search())


QUERIES = ["13812345678", "钱芳6", "孙杰2", "会话存档", "王勇7：", "CRM", "crm", "[图片]"]


def test_an_import_is_searchable_at_once_and_the_same_once_indexed(store: ProjectStore, sample_train: Path) -> None:
    store.import_chat_file(load_chat_file(sample_train))
    assert store.waiting_for_index() == 10
    before = {query: found(store, query) for query in QUERIES}
    assert before == {query: expected(store, query) for query in QUERIES}
    assert caught_up(store) == 10
    assert store.waiting_for_index() == 0
    assert {query: found(store, query) for query in QUERIES} == before
    index_is_true(store)


def test_edits_before_and_after_indexing_leave_the_index_true(store: ProjectStore, sample_train: Path) -> None:
    store.import_chat_file(load_chat_file(sample_train))
    record = store.get_record("train", 2)
    store.update_gold(record.id, [dict(record.gold[0], **{"竞品信息": "企业微信私有化"})], record.version)
    assert found(store, "企业微信私有化") == [2]  # not indexed yet: found by scanning
    caught_up(store)
    assert found(store, "企业微信私有化") == [2]  # indexed as it is now, not as imported
    record = store.get_record("train", 2)
    store.update_gold(record.id, [dict(record.gold[0], **{"竞品信息": "钉钉专属版"})], record.version)
    assert found(store, "企业微信私有化") == [] and found(store, "钉钉专属版") == [2]
    store.import_chat_file(load_chat_file(sample_train), confirmed=True)  # the file's gold again
    index_is_true(store)
    assert found(store, "钉钉专属版") == [2]  # a person's edit survives a re-import, in the index too


def test_two_processes_catching_up_at_once_index_each_record_once(
        store: ProjectStore, sample_train: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(search, "INDEX_CHARS_PER_TRANSACTION", 1)  # one record a transaction
    store.import_chat_file(load_chat_file(sample_train))
    other = ProjectStore(store.url)
    counts: list[int] = []
    try:
        workers = [threading.Thread(target=lambda s=s: counts.extend(s.index_for_search())) for s in (store, other)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    finally:
        other.close()
    assert sum(counts) == 10
    assert store.waiting_for_index() == 0
    index_is_true(store)
    assert found(store, "13812345678") == [1]


def test_the_app_servers_indexer_catches_up_in_the_background(store: ProjectStore, sample_train: Path) -> None:
    indexer = search.BackgroundIndexer(store.waiting_for_index, store.index_for_search)
    store.import_chat_file(load_chat_file(sample_train))
    indexer.poke()
    indexer.poke()  # a second import meanwhile: one thread, which looks again when done
    indexer.join(timeout=30)
    assert store.waiting_for_index() == 0
    index_is_true(store)
    indexer.poke()  # nothing waits: the thread looks, finds nothing and ends
    indexer.join(timeout=30)
    assert not indexer.running


def test_the_command_line_import_leaves_everything_indexed(db_url: str, sample_train: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["import", str(sample_train), "--db", db_url]) == 0
    out = capsys.readouterr().out
    with closing(ProjectStore(db_url)) as store:
        assert store.waiting_for_index() == 0
    assert "search index: 10 records added" in out
