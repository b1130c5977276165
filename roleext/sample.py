"""The project's own sample data: ten short chats with gold and five test chats.

Written for roleext in the real format (speaker names with digits, placeholders, both
quote styles, a multi-customer record, one chat over 8,000 characters); the app's first
run and the test suite use it.
"""

from __future__ import annotations

from pathlib import Path

from roleext.io import load_chat_file
from roleext.project import ImportReport
from roleext.store import ProjectStore

SAMPLE_DIR = Path(__file__).parent / "sample_data"
SAMPLE_TRAIN = SAMPLE_DIR / "train.json"
SAMPLE_TEST = SAMPLE_DIR / "test_data.json"


def import_sample(store: ProjectStore, author: str | None = None) -> list[ImportReport]:
    """Import the sample train and test files (as `author` in history); a second call changes nothing."""
    return [
        store.import_chat_file(load_chat_file(SAMPLE_TRAIN, split="train"), author),
        store.import_chat_file(load_chat_file(SAMPLE_TEST, split="test"), author),
    ]
