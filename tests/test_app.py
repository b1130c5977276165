"""The Streamlit app, run headless with AppTest against a real project database."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[1] / "app.py")


@pytest.fixture(autouse=True)
def project_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    db = tmp_path / "app.db"
    monkeypatch.setenv("ROLEEXT_DB", str(db))
    return db


def test_empty_project_says_what_to_do() -> None:
    at = AppTest.from_file(APP, default_timeout=30).run()
    assert not at.exception
    assert "upload a file above, or load the sample data" in at.info[0].value


def test_sample_data_is_one_click_away() -> None:
    at = AppTest.from_file(APP, default_timeout=30).run()
    at.button[0].click().run()
    assert not at.exception
    assert [s.value for s in at.success] == [
        "train: 10 added, 0 updated, 0 unchanged, 0 no longer in the file",
        "test: 5 added, 0 updated, 0 unchanged, 0 no longer in the file",
    ]
    assert len(at.dataframe[0].value) == 15
