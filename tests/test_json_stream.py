"""A JSON list file is read one record at a time, with the same records and the same located
problems as reading it whole."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from roleext import json_stream
from roleext.errors import InvalidFileError
from roleext.io import load_chat_file
from tests.test_hostile_files import HOSTILE

OTHER_BAD: dict[str, bytes] = {
    "a trailing comma": b'[{"chat_text": "a", "infos": []},]',
    "text after the list": b'[{"chat_text": "a", "infos": []}] x',
    "a missing comma": b'[{"chat_text": "a", "infos": []} {"chat_text": "b", "infos": []}]',
    "a cut file": b'[{"chat_text": "a", "infos": []}, {"chat_te',
    "bad UTF-8": b'[{"chat_text": "\xff\xfe", "infos": []}]',
    "an empty list": b"[ ]",
    "a number as a record": b"[1, 22, 333]",
    "a missing field": b'[{"chat_text": "a"}]',
}


@pytest.fixture(autouse=True)
def tiny_window(monkeypatch: pytest.MonkeyPatch) -> None:
    """A window of a few characters: every record crosses its edge, as big ones do at 1 MB."""
    monkeypatch.setattr(json_stream, "CHUNK_CHARS", 5)


def outcome(source: bytes | Path) -> Any:
    try:
        chat_file = load_chat_file(source)
    except InvalidFileError as exc:
        return [str(p) for p in exc.problems]
    return chat_file.split, [(r.index, r.chat_text, r.infos) for r in chat_file.records], \
        [str(p) for p in chat_file.warnings + chat_file.lints]


@pytest.mark.parametrize("name", [*HOSTILE, *OTHER_BAD])
def test_a_file_says_the_same_as_its_bytes(name: str, tmp_path: Path) -> None:
    data = HOSTILE[name][0] if name in HOSTILE else OTHER_BAD[name]
    path = tmp_path / "train.json"
    path.write_bytes(data)
    assert outcome(path) == outcome(data)


def test_a_valid_list_is_streamed_not_read_whole(sample_train: Path, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    records = json.loads(sample_train.read_text("utf-8"))
    path = tmp_path / "train.json"
    path.write_bytes(b"\xef\xbb\xbf \n" + json.dumps(records, ensure_ascii=False, indent=1).encode())
    expected = outcome(path.read_bytes())

    def refuse(self: Path) -> bytes:
        raise AssertionError(f"{self} was read whole")

    monkeypatch.setattr(Path, "read_bytes", refuse)
    assert outcome(path) == expected
    assert len(expected[1]) == 10
