"""Tables show a page of rows; figures are cached under a project version that moves with every change."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from roleext.backends import OfflineBackend
from roleext.io import load_chat_file
from roleext.jobs import Job, JobSpec
from roleext.paging import page_of, project_version, records_on_page, split_sizes
from roleext.project import ReviewStatus
from roleext.runs import RunBook
from roleext.store import ProjectStore

ROOT = Path(__file__).resolve().parents[1]


def many_chats(n: int) -> bytes:
    chats = [{"chat_text": f"王勇7：你好\n客户{i}：我的电话是138{i:08d}", "infos": []} for i in range(1, n + 1)]
    return json.dumps(chats, ensure_ascii=False).encode()


@pytest.fixture
def big(store: ProjectStore) -> ProjectStore:
    store.import_chat_file(load_chat_file(many_chats(120), split="test"))
    return store


def test_a_page_is_clamped_to_the_rows_there_are() -> None:
    assert page_of(120, 1, 50) == page_of(120, 0, 50)
    assert (page_of(120, 3, 50).start, page_of(120, 3, 50).end, page_of(120, 3, 50).count) == (101, 120, 3)
    assert page_of(120, 9, 50).number == 3
    assert page_of(0, 1, 50).count == 1


def test_a_page_of_records_is_those_positions_with_their_run(big: ProjectStore) -> None:
    assert split_sizes(big) == {"test": 120}
    Job(big, OfflineBackend(), JobSpec("summarize", "test")).run()
    Job(big, OfflineBackend(), JobSpec("infer", "test")).run()
    run = RunBook(big).newest_first("test")[0].id
    records = records_on_page(big, "test", page_of(120, 2, 50), run)
    assert [r.index for r in records] == list(range(51, 101))
    assert all(r.prediction is not None and r.prediction.run == run for r in records)
    assert "13800000051" in records[0].chat_text


def test_the_project_version_moves_with_every_change(big: ProjectStore, sample_train: Path) -> None:
    seen = {project_version(big)}

    def moved() -> bool:
        version = project_version(big)
        new = version not in seen
        seen.add(version)
        return new

    assert not moved()
    record = big.get_record("test", 5)
    big.set_status(record.id, ReviewStatus.ACCEPTED, record.version)
    assert moved()
    big.import_chat_file(load_chat_file(sample_train))
    assert moved()
    Job(big, OfflineBackend(), JobSpec("summarize", "train")).run()
    assert moved()
    Job(big, OfflineBackend(), JobSpec("infer", "train")).run()
    assert moved()
    record = big.get_record("train", 2)
    big.update_gold(record.id, [], record.version)
    assert moved()


def test_the_data_page_shows_a_page_of_records(big: ProjectStore, monkeypatch: pytest.MonkeyPatch) -> None:
    if not big.url.startswith("sqlite"):
        pytest.skip("the page opens the SQLite project of ROLEEXT_DB")
    monkeypatch.setenv("ROLEEXT_DB", big.url.removeprefix("sqlite:///"))
    at = AppTest.from_file(str(ROOT / "pages" / "data.py"), default_timeout=30).run()
    assert not at.exception
    table = at.dataframe[-1].value
    assert list(table["record"]) == list(range(1, 51))
    at.number_input(key="data_records_page_test").set_value(3).run()
    assert list(at.dataframe[-1].value["record"]) == list(range(101, 121))
    assert any("rows 101–120 of 120" in c.value for c in at.caption)
