"""Command-line misuse gets one line and exit 2, never a traceback; searches and exports never break."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from roleext.io import load_chat_file
from roleext.record_list import RecordFilter, filter_records
from roleext.sample import SAMPLE_TEST, SAMPLE_TRAIN
from roleext.store import ProjectStore

ROOT = Path(__file__).resolve().parents[1]


def roleext(*args: str, db: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "roleext", "--db", str(db), *args], capture_output=True,
                          text=True, cwd=ROOT, check=False, timeout=120)


MISUSE: dict[str, tuple[list[str], str]] = {
    "output in a missing folder": (["export", "test-csv", "{tmp}/no/such/folder/test.csv"], "does not exist"),
    "output that is a folder": (["export", "test-csv", "{tmp}"], "is a folder"),
    "--db naming a folder": (["--db", "{tmp}", "import", str(SAMPLE_TEST)], "is a folder"),
    "--db naming a text file": (["--db", "{tmp}/notes.txt", "import", str(SAMPLE_TEST)], "not SQLite"),
    "--db in a missing folder": (["--db", "{tmp}/no/x.db", "import", str(SAMPLE_TEST)], "does not exist"),
    "--db naming a PostgreSQL server that is not there": (
        ["--db", "postgresql://roleext:s3cret@127.0.0.1:1/project", "import", str(SAMPLE_TEST)],
        "cannot connect to the database postgresql+psycopg://roleext:***@127.0.0.1:1/project: Connection refused"),
    "a missing --prompt-file": (["summarize", "--prompt-file", "{tmp}/nope.txt"], "no such file"),
    "a negative --timeout": (["summarize", "--timeout", "-1"], "argument --timeout: expected a number above 0"),
    "a zero --concurrency": (["infer", "--concurrency", "0"], "argument --concurrency: expected a whole number"),
    "a negative --concurrency": (["summarize", "--concurrency=-4"], "expected a whole number from 1"),
    "a malformed --spark-url": (["summarize", "--backend", "spark", "--spark-url", "http//spark"],
                                "the Spark URL must look like wss://"),
    "score against a file with no gold": (["score", str(SAMPLE_TEST), str(SAMPLE_TEST)], "holds no gold customers"),
    "an unknown option": (["export", "test-csv", "x.csv", "--no-such-flag"], "unrecognized arguments"),
}


@pytest.mark.parametrize("name", MISUSE)
def test_misuse_gets_one_line_and_exit_2(name: str, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not a database\n", "utf-8")
    args, expected = MISUSE[name]
    result = roleext(*[a.replace("{tmp}", str(tmp_path)) for a in args], db=tmp_path / "project.db")
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and result.stderr.startswith("error: ")
    assert expected in result.stderr


@pytest.mark.parametrize("url", ["postgresql://roleext@127.0.0.1/project", "postgres://roleext@127.0.0.1/project",
                                 "postgresql+psycopg://roleext@127.0.0.1/project"])
def test_postgresql_without_its_driver_names_the_extra_to_install(url: str, tmp_path: Path) -> None:
    no_driver = "import sys; sys.modules['psycopg'] = None; from roleext.cli import main; sys.exit(main(sys.argv[1:]))"
    result = subprocess.run([sys.executable, "-c", no_driver, "--db", url, "import", str(SAMPLE_TEST)],
                            capture_output=True, text=True, cwd=ROOT, check=False, timeout=120)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr == 'error: PostgreSQL needs the psycopg driver, which is not installed here: ' \
                            'pip install -e ".[postgres]"\n'


def test_a_refused_export_leaves_the_folder_as_it_was(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    roleext("export", "test-csv", str(out), db=tmp_path / "project.db")
    assert list(out.iterdir()) == []


# --- search ---------------------------------------------------------------------------


@pytest.fixture
def searchable(store: ProjectStore) -> ProjectStore:
    records = json.loads(SAMPLE_TRAIN.read_text("utf-8"))
    records.append({"chat_text": "王勇7：折扣 100% 有吗？a_b c\\d\n" + "客服李娜3：很长的回答" * 20_000, "infos": []})
    store.import_chat_file(load_chat_file(json.dumps(records, ensure_ascii=False).encode(), split="train"))
    return store


@pytest.mark.parametrize("text", ["%", "_", "\\", "\x00", "100%", "a_b", "c\\d", "%_\\\x00" * 25_000])
def test_a_search_of_any_text_never_raises_and_matches_literally(searchable: ProjectStore, text: str) -> None:
    found = {i.index for i in filter_records(searchable, RecordFilter("train", text=text))}
    expected = {r.index for r in searchable.iter_records("train") if text in r.chat_text}
    assert found == expected


def test_a_search_100000_characters_long_finds_its_record(searchable: ProjectStore) -> None:
    long_chat = searchable.get_record("train", 11).chat_text
    query = long_chat[3:100_003]
    assert [i.index for i in filter_records(searchable, RecordFilter("train", text=query))] == [11]
    assert filter_records(searchable, RecordFilter("train", text=query + "不在")) == []


def test_the_review_page_search_box_takes_100000_characters(searchable: ProjectStore,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("ROLEEXT_DB", searchable.url.removeprefix("sqlite:///"))
    at = AppTest.from_file(str(ROOT / "pages" / "review.py"), default_timeout=30).run()
    at.text_input(key="review_search").set_value("%" * 100_000).run()
    assert not at.exception and at.info  # nothing matches, and the page says so


# --- interrupted exports --------------------------------------------------------------


def test_an_interrupted_export_leaves_no_partial_file(tmp_path: Path) -> None:
    db = tmp_path / "project.db"
    assert roleext("import", str(SAMPLE_TRAIN), db=db).returncode == 0
    out = tmp_path / "train.jsonl"
    partial = tmp_path / "train.jsonl.partial"
    process = subprocess.Popen([sys.executable, "-m", "roleext", "--db", str(db), "export", "train-jsonl", str(out),
                                "--input", "chat", "--repeat", "100000"], cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not (partial.exists() and partial.stat().st_size > 0) and time.monotonic() < deadline:
        time.sleep(0.01)
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 128 + signal.SIGTERM and err.strip() == "error: interrupted"
    assert not partial.exists() and not out.exists()


def test_a_partial_left_by_a_killed_run_is_cleaned_by_the_next(tmp_path: Path) -> None:
    db = tmp_path / "project.db"
    roleext("import", str(SAMPLE_TEST), db=db)
    partial = tmp_path / "test.csv.partial"
    partial.write_text("input,target\nhalf", "utf-8")
    result = roleext("export", "test-csv", str(tmp_path / "test.csv"), db=db)  # fails: no summaries yet
    assert result.returncode == 1
    assert not partial.exists() and not (tmp_path / "test.csv").exists()
