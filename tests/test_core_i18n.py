"""roleext's own messages in the user's language: file problems, job lines, the command line.

The app's session language reaches the core without the pages passing it; the command line
takes the terminal's locale as gettext reads it; a job speaks the language of whoever
started it, on every thread it runs. Each surface names its own remedies.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from pages.language import LANGUAGE_KEY
from roleext.backends import OfflineBackend
from roleext.errors import InvalidFileError
from roleext.i18n import LOCALE_VARIABLES, Language, current_language, environment_language, using
from roleext.io import load_chat_file
from roleext.jobs import Job, JobSpec
from roleext.ledger import record_task_rows
from roleext.schema import MAX_RECORD_SCORE
from roleext.store import ProjectStore

ROOT = Path(__file__).resolve().parents[1]
Cli = Callable[..., tuple[int, str, str]]

PROBLEM = {
    "zh": "记录 7，客户 1，字段 咨询类型：是字符串（\"答疑\"），应为字符串列表",
    "en": 'record 7, customer 1, field 咨询类型: is a string ("答疑"), expected a list of strings',
}
NO_SUMMARY = {
    "zh": "没有当前摘要（尚未生成，或摘要属于旧版对话）：请先为此数据集生成摘要，或让模型读取原始对话",
    "en": "no current summary (none yet, or one of an older chat): summarize this split first, or let the model "
          "read the raw chat",
}


@pytest.fixture
def bad_train(sample_records: list[dict[str, Any]], write_json: Callable[..., Path]) -> Path:
    """The sample train file with a list field written as a string in record 7."""
    sample_records[6]["infos"][0]["咨询类型"] = "答疑"
    return write_json(sample_records, "train.json")


@pytest.mark.parametrize("language", ["zh", "en"])
def test_a_problem_of_an_imported_file_names_record_and_field_in_the_callers_language(
        language: Language, bad_train: Path) -> None:
    with using(language):
        with pytest.raises(InvalidFileError) as refused:
            load_chat_file(bad_train.read_bytes())
        assert [str(problem) for problem in refused.value.problems] == [PROBLEM[language]]
    head = str(refused.value).splitlines()[0]
    heads = {"zh": "上传的文件 无法使用（1 个问题）：", "en": "uploaded file cannot be used (1 problem):"}
    assert head == heads[language]


def test_english_is_the_default_and_a_language_holds_only_within_its_block() -> None:
    assert current_language() == "en"
    with using("zh"):
        assert current_language() == "zh"
    assert current_language() == "en"


@pytest.mark.parametrize(("environ", "language"), [
    ({"LANG": "zh_CN.UTF-8"}, "zh"),
    ({"LANG": "C"}, "en"),
    ({"LANG": "C.UTF-8"}, "en"),
    ({"LANG": "POSIX"}, "en"),
    ({"LANG": "de_DE.UTF-8"}, "en"),
    ({}, "en"),
    ({"LC_MESSAGES": "zh_TW.UTF-8", "LANG": "en_US.UTF-8"}, "zh"),
    ({"LC_ALL": "C", "LANG": "zh_CN.UTF-8"}, "en"),  # LC_ALL comes before LANG
    ({"LANGUAGE": "en", "LC_ALL": "zh_CN.UTF-8"}, "en"),  # LANGUAGE before all of them
    ({"LANGUAGE": "fr:zh_CN:en", "LANG": "fr_FR.UTF-8"}, "zh"),  # the first language roleext speaks
    ({"LANGUAGE": "", "LANG": "zh_CN.utf8"}, "zh"),  # an empty variable is not set
    ({"LANG": "zh_CN.GB18030@stroke"}, "zh"),
])
def test_the_terminal_language_is_read_the_way_gettext_reads_it(environ: dict[str, str], language: str) -> None:
    assert environment_language(environ) == language


def run_cli(*args: str, **locale: str) -> subprocess.CompletedProcess[str]:
    """`python -m roleext` in a terminal whose locale variables are only `locale`."""
    env = {name: value for name, value in os.environ.items() if name not in LOCALE_VARIABLES} | locale
    return subprocess.run([sys.executable, "-m", "roleext", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, encoding="utf-8", timeout=120, check=False)


def test_the_command_line_speaks_chinese_in_a_chinese_terminal_and_english_in_c(bad_train: Path) -> None:
    chinese = run_cli("validate", str(bad_train), LANG="zh_CN.UTF-8")
    assert chinese.returncode == 2
    assert chinese.stdout.splitlines() == ["train.json 无法使用（1 个问题）：", PROBLEM["zh"]]
    english = run_cli("validate", str(bad_train), LANG="C")
    assert english.returncode == 2
    assert english.stdout.splitlines() == ["train.json cannot be used (1 problem):", PROBLEM["en"]]


def test_a_chinese_command_line_keeps_the_score_line_scripts_read(cli: Cli, sample_train: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANGUAGE", "zh_CN")
    code, out, _ = cli("score", str(sample_train), str(sample_train))
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["字段", "权重", "得分", "准确率"]
    assert lines[-1] == f"score: {MAX_RECORD_SCORE:.4f}" and lines[-2].startswith("方法：每个标注客户")
    code, out, err = cli("export", "submission", str(sample_train.parent / "missing" / "submit.json"))
    assert code == 2 and err.startswith("错误：") and "不存在" in err


def test_a_job_writes_its_lines_in_the_language_of_who_started_it(store: ProjectStore, sample_train: Path) -> None:
    """Started in a Chinese session, a job's threads write Chinese, after the session's run has ended."""
    store.import_chat_file(load_chat_file(sample_train))
    with using("zh"):
        job = Job(store, OfflineBackend(), JobSpec("infer", "train", concurrency=3))  # no summary: each fails
        job.start()
    progress = job.wait(60)  # read outside the session: what the threads wrote stays as they wrote it
    assert progress.finished and progress.failed == 10
    assert set(progress.errors.values()) == {NO_SUMMARY["zh"]}
    rows = record_task_rows(store, "infer", "train")  # the stored failure, in the starter's language
    assert {row["error"] for row in rows} == {NO_SUMMARY["zh"]} and {row["status"] for row in rows} == {"failed"}
    with using("zh"):
        assert {row["status"] for row in record_task_rows(store, "infer", "train")} == {"失败"}
        assert progress.line("infer", "train").startswith("推理 train：已完成 0/10，失败 10")
    english = Job(store, OfflineBackend(), JobSpec("infer", "train")).run()
    assert set(english.errors.values()) == {NO_SUMMARY["en"]}


def test_each_surface_names_its_own_remedy(store: ProjectStore, sample_train: Path) -> None:
    """The app offers what its widgets do; the command line names its options."""
    store.import_chat_file(load_chat_file(sample_train))
    with using("en", "cli"):
        job = Job(store, OfflineBackend(), JobSpec("infer", "train"))
        job.start()
    assert set(job.wait(60).errors.values()) == {
        "no current summary (none yet, or one of an older chat): run summarize first, or infer with --input chat"}
    with using("zh", "cli"):
        cli_message = Job(store, OfflineBackend(), JobSpec("infer", "train")).run().errors[1]
    assert cli_message.endswith("请先运行 summarize，或用 --input chat 推理")
    assert "--" not in NO_SUMMARY["zh"] and "--" not in NO_SUMMARY["en"]


def test_the_chinese_data_page_lists_the_problems_of_a_bad_upload_in_chinese(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bad_train: Path) -> None:
    monkeypatch.setenv("ROLEEXT_DB", str(tmp_path / "app.db"))
    at = AppTest.from_file(str(ROOT / "pages" / "data.py"), default_timeout=30)
    at.session_state[LANGUAGE_KEY] = "zh"
    at.run()
    at.file_uploader[0].set_value(("train.json", bad_train.read_bytes(), "application/json")).run()
    next(button for button in at.button if button.label == "导入").click().run()
    assert not at.exception
    assert at.error[0].value == r"train\.json 无法使用：1 个问题。未导入任何内容。"
    assert [block.value for block in at.code] == [PROBLEM["zh"]]


def test_an_english_app_session_keeps_english_core_messages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                            bad_train: Path) -> None:
    monkeypatch.setenv("ROLEEXT_DB", str(tmp_path / "app.db"))
    at = AppTest.from_file(str(ROOT / "pages" / "data.py"), default_timeout=30)
    at.session_state[LANGUAGE_KEY] = "en"
    at.run()
    at.file_uploader[0].set_value(("train.json", bad_train.read_bytes(), "application/json")).run()
    next(button for button in at.button if button.label == "Import").click().run()
    assert [block.value for block in at.code] == [PROBLEM["en"]]
