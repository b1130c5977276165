"""Shared fixtures: a real project database per test (SQLite, and PostgreSQL where a server
is named), the sample data, the shared real data."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from roleext.cli import main
from roleext.sample import SAMPLE_TEST, SAMPLE_TRAIN
from roleext.store import ProjectStore
from tests.postgres import REQUIRE_ENV, SERVER_ENV, fresh_database, postgres_required, server_url

SHARED_TRAIN = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "train.json"


@pytest.fixture(autouse=True)
def english_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """The command line speaks the terminal's language: tests read English whatever the developer's
    LANG is (LANGUAGE comes first), unless they set another one, in-process or for a subprocess."""
    monkeypatch.setenv("LANGUAGE", "en")


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A new, empty project database on each store: a SQLite file, and a fresh database on the
    PostgreSQL server of ROLEEXT_TEST_POSTGRES (skipped where none is set, unless
    ROLEEXT_REQUIRE_POSTGRES is, as in CI)."""
    if request.param == "sqlite":
        yield str(tmp_path / "roleext.db")
        return
    server = server_url()
    if server is None:
        if postgres_required():
            pytest.fail(f"{REQUIRE_ENV} is set but {SERVER_ENV} names no PostgreSQL server")
        pytest.skip(f"no PostgreSQL server to test on (set {SERVER_ENV}, see .ci/run)")
    with fresh_database(server) as url:
        yield url


@pytest.fixture
def store(db_url: str) -> Iterator[ProjectStore]:
    project = ProjectStore(db_url)
    yield project
    project.close()


@pytest.fixture
def sample_train() -> Path:
    return SAMPLE_TRAIN


@pytest.fixture
def sample_test() -> Path:
    return SAMPLE_TEST


@pytest.fixture
def sample_records() -> list[dict[str, Any]]:
    return json.loads(SAMPLE_TRAIN.read_text("utf-8"))


@pytest.fixture
def shared_train() -> Path:
    """The 100 real records beside the project; tests using them skip where it is absent."""
    if not SHARED_TRAIN.exists():
        pytest.skip("../shared/data/train.json is not here")
    return SHARED_TRAIN


@pytest.fixture
def write_json(tmp_path: Path) -> Callable[[Any, str], Path]:
    def write(data: Any, name: str = "data.json") -> Path:
        path = tmp_path / name
        path.write_text(json.dumps(data, ensure_ascii=False), "utf-8")
        return path

    return write


@pytest.fixture
def cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Callable[..., tuple[int, str, str]]:
    """Run `python -m roleext` in-process against this test's own database."""
    db = tmp_path / "cli.db"

    def run(*args: str) -> tuple[int, str, str]:
        code = main(["--db", str(db), *args])
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium under Playwright, one a test module (browser tests call
    `tests.browser.skip_without_chromium` first)."""
    from playwright.sync_api import sync_playwright

    from tests.browser import CHROMIUM, CHROMIUM_ARGS

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def spark() -> Iterator[Any]:
    """A fake Spark service on 127.0.0.1 answering every request with one summary line (modules
    that need other answers define their own `spark`)."""
    from tests.fake_spark import FakeSpark

    server = FakeSpark(answer=lambda request: "客户基本信息：李娜3").start()
    yield server
    server.stop()
