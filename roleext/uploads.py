"""An upload goes to disk before it is read: the file is then streamed from there
(`roleext.io.read_items`), never copied whole in memory again."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

COPY_CHUNK_BYTES = 1 << 20


def _safe_name(name: str) -> str:
    """The upload's own name, fit for a file name: messages name the file as the person knows it."""
    cleaned = "".join(c if c.isalnum() or c in "._-" else "_" for c in Path(name).name)
    return cleaned.lstrip(".") or "upload.json"


@contextmanager
def spooled_upload(stream: BinaryIO, name: str) -> Iterator[Path]:
    """The uploaded bytes as a file in a private temporary folder, removed on leaving."""
    with tempfile.TemporaryDirectory(prefix="roleext-upload-") as folder:
        path = Path(folder) / _safe_name(name)
        stream.seek(0)
        with path.open("wb") as out:
            shutil.copyfileobj(stream, out, COPY_CHUNK_BYTES)
        yield path
