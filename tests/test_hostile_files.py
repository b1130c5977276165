"""Files built to break a parser get one clear refusal: from the library, the CLI and the Data page."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from roleext.errors import InvalidFileError
from roleext.io import load_chat_file, summarize_file
from roleext.sample import SAMPLE_TRAIN

ROOT = Path(__file__).resolve().parents[1]
RECORD = {"chat_text": "王勇7：你好\n客服李娜3：您好", "infos": []}


def _json(items: object, **options: object) -> bytes:
    return json.dumps(items, ensure_ascii=False, **options).encode()  # type: ignore[arg-type]


HOSTILE: dict[str, tuple[bytes, str]] = {
    "deep nesting": (b"[" * 100_000 + b"]" * 100_000, "file: nests lists or objects thousands of levels deep"),
    "deep nesting in a record": (_json([{**RECORD, "infos": [{"基本信息-姓名": json.loads("[" * 17 + "]" * 17)}]}]),
                                 "record 1, customer 1, field 基本信息-姓名: nests over 16 levels deep"),
    "a number 5,000 digits long": (b'[{"chat_text": ' + b"7" * 5000 + b', "infos": []}]',
                                   "record 1, field chat_text: is a number 5,000 digits long"),
    "a lone surrogate": (b'[{"chat_text": "\\u738b\\ud800", "infos": []}]',
                         "record 1, field chat_text: holds a lone surrogate (\\ud800)"),
    "a NUL character": (b'[{"chat_text": "a\\u0000b", "infos": []}]',
                        "record 1, field chat_text: holds a NUL character"),
    "a NUL byte": (b'[{"chat_text": "a\x00b", "infos": []}]', "file: holds a NUL byte at offset 17"),
    "a whitespace-only chat": (_json([RECORD, {"chat_text": " \n\t　", "infos": []}]),
                               "record 2, field chat_text: holds only whitespace"),
    "duplicate chats": (_json([RECORD, {"chat_text": "b", "infos": []}, RECORD]),
                        "record 3, field chat_text: is the same chat as record 1's"),
    "one object, not a list": (_json(RECORD), "file: top level is an object, expected a list of records"),
    "a pretty-printed object": (_json(RECORD, indent=2), "file: top level is an object, expected a list"),
    "pretty-printed objects": (_json(RECORD, indent=2) + b"\n" + _json({**RECORD, "chat_text": "b"}, indent=2),
                               "file: holds JSON objects spread over several lines"),
}


@pytest.mark.parametrize("name", HOSTILE)
def test_the_library_refuses_with_one_located_problem(name: str) -> None:
    data, expected = HOSTILE[name]
    for read in (load_chat_file, summarize_file):
        with pytest.raises(InvalidFileError) as caught:
            read(data)
        assert [str(p)[:len(expected)] for p in caught.value.problems] == [expected]


@pytest.mark.parametrize("command", ["validate", "import"])
@pytest.mark.parametrize("name", HOSTILE)
def test_the_cli_refuses_with_exit_2_and_no_traceback(name: str, command: str, tmp_path: Path) -> None:
    data, expected = HOSTILE[name]
    path = tmp_path / "train.json"
    path.write_bytes(data)
    result = subprocess.run([sys.executable, "-m", "roleext", "--db", str(tmp_path / "x.db"), command, str(path)],
                            capture_output=True, text=True, cwd=ROOT, check=False, timeout=120)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert expected in result.stdout


@pytest.mark.parametrize("name", HOSTILE)
def test_the_data_page_refuses_without_an_exception_or_a_server_path(
        name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROLEEXT_DB", str(tmp_path / "app.db"))
    data, _ = HOSTILE[name]
    at = AppTest.from_file(str(ROOT / "pages" / "data.py"), default_timeout=30).run()
    at.file_uploader[0].set_value(("train.json", data, "application/json")).run()
    next(b for b in at.button if b.label == "Import").click().run()
    assert not at.exception
    assert at.error and "Nothing was imported" in at.error[0].value
    shown = "\n".join(str(e.value) for kind in ("markdown", "error", "caption", "info", "success", "code")
                      for e in getattr(at, kind))
    assert str(tmp_path) not in shown and str(ROOT) not in shown and "Traceback" not in shown


def test_the_real_sample_still_loads() -> None:
    assert len(load_chat_file(SAMPLE_TRAIN).records) == 10


def test_one_fine_tuning_row_is_still_a_jsonl_file() -> None:
    row = {"instruction": "i", "input": "x", "output": "[]"}
    assert summarize_file(_json(row)).kind == "finetune"
