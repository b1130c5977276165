"""The command-line contract: exit codes and output that scripts rely on."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from roleext.schema import MAX_RECORD_SCORE
from roleext.store import ProjectStore
from tests.fake_openai import API_KEY, FakeOpenAI

Cli = Callable[..., tuple[int, str, str]]
ROOT = Path(__file__).resolve().parents[1]


def test_validate_prints_one_summary_line(cli: Cli, sample_train: Path) -> None:
    code, out, _ = cli("validate", str(sample_train))
    assert code == 0
    assert out.splitlines() == ["train file: 10 records, 11 customers"]


def test_validate_lists_problems_and_exits_2(cli: Cli, write_json: Callable[..., Path],
                                            sample_records: list[dict[str, Any]]) -> None:
    sample_records[1]["infos"][0]["咨询类型"] = "答疑"
    sample_records[4]["extra"] = 1
    code, out, _ = cli("validate", str(write_json(sample_records, "train.json")))
    assert code == 2
    assert out.splitlines()[1:] == [
        'record 2, customer 1, field 咨询类型: is a string ("答疑"), expected a list of strings',
        "record 5, field extra: unknown key; a record holds only chat_text (a string) and infos (a list)",
    ]


def test_a_bad_import_loses_nothing_already_stored(cli: Cli, sample_train: Path,
                                                   write_json: Callable[..., Path]) -> None:
    assert cli("import", str(sample_train))[0] == 0
    code, out, _ = cli("import", str(write_json([{"chat_text": 3, "infos": []}], "train.json")))
    assert code == 2 and "record 1, field chat_text" in out
    code, out, _ = cli("import", str(sample_train))
    assert out.strip() == "train: 0 added, 0 updated, 10 unchanged, 0 no longer in the file"


def test_import_guesses_the_split(cli: Cli, sample_test: Path) -> None:
    code, out, _ = cli("import", str(sample_test))
    assert code == 0 and out.startswith("test: 5 added")


def test_export_without_summaries_fails_cleanly_and_writes_nothing(cli: Cli, sample_train: Path,
                                                                   tmp_path: Path) -> None:
    cli("import", str(sample_train))
    out_file = tmp_path / "train.jsonl"
    code, _, err = cli("export", "train-jsonl", str(out_file))
    assert code == 1 and "Run summarize first" in err
    assert not out_file.exists() and not list(tmp_path.glob("*.partial"))


def test_every_export_kind_writes_its_file(cli: Cli, sample_train: Path, sample_test: Path,
                                           tmp_path: Path) -> None:
    cli("import", str(sample_train))
    cli("import", str(sample_test))
    jsonl, alpaca = tmp_path / "train.jsonl", tmp_path / "alpaca.json"
    csv_file, submit = tmp_path / "test.csv", tmp_path / "submit.json"
    assert cli("export", "train-jsonl", str(jsonl), "--input", "chat", "--repeat", "3")[0] == 0
    assert len(jsonl.read_text("utf-8").splitlines()) == 30
    assert cli("export", "alpaca", str(alpaca), "--input", "chat")[0] == 0
    info = json.loads((tmp_path / "dataset_info.json").read_text("utf-8"))
    assert info["roleext"]["file_name"] == "alpaca.json"
    assert cli("export", "test-csv", str(csv_file), "--input", "chat")[0] == 0
    assert csv_file.read_text("utf-8").startswith("input,target")
    code, out, _ = cli("export", "submission", str(submit))
    assert code == 0 and "5 rows" in out
    assert cli("validate", str(submit))[1].startswith("submission file: 5 records")


def test_score_prints_the_score_last_and_both_baselines(cli: Cli, sample_train: Path) -> None:
    code, out, _ = cli("score", str(sample_train), str(sample_train))
    lines = out.splitlines()
    assert code == 0 and lines[-1] == f"score: {MAX_RECORD_SCORE:.4f}"
    assert any(line.startswith("baseline all-empty: ") for line in lines)
    assert any(line.startswith("baseline prior: ") for line in lines)


def test_score_of_an_empty_submission_on_the_real_data(cli: Cli, shared_train: Path, tmp_path: Path) -> None:
    cli("import", str(shared_train))
    submit = tmp_path / "submit.json"
    cli("export", "submission", str(submit), "--split", "train")
    code, out, _ = cli("score", str(shared_train), str(submit), "--json")
    report = json.loads(out.splitlines()[0])
    assert code == 0 and report["score"] == pytest.approx(report["baselines"]["all-empty"])
    assert out.splitlines()[-1] == f"score: {report['score']:.4f}"


def test_python_dash_m_roleext_runs(tmp_path: Path, sample_train: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "roleext", "--db", str(tmp_path / "x.db"), "validate", str(sample_train)],
        capture_output=True, text=True, cwd=ROOT, check=False,
    )
    assert result.returncode == 0 and result.stdout.startswith("train file: 10 records")


def test_llm_summaries_carry_the_facts_block_as_in_the_app_unless_told_not_to(cli: Cli, sample_train: Path,
                                                                            sample_test: Path, tmp_path: Path) -> None:
    """The command line's default is the app's (its box is ticked): a command-line run after an
    app run finds nothing to redo."""
    server = FakeOpenAI(answer=lambda request: "客户问了价格。").start()
    try:
        options = ("--backend", "openai", "--base-url", server.base_url, "--model", "m", "--api-key", API_KEY)
        cli("import", str(sample_train))
        cli("import", str(sample_test))
        assert cli("summarize", *options)[0] == 0
        assert cli("summarize", "--split", "test", "--no-prepend-facts", *options)[0] == 0
    finally:
        server.stop()
    store = ProjectStore(tmp_path / "cli.db")
    train, test = store.get_record("train", 1).summary, store.get_record("test", 1).summary
    assert train is not None and train.text.startswith("【事实摘录】") and train.text.endswith("客户问了价格。")
    assert test is not None and test.text == "客户问了价格。"
    store.close()


def test_summarize_and_infer_offline_then_export_a_valid_submission(cli: Cli, sample_train: Path,
                                                                     sample_test: Path, tmp_path: Path) -> None:
    cli("import", str(sample_train))
    cli("import", str(sample_test))
    code, out, _ = cli("summarize")
    assert code == 0 and out.strip().startswith("summarize train: 10/10 done, 0 failed")
    code, out, _ = cli("summarize", "--split", "test")
    assert code == 0
    code, out, _ = cli("infer")
    assert code == 0 and out.strip().startswith("infer test: 5/5 done, 0 failed")
    submit = tmp_path / "submit.json"
    assert cli("export", "submission", str(submit))[0] == 0
    assert cli("validate", str(submit))[1].startswith("submission file: 5 records, 5 customers")


def test_infer_without_summaries_says_what_to_run_first(cli: Cli, sample_test: Path) -> None:
    cli("import", str(sample_test))
    code, _, err = cli("infer")
    assert code == 1 and "run summarize first" in err


def test_spark_without_keys_is_a_clear_error(cli: Cli, sample_test: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SPARK_APP_ID", "SPARK_API_KEY", "SPARK_API_SECRET"):
        monkeypatch.delenv(name, raising=False)
    cli("import", str(sample_test))
    code, _, err = cli("summarize", "--split", "test", "--backend", "spark")
    assert code == 1 and "SPARK_API_KEY" in err


def test_warnings_are_logged_by_default_and_v_adds_what_jobs_do(cli: Cli, sample_test: Path) -> None:
    cli("import", str(sample_test))
    code, _, err = cli("summarize", "--split", "test")
    assert code == 0 and " INFO " not in err
    code, _, err = cli("-v", "infer", "--input", "chat")
    assert code == 0 and "INFO roleext.jobs: infer test with offline" in err
    assert "INFO roleext.jobs: infer record 1 of test done: 1 call" in err


def test_an_unexpected_worker_error_shows_its_traceback_on_stderr(tmp_path: Path, sample_test: Path) -> None:
    db = tmp_path / "broken.db"

    def roleext(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "roleext", "--db", str(db), *args],
                              capture_output=True, text=True, cwd=ROOT, timeout=120, check=False)

    assert roleext("import", str(sample_test)).returncode == 0
    with closing(sqlite3.connect(db)) as conn, conn:  # a database fault no code of ours expects
        for event in ("INSERT", "UPDATE"):
            conn.execute(f"CREATE TRIGGER no_{event.lower()} BEFORE {event} ON summaries "
                         "BEGIN SELECT RAISE(ABORT, 'the disk is on fire'); END")
    result = roleext("summarize", "--split", "test", "--concurrency", "1")
    assert result.returncode == 1
    assert "unexpected error (IntegrityError); see the log" in result.stderr
    assert "Traceback (most recent call last)" in result.stderr and "the disk is on fire" in result.stderr
    assert "ERROR roleext.jobs: summarize record 1 of test failed" in result.stderr


def test_export_test_csv_escapes_formulas_on_request(cli: Cli, sample_test: Path, tmp_path: Path) -> None:
    cli("import", str(sample_test))
    cli("summarize", "--split", "test")
    store = ProjectStore(tmp_path / "cli.db")
    store.save_summary(store.get_record("test", 1).id, "=1+1", "offline", "digest", "p1")
    store.close()
    out = tmp_path / "test.csv"
    code, stdout, _ = cli("export", "test-csv", str(out))
    assert code == 0 and "records 1 (a spreadsheet may run them" in stdout
    assert out.read_text("utf-8").splitlines()[1] == "=1+1,-"
    code, stdout, _ = cli("export", "test-csv", str(out), "--escape-formulas")
    assert code == 0 and out.read_text("utf-8").splitlines()[1] == "'=1+1,-"
