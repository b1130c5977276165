"""A JSON list read from a file one item at a time, so a 700 MB file is never held whole.

Python's own decoder (`json.JSONDecoder.raw_decode`, the C scanner) parses each item from a
window of the file a few MB wide: no extra dependency, the same parsing rules as
`roleext.decoding.loads`. Anything irregular (bad UTF-8, a NUL, broken JSON, nesting too
deep) raises `NotStreamable`, and the caller reads the file the ordinary way, which names
the problem with its line and column: errors are rare, large files are not.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from roleext.decoding import parse_int

CHUNK_CHARS = 1 << 20
"""Characters read at a time; an item longer than this is read in doubling steps."""
_SPACE = re.compile(r"[ \t\n\r]*")


class NotStreamable(Exception):
    """The file is not a plain, valid JSON list: read it whole to say what is wrong."""


def starts_a_list(path: Path) -> bool:
    """Whether the file's first character (after a BOM and whitespace) opens a JSON list."""
    with path.open("rb") as handle:
        head = handle.read(4096).removeprefix(b"\xef\xbb\xbf").lstrip()
    return head[:1] == b"["


class _Window:
    """The part of the file not parsed yet, refilled as items are taken from its front."""

    def __init__(self, path: Path) -> None:
        self.handle = path.open(encoding="utf-8-sig", newline="")
        self.text = ""
        self.pos = 0
        self.eof = False

    def more(self, chars: int = CHUNK_CHARS) -> bool:
        """Append the next characters of the file; False at its end."""
        try:
            chunk = self.handle.read(chars)
        except UnicodeDecodeError:
            raise NotStreamable from None
        if not chunk:
            self.eof = True
            return False
        if "\x00" in chunk:
            raise NotStreamable
        self.text = self.text[self.pos:] + chunk
        self.pos = 0
        return True

    def skip_space(self) -> str:
        """Move past whitespace; the next character, "" at the end of the file."""
        while True:
            match = _SPACE.match(self.text, self.pos)
            assert match is not None  # the pattern matches the empty string
            self.pos = match.end()
            if self.pos < len(self.text) or not self.more():
                return self.text[self.pos:self.pos + 1]

    def item(self, decoder: json.JSONDecoder) -> Any:
        """The JSON value starting here, reading on until it is complete."""
        size = CHUNK_CHARS
        while True:
            try:
                value, end = decoder.raw_decode(self.text, self.pos)
            except RecursionError:
                raise NotStreamable from None
            except json.JSONDecodeError:
                if self.eof or not self.more(size):
                    raise NotStreamable from None
                size *= 2
                continue
            if end == len(self.text) and not self.eof and self.more(size):
                continue  # a number or literal cut by the window's edge: read it whole
            self.pos = end
            return value

    def close(self) -> None:
        self.handle.close()


def iter_json_list(path: Path) -> Iterator[Any]:
    """The items of a file holding one JSON list, one at a time; `NotStreamable` if it is not one."""
    decoder = json.JSONDecoder(parse_int=parse_int)
    window = _Window(path)
    try:
        if window.skip_space() != "[":
            raise NotStreamable
        window.pos += 1
        if window.skip_space() == "]":
            window.pos += 1
        else:
            while True:
                yield window.item(decoder)
                after = window.skip_space()
                window.pos += 1
                if after == "]":
                    break
                if after != ",":
                    raise NotStreamable
                window.skip_space()
        if window.skip_space() != "":
            raise NotStreamable  # text after the list
    finally:
        window.close()
