"""Jobs as queued rows run by `roleext worker`: one claimer per job, a dead worker's job resumed
elsewhere, a stopping worker's job given back, keys kept out of the database. Real SQLite and
PostgreSQL, real worker processes, the fake Spark server."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import types
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from roleext.backends import OfflineBackend
from roleext.backends.choice import BackendChoice
from roleext.errors import JobBusyError
from roleext.io import load_chat_file
from roleext.jobs import Job, JobSpec
from roleext.ledger import Ledger
from roleext.store import ProjectStore
from roleext.worker import Worker, enqueue, workers_external
from tests import fake_spark
from tests.fake_spark import FakeSpark

ROOT = Path(__file__).resolve().parents[1]
SPARK_ENV = {"SPARK_APP_ID": fake_spark.APP_ID, "SPARK_API_KEY": fake_spark.API_KEY,
             "SPARK_API_SECRET": fake_spark.API_SECRET}


@pytest.fixture
def project(store: ProjectStore, sample_train: Path) -> ProjectStore:
    store.import_chat_file(load_chat_file(sample_train))
    return store


def spark_choice(server: FakeSpark, **keys: str) -> BackendChoice:
    return BackendChoice(kind="spark", spark_url=server.url, domain="generalv3", **keys)  # type: ignore[arg-type]


def job_row(store: ProjectStore, job_id: int) -> dict[str, object]:
    with store.engine.connect() as conn:
        return dict(conn.execute(text("SELECT * FROM jobs WHERE id = :id"), {"id": job_id}).one()._mapping)


def worker_process(db: str, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "roleext", "--db", db, "worker", *args], cwd=ROOT,
                            env={**os.environ, **(env or {})}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def wait_for(condition: object, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:  # type: ignore[operator]
        time.sleep(0.05)


def test_a_worker_process_runs_a_queued_offline_summarize_job(project: ProjectStore) -> None:
    job_id = enqueue(project, JobSpec("summarize", "train"), BackendChoice())
    assert job_row(project, job_id)["status"] == "queued"
    done = subprocess.run([sys.executable, "-m", "roleext", "--db", project.url, "worker", "--once"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert f"job {job_id} started" in done.stderr and f"job {job_id} done" in done.stderr
    row = job_row(project, job_id)
    assert (row["status"], row["done"], row["failed"]) == ("done", 10, 0)
    assert all(r.has_summary for r in project.list_records("train"))


def test_two_workers_racing_for_one_job_run_it_once(db_url: str, sample_train: Path) -> None:
    project = ProjectStore(db_url)
    project.import_chat_file(load_chat_file(sample_train))
    job_id = enqueue(project, JobSpec("summarize", "train"), BackendChoice())
    stores = [ProjectStore(db_url) for _ in range(4)]  # as many processes' engines
    start = threading.Barrier(len(stores))
    claims: list[object] = []

    def claim(store: ProjectStore) -> None:
        start.wait()
        claims.append(Ledger(store).claim())

    threads = [threading.Thread(target=claim, args=(store,)) for store in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    won = [c for c in claims if c is not None]
    assert len(won) == 1 and won[0].id == job_id  # type: ignore[attr-defined]

    # The same race between two worker processes: one runs the job, the other finds nothing.
    Ledger(project).release(job_id)
    racers = [worker_process(db_url, "--once") for _ in range(2)]
    outputs = [racer.communicate(timeout=120)[1] for racer in racers]
    assert sum(f"job {job_id} started" in output for output in outputs) == 1, outputs
    assert job_row(project, job_id)["status"] == "done"
    for store in [*stores, project]:
        store.close()


def test_a_killed_workers_job_is_resumed_by_another_without_repeating_done_records(
        db_url: str, sample_train: Path, spark: FakeSpark) -> None:
    store = ProjectStore(db_url)
    store.import_chat_file(load_chat_file(sample_train))
    job_id = enqueue(store, JobSpec("summarize", "train", concurrency=1), spark_choice(spark))
    spark.delay = 0.3
    doomed = worker_process(db_url, env=SPARK_ENV)
    wait_for(lambda: sum(r.has_summary for r in store.list_records()) >= 3)
    doomed.send_signal(signal.SIGKILL)
    doomed.wait()
    done_before = sum(r.has_summary for r in store.list_records())
    assert 3 <= done_before < 10 and job_row(store, job_id)["status"] == "running"  # nobody is behind it
    calls_before = len(spark.requests)

    spark.delay = 0.0
    progress = Worker(store, SPARK_ENV, out=lambda line: None).run_one()
    assert progress is not None
    assert (progress.skipped, progress.done) == (done_before, 10 - done_before)
    assert len(spark.requests) - calls_before == 10 - done_before  # no record asked twice
    assert job_row(store, job_id)["status"] == "done"
    assert all(r.has_summary for r in store.list_records())
    store.close()


def test_a_stopped_worker_gives_its_job_back_and_another_finishes_it(db_url: str, sample_train: Path,
                                                                   spark: FakeSpark) -> None:
    store = ProjectStore(db_url)
    store.import_chat_file(load_chat_file(sample_train))
    job_id = enqueue(store, JobSpec("summarize", "train", concurrency=1), spark_choice(spark))
    spark.delay = 0.3
    stopping = worker_process(db_url, env=SPARK_ENV)
    wait_for(lambda: sum(r.has_summary for r in store.list_records()) >= 2)
    stopping.send_signal(signal.SIGTERM)
    _out, err = stopping.communicate(timeout=60)
    assert stopping.returncode == 0, err
    assert f"job {job_id} released" in err
    row = job_row(store, job_id)
    assert (row["status"], row["owner"]) == ("queued", None)
    done_before = sum(r.has_summary for r in store.list_records())
    assert done_before < 10

    spark.delay = 0.0
    progress = Worker(store, SPARK_ENV, out=lambda line: None).run_one()
    assert progress is not None and progress.done == 10 - done_before
    assert job_row(store, job_id)["status"] == "done"
    store.close()


def test_a_workers_job_is_cancelled_from_its_row_and_keeps_what_it_did(db_url: str, sample_train: Path,
                                                                       spark: FakeSpark) -> None:
    """The app's Cancel on a job of another process: the worker's next heartbeat reads the
    request; the job ends cancelled (not back in the queue), its finished records kept."""
    store = ProjectStore(db_url)
    store.import_chat_file(load_chat_file(sample_train))
    job_id = enqueue(store, JobSpec("summarize", "train", concurrency=1), spark_choice(spark))
    spark.delay = 1.0  # ten records outlast the heartbeat (5 s) that reads the request
    worker = worker_process(db_url, "--once", env=SPARK_ENV)
    wait_for(lambda: sum(r.has_summary for r in store.list_records()) >= 1)
    assert Ledger(store).busy("summarize", "train")  # the app's Start stays disabled meanwhile
    assert Ledger(store).request_cancel(job_id)
    _out, err = worker.communicate(timeout=60)  # --once: it exits when the job has ended
    assert worker.returncode == 0, err
    row = job_row(store, job_id)
    summarized = sum(r.has_summary for r in store.list_records())
    assert (row["status"], row["done"]) == ("cancelled", summarized)
    assert 1 <= summarized < 10
    assert not Ledger(store).request_cancel(job_id)  # an ended job: nothing to ask
    store.close()


def test_a_job_asked_to_cancel_never_goes_back_to_the_queue(project: ProjectStore) -> None:
    """A cancel asked for while the job's worker stops (release, or its final report) or dies
    (its lease expires) ends the job: no other worker claims it and runs it again."""
    ledger = Ledger(project)

    def died(job_id: int) -> None:  # no heartbeat for long: the next claim expires its lease
        with project.write() as conn:
            conn.execute(text("UPDATE jobs SET updated_at = :then WHERE id = :id"),
                         {"then": datetime(2000, 1, 1, tzinfo=UTC), "id": job_id})

    for end in (ledger.release, lambda job_id: ledger.report(job_id, status="queued", owner=None), died):
        job_id = enqueue(project, JobSpec("summarize", "train"), BackendChoice())
        assert ledger.claim() is not None and ledger.request_cancel(job_id)
        end(job_id)
        assert ledger.claim() is None
        assert job_row(project, job_id)["status"] == "cancelled"


def test_the_key_never_reaches_the_jobs_table_and_a_worker_without_one_says_which(
        project: ProjectStore, spark: FakeSpark) -> None:
    typed = spark_choice(spark, app_id=fake_spark.APP_ID, api_key=fake_spark.API_KEY,
                         api_secret=fake_spark.API_SECRET)
    job_id = enqueue(project, JobSpec("summarize", "train"), typed)
    lines: list[str] = []
    progress = Worker(project, {}, out=lines.append).run_one()
    assert progress is not None and progress.stopped and "SPARK_API_KEY" in progress.stopped
    row = job_row(project, job_id)
    assert row["status"] == "failed" and "SPARK_API_KEY" in str(row["error"])
    assert spark.requests == []

    again = enqueue(project, JobSpec("summarize", "train"), typed)  # a worker with its own keys runs it
    assert Worker(project, SPARK_ENV, out=lines.append).run_one() is not None
    assert job_row(project, again)["status"] == "done"
    with project.engine.connect() as conn:
        dump = "\n".join(str(row) for row in conn.execute(text("SELECT * FROM jobs")))
    for secret in (fake_spark.API_KEY, fake_spark.API_SECRET):
        assert secret not in dump and not any(secret in line for line in lines)


def test_a_job_is_queued_once_and_a_queued_one_can_be_taken_back(project: ProjectStore) -> None:
    job_id = enqueue(project, JobSpec("summarize", "train"), BackendChoice())
    with pytest.raises(JobBusyError, match="already queued"):
        enqueue(project, JobSpec("summarize", "train"), BackendChoice())
    assert [row["id"] for row in Ledger(project).queued_jobs()] == [job_id]
    assert Ledger(project).cancel_queued(job_id)
    assert Ledger(project).claim() is None and job_row(project, job_id)["status"] == "cancelled"


def test_a_worker_that_lost_its_job_to_another_writes_nothing_over_it(project: ProjectStore) -> None:
    """Worker A stalled past its lease; the queue gave the job to worker B on another machine.
    A wakes up: its heartbeat says the lease is lost, its reports and release change nothing."""
    job_id = enqueue(project, JobSpec("summarize", "train"), BackendChoice())
    ledger = Ledger(project)
    claimed = ledger.claim()
    assert claimed is not None and claimed.id == job_id
    with project.write() as conn:  # what B's claim leaves: the row running under B
        conn.execute(text("UPDATE jobs SET owner = 'other-host:4242', done = 3 WHERE id = :id"), {"id": job_id})
    assert ledger.beat(job_id, done=7) == "lost"
    assert not ledger.report(job_id, status="done", done=10)
    ledger.release(job_id)
    row = job_row(project, job_id)
    assert (row["status"], row["owner"], row["done"]) == ("running", "other-host:4242", 3)


def test_a_job_whose_process_is_gone_no_longer_shows_as_running_or_busies_its_split(project: ProjectStore) -> None:
    """A command-line job killed with SIGKILL leaves its row "running": the pages drop it at once
    (its owner, a process of this machine, is gone) rather than after STALE_AFTER."""
    ledger = Ledger(project)
    job_id = ledger.open_job("summarize", "train", "summarize train with offline", 10)
    assert ledger.busy("summarize", "train") and not ledger.busy("summarize", "train", besides={job_id})
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True).stdout.strip()
    with project.write() as conn:
        conn.execute(text("UPDATE jobs SET owner = :owner WHERE id = :id"),
                     {"owner": f"{socket.gethostname()}:{gone}", "id": job_id})
    assert ledger.running_jobs() == [] and not ledger.busy("summarize", "train")


def test_where_jobs_run_is_a_setting() -> None:
    assert not workers_external({})
    assert workers_external({"ROLEEXT_WORKERS": "external"})
    with pytest.raises(Exception, match="inline"):
        workers_external({"ROLEEXT_WORKERS": "elsewhere"})


def test_the_offline_pool_gives_the_same_answers_as_one_process(project: ProjectStore) -> None:
    records = list(project.iter_records("train"))
    alone, pooled = OfflineBackend(processes=1), OfflineBackend(processes=2)
    try:
        profile = pooled.learn_profile(r.chat_text for r in records)
        assert profile == alone.learn_profile(r.chat_text for r in records)
        alone.prepare(profile)
        pooled.prepare(profile)
        for record in records:
            assert pooled.summarize(record.chat_text, "").text == alone.summarize(record.chat_text, "").text
            assert (pooled.extract(record.chat_text, record.chat_text).text
                    == alone.extract(record.chat_text, record.chat_text).text)
    finally:
        pooled.close()


def test_the_offline_pool_works_under_a_main_script_it_must_not_run(
        project: ProjectStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """In the app, `__main__` is the Streamlit page that ran last: a spawned child must not run it."""
    marker = tmp_path / "ran"
    page = tmp_path / "page.py"
    page.write_text(f"open({str(marker)!r}, 'w').close()\nraise SystemExit('a page run outside Streamlit')\n")
    fake_main = types.ModuleType("__main__")
    fake_main.__file__ = str(page)
    monkeypatch.setitem(sys.modules, "__main__", fake_main)
    record = next(iter(project.iter_records("train")))
    pooled = OfflineBackend(processes=2)
    try:
        answer = pooled.summarize(record.chat_text, "").text
    finally:
        pooled.close()
    assert answer == OfflineBackend(processes=1).summarize(record.chat_text, "").text
    assert not marker.exists()
    assert sys.modules["__main__"] is fake_main


def test_a_job_reads_its_split_a_batch_at_a_time(project: ProjectStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("roleext.jobs.BATCH", 3)  # 10 records: four batches
    first = Job(project, OfflineBackend(processes=2), JobSpec("summarize", "train")).run()
    assert (first.done, first.total) == (10, 10)
    assert all(r.has_summary for r in project.list_records("train"))
    again = Job(project, OfflineBackend(), JobSpec("summarize", "train")).run()
    assert (again.total, again.skipped) == (0, 10)


def test_with_external_workers_the_app_queues_and_shows_the_job(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from streamlit.testing.v1 import AppTest

    from roleext.sample import import_sample

    db = tmp_path / "app.db"
    monkeypatch.setenv("ROLEEXT_DB", str(db))
    monkeypatch.setenv("ROLEEXT_WORKERS", "external")
    store = ProjectStore(db)
    import_sample(store)
    at = AppTest.from_file(str(ROOT / "pages" / "summarize.py"), default_timeout=30).run()
    next(b for b in at.button if b.label == "Start").click().run()
    assert not at.exception
    [queued] = Ledger(store).queued_jobs()  # queued, not run in the app's process
    assert (queued["kind"], queued["split"]) == ("summarize", "train")
    assert not any(r.has_summary for r in store.list_records("train"))
    assert any(f"queued (job {queued['id']})" in p.proto.text for p in at.get("progress"))

    assert Worker(store, {}, out=lambda line: None).run_one() is not None
    assert all(r.has_summary for r in store.list_records("train"))
    assert job_row(store, queued["id"])["status"] == "done"
    at.run()  # the worker's result stays in view where the person queued it
    assert not at.exception
    assert any(f"job {queued['id']} done in another process: 10/10 done, 0 failed" in box.value.replace("\\", "")
               for box in at.success)
