"""Batch jobs against the fake Spark server and real SQLite: retries, cache, cancel, resume."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterable
from pathlib import Path

import pytest
from sqlalchemy import text

from roleext.backends import Completion, OfflineBackend, SparkBackend, SparkSettings
from roleext.cleaning import ChatProfile
from roleext.errors import RoleextError
from roleext.io import load_chat_file
from roleext.jobs import Job, JobSpec
from roleext.store import ProjectStore
from tests import fake_spark
from tests.fake_spark import FakeSpark

ROOT = Path(__file__).resolve().parents[1]
FAST = {"backoff_initial": 0.01, "backoff_max": 0.05}


@pytest.fixture
def project(store: ProjectStore, sample_train: Path, sample_test: Path) -> ProjectStore:
    store.import_chat_file(load_chat_file(sample_train))
    store.import_chat_file(load_chat_file(sample_test))
    return store


def backend(server: FakeSpark, **options: object) -> SparkBackend:
    return SparkBackend(SparkSettings(fake_spark.APP_ID, fake_spark.API_KEY, fake_spark.API_SECRET,
                                      url=server.url, domain="generalv3", **options))  # type: ignore[arg-type]


def test_offline_summarize_then_a_rerun_does_nothing(project: ProjectStore) -> None:
    first = Job(project, OfflineBackend(), JobSpec("summarize", "train")).run()
    assert (first.done, first.failed, first.total) == (10, 0, 10)
    summary = project.get_record("train", 8).summary
    assert summary is not None and summary.text.startswith("【事实摘录】") and len(summary.text) <= 7000
    again = Job(project, OfflineBackend(), JobSpec("summarize", "train")).run()
    assert (again.total, again.skipped) == (0, 10)


def test_offline_inference_writes_parsed_predictions(project: ProjectStore) -> None:
    progress = Job(project, OfflineBackend(), JobSpec("infer", "test", input_source="chat")).run()
    assert progress.done == 5
    prediction = project.get_record("test", 1).prediction
    assert prediction is not None and prediction.infos[0]["基本信息-姓名"] == "孙芳6"
    assert prediction.infos[0]["基本信息-手机号码"] == "15800002222"


def test_rate_limited_calls_are_retried_until_they_pass(project: ProjectStore, spark: FakeSpark) -> None:
    refusals = iter([11202, 11203, 10110])
    spark.error_for = lambda request: next(refusals, None)
    progress = Job(project, backend(spark), JobSpec("summarize", "train", concurrency=1, **FAST)).run()
    assert (progress.done, progress.failed) == (10, 0)
    assert len(spark.requests) == 13


def test_rejected_content_fails_alone_and_is_retried_alone(project: ProjectStore, spark: FakeSpark) -> None:
    target = "那你们当初销售怎么没说"  # only record 4 says this
    assert target in project.get_record("train", 4).chat_text
    spark.error_for = lambda request: 10013 if target in fake_spark.prompt_of(request) else None
    first = Job(project, backend(spark), JobSpec("summarize", "train", **FAST)).run()
    assert (first.done, first.failed) == (9, 1)
    assert "moderation" in first.errors[4] and len(spark.requests) == 10  # never retried

    spark.error_for = lambda request: None
    spark.requests.clear()
    retried = Job(project, backend(spark), JobSpec("summarize", "train", retry_failed=True, **FAST)).run()
    assert (retried.total, retried.done) == (1, 1) and len(spark.requests) == 1


def test_an_auth_error_stops_the_job(project: ProjectStore, spark: FakeSpark) -> None:
    spark.error_for = lambda request: 11200
    progress = Job(project, backend(spark), JobSpec("summarize", "train", concurrency=1, **FAST)).run()
    assert progress.stopped and "authorization" in progress.stopped
    assert progress.failed == 1 and len(spark.requests) == 1


def test_a_prompt_seen_before_comes_from_the_cache(project: ProjectStore, spark: FakeSpark) -> None:
    Job(project, backend(spark), JobSpec("summarize", "train", template="A {content}")).run()
    Job(project, backend(spark), JobSpec("summarize", "train", template="B {content}")).run()
    assert len(spark.requests) == 20
    back = Job(project, backend(spark), JobSpec("summarize", "train", template="A {content}")).run()
    assert (back.done, back.cached) == (10, 10) and len(spark.requests) == 20


def test_cancel_stops_starting_records_and_a_new_run_finishes(project: ProjectStore, spark: FakeSpark) -> None:
    spark.delay = 0.2
    job = Job(project, backend(spark), JobSpec("summarize", "train", concurrency=1))
    job.start()
    deadline = time.monotonic() + 10
    while job.snapshot().done < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    job.cancel()
    stopped = job.wait(10)
    assert stopped.finished and stopped.cancelled and 2 <= stopped.done < 10
    rest = Job(project, backend(spark), JobSpec("summarize", "train")).run()
    assert rest.done == 10 - stopped.done and rest.skipped == stopped.done


def test_keys_never_reach_the_database_or_the_log(project: ProjectStore, spark: FakeSpark,
                                                  caplog: pytest.LogCaptureFixture, tmp_path: Path) -> None:
    spark.error_for = lambda request: 10110
    Job(project, backend(spark), JobSpec("summarize", "train", max_attempts=1)).run()
    with project.engine.connect() as conn:
        dump = "\n".join(str(row) for table in ("records", "summaries", "predictions", "history",
                                                "llm_cache", "record_tasks", "jobs")
                         for row in conn.execute(text(f"SELECT * FROM {table}")))
    for secret in (fake_spark.API_KEY, fake_spark.API_SECRET):
        assert secret not in dump and secret not in caplog.text
    assert "Spark is busy" in dump  # the failure itself is kept


def test_killed_run_resumes_with_only_what_is_missing(db_url: str, sample_train: Path,
                                                      spark: FakeSpark) -> None:
    db = db_url
    ProjectStore(db).import_chat_file(load_chat_file(sample_train))
    spark.delay = 0.3
    env = {**os.environ, "SPARK_APP_ID": fake_spark.APP_ID, "SPARK_API_KEY": fake_spark.API_KEY,
           "SPARK_API_SECRET": fake_spark.API_SECRET}
    command = [sys.executable, "-m", "roleext", "--db", str(db), "summarize", "--backend", "spark",
               "--spark-url", spark.url, "--domain", "generalv3", "--concurrency", "1"]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    store = ProjectStore(db)
    deadline = time.monotonic() + 20
    while sum(r.has_summary for r in store.list_records()) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    done_before = sum(r.has_summary for r in store.list_records())
    assert 3 <= done_before < 10
    calls_before = len(spark.requests)

    spark.delay = 0.0
    # The command line's settings (its facts block is on by default, as in the app).
    resumed = Job(store, backend(spark), JobSpec("summarize", "train", prepend_facts=True)).run()
    # A summary and its task mark are saved in one transaction: every saved summary is skipped.
    assert resumed.skipped == done_before and resumed.done == 10 - done_before
    assert len(spark.requests) - calls_before == 10 - done_before
    assert all(r.has_summary for r in store.list_records())


def test_a_command_line_job_stopped_by_sigterm_ends_cancelled_with_its_true_counts(
        db_url: str, sample_train: Path, spark: FakeSpark) -> None:
    """Its row must not stay "running" (the app showed it as running, with a Cancel that could
    never act, until its lease expired) and must count what was saved."""
    ProjectStore(db_url).import_chat_file(load_chat_file(sample_train))
    spark.delay = 0.3
    env = {**os.environ, "SPARK_APP_ID": fake_spark.APP_ID, "SPARK_API_KEY": fake_spark.API_KEY,
           "SPARK_API_SECRET": fake_spark.API_SECRET}
    process = subprocess.Popen([sys.executable, "-m", "roleext", "--db", db_url, "summarize", "--backend", "spark",
                                "--spark-url", spark.url, "--domain", "generalv3", "--concurrency", "1"],
                               cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    store = ProjectStore(db_url)
    deadline = time.monotonic() + 20
    while sum(r.has_summary for r in store.list_records()) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 128 + signal.SIGTERM and "finishing the calls under way" in err
    with store.engine.connect() as conn:
        status, done = conn.execute(text("SELECT status, done FROM jobs")).one()
    saved = sum(r.has_summary for r in store.list_records())
    assert (status, done) == ("cancelled", saved) and 2 <= saved < 10
    store.close()


def test_facts_can_be_put_in_front_of_an_llm_summary(project: ProjectStore, spark: FakeSpark) -> None:
    Job(project, backend(spark), JobSpec("summarize", "train", prepend_facts=True)).run()
    summary = project.get_record("train", 1).summary
    assert summary is not None
    assert summary.text.startswith("【事实摘录】") and summary.text.endswith("客户基本信息：李娜3")
    assert "13812345678" in summary.text  # the phone the LLM summary left out


def test_a_template_without_the_chat_slot_is_refused_before_any_call(project: ProjectStore,
                                                                    spark: FakeSpark) -> None:
    with pytest.raises(RoleextError, match=r"\{content\}"):
        Job(project, backend(spark), JobSpec("summarize", "train", template="总结一下"))
    assert spark.requests == []


def test_an_unexpected_error_fails_its_record_instead_of_vanishing(project: ProjectStore) -> None:
    class Broken(OfflineBackend):
        def summarize(self, chat: str, template: str, *, timeout: float | None = None) -> Completion:
            if "李娜3" in chat:
                raise ValueError("bug")
            return super().summarize(chat, template, timeout=timeout)

    progress = Job(project, Broken(), JobSpec("summarize", "train")).run()
    assert (progress.done, progress.failed) == (9, 1)
    assert progress.errors[1] == "unexpected error (ValueError); see the log"


def test_a_job_that_crashes_says_it_stopped_never_that_it_finished(project: ProjectStore) -> None:
    class Crashing(OfflineBackend):
        def learn_profile(self, chats: Iterable[str]) -> ChatProfile:
            raise RuntimeError("a bug")

    job = Job(project, Crashing(), JobSpec("summarize", "train"))
    job.start()
    ended = job.wait(10)
    assert ended.state == "stopped" and not ended.line("summarize", "train").endswith("· finished")
    with project.engine.connect() as conn:
        assert conn.execute(text("SELECT status FROM jobs WHERE id = :id"), {"id": job.job_id}).scalar_one() == "failed"


def test_an_ended_job_says_how_it_ended_and_its_clock_stops(project: ProjectStore, spark: FakeSpark) -> None:
    spark.delay = 0.2
    job = Job(project, backend(spark), JobSpec("summarize", "train", concurrency=1))
    job.start()
    deadline = time.monotonic() + 10
    while job.snapshot().done < 1 and time.monotonic() < deadline:
        time.sleep(0.02)
    job.cancel()
    ended = job.wait(10)
    assert ended.state == "cancelled" and ended.line("summarize", "train").endswith("· cancelled")
    time.sleep(0.3)
    assert job.snapshot().elapsed == ended.elapsed  # a 1.3 s job once read 84 s a minute later
    done = Job(project, backend(spark), JobSpec("summarize", "train")).run()
    assert done.state == "done" and done.line("summarize", "train").endswith("· finished")


def test_record_task_rows_say_per_record_what_the_last_job_did(project: ProjectStore) -> None:
    """The job pages' table: not run, done, failed with its error, stale once the chat changed."""
    import json

    from roleext.ledger import record_task_rows

    assert {row["status"] for row in record_task_rows(project, "summarize", "train")} == {"not run"}

    class Broken(OfflineBackend):
        def summarize(self, chat: str, template: str, *, timeout: float | None = None) -> Completion:
            if "李娜3" in chat:
                raise ValueError("bug")
            return super().summarize(chat, template, timeout=timeout)

    Job(project, Broken(), JobSpec("summarize", "train")).run()
    rows = {row["record"]: row for row in record_task_rows(project, "summarize", "train")}
    assert rows[1]["status"] == "failed" and rows[1]["error"] == "unexpected error (ValueError); see the log"
    assert rows[2]["status"] == "done" and rows[2]["error"] == "" and rows[2]["characters"] > 0
    assert {row["status"] for row in record_task_rows(project, "infer", "train")} == {"not run"}

    records = [{"chat_text": r.chat_text, "infos": r.gold} for r in project.iter_records("train")]
    records[3]["chat_text"] += "\n赵强8：补充一句，预算改成五万"
    project.import_chat_file(load_chat_file(json.dumps(records, ensure_ascii=False).encode(), split="train"))
    rows = {row["record"]: row for row in record_task_rows(project, "summarize", "train")}
    assert rows[4]["status"] == "stale: the chat changed" and rows[5]["status"] == "done"


