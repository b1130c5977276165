"""What a page shows is current: settings kept across pages, every running job in view,
downloads built when clicked, one rule for a row that is too long. AppTest on a real project."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from streamlit.testing.v1 import AppTest

from pages.language import LANGUAGE_KEY
from roleext.backends.choice import BackendChoice
from roleext.jobs import JobSpec
from roleext.ledger import Ledger
from roleext.store import ProjectStore
from roleext.worker import enqueue
from tests import fake_openai
from tests.fake_openai import FakeOpenAI
from tests.test_app import ROOT, loaded, page


@pytest.fixture(autouse=True)
def project_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    db = tmp_path / "app.db"
    monkeypatch.setenv("ROLEEXT_DB", str(db))
    return db


@pytest.fixture
def slow_server() -> Iterator[FakeOpenAI]:
    server = FakeOpenAI(answer=lambda request: "客户基本信息：李娜3", delay=0.4).start()
    yield server
    server.stop()


def app() -> AppTest:
    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=30).run()


def progress_texts(at: AppTest) -> list[str]:
    return [p.proto.text for p in at.get("progress")]


def test_summarize_settings_survive_a_visit_to_another_page(project_db: Path) -> None:
    loaded(project_db, summarize=False)
    at = app()
    at.switch_page("pages/summarize.py").run()
    at.radio(key="summarize_split").set_value("test").run()
    at.selectbox(key="summarize_kind").set_value("spark").run()
    at.selectbox(key="summarize_model").set_value("4.0ultra").run()
    at.text_input(key="summarize_url").set_value("wss://spark-api.xf-yun.com/v3.5/chat").run()
    at.text_input(key="summarize_domain").set_value("generalv3.5").run()
    at.text_input(key="summarize_patch").set_value("patch-123").run()
    at.text_input(key="summarize_api_key").set_value("typed-key-42").run()
    at.number_input(key="summarize_concurrency").set_value(7).run()
    at.number_input(key="summarize_qps").set_value(2.5).run()
    at.number_input(key="summarize_overlap").set_value(5).run()
    at.text_area(key="summarize_prompt").set_value("只要摘要：{content}").run()

    at.switch_page("pages/data.py").run()
    assert at.title[0].value == "Data"
    at.switch_page("pages/summarize.py").run()
    assert not at.exception
    assert at.radio(key="summarize_split").value == "test"
    assert at.selectbox(key="summarize_kind").value == "spark"
    assert at.selectbox(key="summarize_model").value == "4.0ultra"
    assert at.text_input(key="summarize_url").value == "wss://spark-api.xf-yun.com/v3.5/chat"
    assert at.text_input(key="summarize_domain").value == "generalv3.5"
    assert at.text_input(key="summarize_patch").value == "patch-123"
    assert at.text_input(key="summarize_api_key").value == "typed-key-42"
    assert at.number_input(key="summarize_concurrency").value == 7
    assert at.number_input(key="summarize_qps").value == 2.5
    assert at.number_input(key="summarize_overlap").value == 5
    assert at.text_area(key="summarize_prompt").value == "只要摘要：{content}"
    assert b"typed-key-42" not in project_db.read_bytes()  # a typed key stays in the session


def test_inference_settings_survive_a_visit_to_another_page(project_db: Path) -> None:
    loaded(project_db)
    at = app()
    at.switch_page("pages/inference.py").run()
    at.radio(key="infer_split").set_value("train").run()
    at.selectbox(key="infer_kind").set_value("openai").run()
    at.text_input(key="infer_base").set_value("http://127.0.0.1:9/v1").run()
    at.text_input(key="infer_omodel").set_value("my-finetune").run()
    at.text_input(key="infer_key").set_value("sk-typed").run()
    at.radio(key="infer_source").set_value("chat").run()
    at.text_area(key="infer_prompt_chat").set_value("抽取客户信息：{content}").run()
    at.number_input(key="infer_few_shot").set_value(2).run()
    at.checkbox(key="infer_fine_tuned").check().run()
    at.text_input(key="infer_instruction").set_value("抽取客户信息").run()
    at.checkbox(key="infer_drop").uncheck().run()
    at.checkbox(key="infer_collapse").check().run()
    at.number_input(key="infer_max_input").set_value(6000).run()

    at.switch_page("pages/review.py").run()
    at.switch_page("pages/inference.py").run()
    assert not at.exception
    assert at.radio(key="infer_split").value == "train"
    assert at.selectbox(key="infer_kind").value == "openai"
    assert at.text_input(key="infer_base").value == "http://127.0.0.1:9/v1"
    assert at.text_input(key="infer_omodel").value == "my-finetune"
    assert at.text_input(key="infer_key").value == "sk-typed"
    assert at.radio(key="infer_source").value == "chat"
    assert at.text_input(key="infer_instruction").value == "抽取客户信息"
    assert at.checkbox(key="infer_fine_tuned").value is True
    at.checkbox(key="infer_fine_tuned").uncheck().run()
    assert at.text_area(key="infer_prompt_chat").value == "抽取客户信息：{content}"
    assert at.number_input(key="infer_few_shot").value == 2
    assert at.checkbox(key="infer_drop").value is False
    assert at.checkbox(key="infer_collapse").value is True
    assert at.number_input(key="infer_max_input").value == 6000


def test_a_job_of_another_process_shows_on_both_job_pages_whatever_the_split(project_db: Path) -> None:
    store = loaded(project_db, summarize=False)
    Ledger(store).open_job("infer", "test", "infer test with spark 4.0ultra", 5)  # say, the command line
    for name in ("summarize", "inference"):
        at = page(name).run()
        assert not at.exception
        assert any(t.startswith("infer test: 0/5 done") and "in another process" in t
                   for t in progress_texts(at)), name


def test_a_job_of_another_process_is_cancelled_from_the_page(project_db: Path) -> None:
    """Cancel asks through the job's row (the worker's heartbeat reads it) and says so."""
    store = loaded(project_db, summarize=False)
    job_id = Ledger(store).open_job("summarize", "train", "summarize train with offline", 10)  # say, a worker
    at = page("summarize").run()
    assert next(b for b in at.button if b.label == "Start").disabled  # it would only be refused
    next(b for b in at.button if b.key == f"lease_{job_id}_cancel").click().run()
    assert not at.exception
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT cancel_requested FROM jobs WHERE id = :id"), {"id": job_id}).scalar_one()
    assert any(c.value.startswith("Cancelling: within 5 s") for c in at.caption)
    assert not [b for b in at.button if b.key == f"lease_{job_id}_cancel"]  # asked once


def test_a_job_taken_off_the_queue_says_so_not_that_it_ran_elsewhere(project_db: Path) -> None:
    store = loaded(project_db, summarize=False)
    job_id = enqueue(store, JobSpec("summarize", "train"), BackendChoice())
    at = page("summarize").run()
    assert next(b for b in at.button if b.label == "Start").disabled
    next(b for b in at.button if b.key == f"queued_{job_id}_cancel").click().run()
    assert not at.exception
    assert [i.value for i in at.info if "queue" in i.value] == [
        f"summarize train: job {job_id} was taken off the queue before it ran"]
    assert not next(b for b in at.button if b.label == "Start").disabled


def test_a_running_job_shows_on_every_split_and_cancel_leaves_a_label(project_db: Path,
                                                                         slow_server: FakeOpenAI) -> None:
    store = loaded(project_db, summarize=False)
    at = page("summarize").run()
    at.selectbox(key="summarize_kind").set_value("openai").run()
    at.text_input(key="summarize_base").set_value(slow_server.base_url).run()
    at.text_input(key="summarize_omodel").set_value("slow").run()
    at.text_input(key="summarize_key").set_value(fake_openai.API_KEY).run()
    at.number_input(key="summarize_concurrency").set_value(1).run()
    next(b for b in at.button if b.label == "Start").click().run()
    assert not at.exception
    assert next(b for b in at.button if b.label == "Start").disabled  # one job per split

    at.radio(key="summarize_split").set_value("test").run()  # the running train job stays in view
    assert any(t.startswith("summarize train: ") for t in progress_texts(at))
    fresh = page("inference").run()  # another page, another session
    assert any(t.startswith("summarize train: ") for t in progress_texts(fresh))

    at.button(key="summarize:train_cancel").click().run()
    deadline = time.monotonic() + 15
    while sum(i.has_summary for i in store.list_records("train")) == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1.0)  # the call under way finishes, then the job ends
    at.radio(key="summarize_split").set_value("train").run()
    assert any(t.startswith("summarize train: ") and t.endswith("· cancelled") for t in progress_texts(at))
    assert not any(b.label == "Cancel" for b in at.button)


def test_the_submit_json_button_says_what_it_holds(project_db: Path) -> None:
    loaded(project_db)
    at = page("inference").run()
    button = at.get("download_button")[0]
    assert button.proto.label == "Download submit.json (0 predicted, 5 empty templates)"
    assert button.proto.type != "primary"  # nothing worth submitting yet

    loaded_store = ProjectStore(project_db)
    from roleext.backends import OfflineBackend
    from roleext.jobs import Job, JobSpec

    Job(loaded_store, OfflineBackend(), JobSpec("infer", "test")).run()
    at.run()
    button = at.get("download_button")[0]
    assert button.proto.label == "Download submit.json (5 predicted, 0 empty templates)"
    assert button.proto.type == "primary"

    # The train split's predictions, in the same format, are not the competition's file.
    at.radio(key="infer_split").set_value("train").run()
    button = at.get("download_button")[0]
    assert button.proto.label == "Download submit-train.json (0 predicted, 10 empty templates)"
    assert button.proto.type != "primary" and any("scores the test split" in c.value for c in at.caption)


def test_the_export_page_runs_only_the_open_tabs_export(project_db: Path) -> None:
    loaded(project_db)
    at = page("export").run()
    reports = "\n".join(c.value for c in at.code)
    assert "fine-tuning JSONL: 1500 rows from 10 records" in reports
    assert "alpaca JSON" not in reports and "test CSV" not in reports

    at.session_state["export_tab"] = "Test CSV"
    at.run()
    reports = "\n".join(c.value for c in at.code)
    assert "test CSV: 5 rows" in reports and "fine-tuning JSONL" not in reports


def test_the_open_export_tab_stays_open_when_the_language_changes(project_db: Path) -> None:
    loaded(project_db)
    at = page("export").run()
    at.session_state["export_tab"] = "Test CSV"
    at.run()
    at.session_state[LANGUAGE_KEY] = "zh"
    at.run()
    assert at.session_state["export_tab"] == "测试 CSV"
    assert [box.key for box in at.checkbox] == ["export_escape"]  # the CSV tab's body, not the JSONL's


def test_review_counts_the_row_the_export_will_write(project_db: Path) -> None:
    store = loaded(project_db)
    record = store.get_record("train", 1)
    assert record.summary is not None
    store.edit_summary(record.id, "摘" * 7_900, record.summary.version)
    at = page("review").run()
    assert not at.exception
    counter = next(c.value for c in at.caption if "characters in the exported row" in c.value)
    assert counter.startswith("8,") and "too long: the platform refuses this row" in counter


def test_the_spark_form_warns_when_url_and_model_disagree(project_db: Path) -> None:
    loaded(project_db, summarize=False)
    at = page("summarize").run()
    next(s for s in at.selectbox if s.label == "Backend").set_value("spark").run()
    next(s for s in at.selectbox if s.label == "Model").set_value("lite").run()
    next(t for t in at.text_input if t.label.startswith("URL")).input("wss://spark-api.xf-yun.com/v3.5/chat").run()
    assert not at.exception
    assert any("domain generalv3" in w.value and "lite" in w.value for w in at.warning)
    next(s for s in at.selectbox if s.label == "Model").set_value("max").run()
    assert not any("domain generalv3" in w.value for w in at.warning)