def test_a_backend_caps_how_many_calls_a_job_makes_at_once(tmp_path: Path, sample_train: Path) -> None:
    """The offline rules are CPU work, so one thread makes them however many a job asks for;
    a backend without a cap gets the concurrency asked for."""

    def busiest(cap: int | None) -> int:
        active = peak = 0
        lock = threading.Lock()

        class Watched(OfflineBackend):
            parallel_calls = cap

            def summarize(self, chat: str, template: str, *, timeout: float | None = None) -> Completion:
                nonlocal active, peak
                with lock:
                    active += 1
                    peak = max(peak, active)
                time.sleep(0.05)  # long enough for the job's other threads to start theirs
                with lock:
                    active -= 1
                return super().summarize(chat, template, timeout=timeout)

        store = ProjectStore(tmp_path / f"cap-{cap}.db")
        store.import_chat_file(load_chat_file(sample_train))
        progress = Job(store, Watched(), JobSpec("summarize", "train", concurrency=4)).run()
        store.close()
        assert progress.done == progress.total == 10
        return peak

    assert OfflineBackend.parallel_calls == 1 and busiest(1) == 1
    assert busiest(None) > 1


def test_a_record_the_database_refuses_fails_alone_and_the_others_are_saved(tmp_path: Path,
                                                                            sample_train: Path) -> None:
    """Outputs are written a group a transaction: a refused row must not take its group with it."""
    store = ProjectStore(tmp_path / "refuses.db")
    store.import_chat_file(load_chat_file(sample_train))
    with store.engine.begin() as conn:
        conn.exec_driver_sql("CREATE TRIGGER refuse BEFORE INSERT ON summaries WHEN NEW.record_id = "
                             "(SELECT id FROM records WHERE split = 'train' AND idx = 3) "
                             "BEGIN SELECT RAISE(ABORT, 'refused'); END")
    progress = Job(store, OfflineBackend(), JobSpec("summarize", "train")).run()
    assert (progress.done, progress.failed) == (9, 1)
    assert progress.errors[3] == "unexpected error (IntegrityError); see the log"
    summarized = [record.index for record in store.iter_records("train") if record.summary is not None]
    assert summarized == [1, 2, 4, 5, 6, 7, 8, 9, 10]
    store.close()
