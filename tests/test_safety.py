"""Nothing a person curated is lost: imports racing edits, stale outputs, kept corrections,
concurrent jobs and processes, migrations, a provider that is down. Real SQLite files and
real subprocesses throughout."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import threading
import time
from contextlib import ExitStack, closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, insert, text

import roleext.store
from roleext.backends import Completion, OfflineBackend, SparkBackend, SparkSettings
from roleext.database import database_url
from roleext.errors import ConflictError, ImportRefusedError, JobBusyError, RoleextError
from roleext.exports import ExportReport, finetune_rows
from roleext.io import load_chat_file
from roleext.jobs import Job, JobSpec
from roleext.matching import chat_hash
from roleext.migrations import MIGRATIONS, migrations_table
from roleext.project import ReviewStatus
from roleext.ratelimit import shared_limiter
from roleext.runs import RunBook
from roleext.store import ProjectStore
from tests import fake_spark
from tests.fake_spark import FakeSpark
from tests.postgres import role_with_connection_limit

ROOT = Path(__file__).resolve().parents[1]
FAST = {"backoff_initial": 0.01, "backoff_max": 0.05}


def file_of(records: list[dict[str, Any]]) -> Any:
    return load_chat_file(json.dumps(records, ensure_ascii=False).encode(), split="train")


@pytest.fixture
def project(store: ProjectStore, sample_records: list[dict[str, Any]]) -> ProjectStore:
    store.import_chat_file(file_of(sample_records))
    return store


def spark_env() -> dict[str, str]:
    return {**os.environ, "SPARK_APP_ID": fake_spark.APP_ID, "SPARK_API_KEY": fake_spark.API_KEY,
            "SPARK_API_SECRET": fake_spark.API_SECRET, "PYTHONPATH": str(ROOT)}


# --- imports -----------------------------------------------------------------------------

def test_an_edit_saved_while_an_import_runs_is_never_silently_reverted(
        project: ProjectStore, sample_records: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch) -> None:
    planned, release = threading.Event(), threading.Event()
    real_plan = roleext.store.plan_import

    def slow_plan(*args: Any) -> Any:
        plan = real_plan(*args)
        planned.set()
        release.wait(10)
        return plan

    monkeypatch.setattr(roleext.store, "plan_import", slow_plan)
    opened = project.get_record("train", 3)  # the reviewer opened record 3 before the import
    changed = copy.deepcopy(sample_records)
    changed[2]["infos"][0]["客户购买阶段"] = "赢单"
    importer = threading.Thread(target=project.import_chat_file, args=(file_of(changed),),
                                kwargs={"confirmed": True})
    importer.start()
    assert planned.wait(10)
    outcome: list[object] = []
    mine = copy.deepcopy(opened.gold)
    mine[0]["客户是否有意向"] = "有意向"

    def save() -> None:
        try:
            outcome.append(project.update_gold(opened.id, mine, opened.version, author="reviewer"))
        except ConflictError as exc:
            outcome.append(exc)

    reviewer = threading.Thread(target=save)
    reviewer.start()
    time.sleep(0.3)  # the save waits for the import's lock instead of slipping in under it
    assert outcome == []
    release.set()
    importer.join(10)
    reviewer.join(10)

    [result] = outcome
    assert isinstance(result, ConflictError)  # the reviewer is told, and can re-apply
    after = project.get_record("train", 3)
    assert after.version > opened.version and after.gold[0]["客户购买阶段"] == "赢单"
    assert [h.target for h in project.history_of(opened.id)] == ["import"]


def test_a_reordered_and_corrected_file_keeps_the_accepted_record(
        project: ProjectStore, sample_records: list[dict[str, Any]]) -> None:
    record = project.get_record("train", 5)
    project.set_status(record.id, ReviewStatus.ACCEPTED, record.version)
    project.save_summary(record.id, "摘要", "offline", "digest", "p1")
    changed = copy.deepcopy(sample_records)
    changed[4]["chat_text"] = changed[4]["chat_text"].replace("：", ":", 1)
    report = project.import_chat_file(file_of(changed[5:] + changed[:5]))

    assert (report.added, report.detached) == (0, 0)
    assert report.matched_by == {"hash": 9, "similar": 1}
    assert "(9 by hash, 1 by similar)" in report.line()
    moved = project.get_record("train", 10)
    assert moved.id == record.id and moved.status == ReviewStatus.ACCEPTED
    assert moved.summary is not None and moved.summary.stale  # of the chat before the fix
    assert project.count("train") == 10


def test_a_file_without_gold_over_train_is_refused_by_the_cli(tmp_path: Path, sample_train: Path,
                                                              sample_test: Path) -> None:
    db = str(tmp_path / "cli.db")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "roleext", "--db", db, *args], cwd=ROOT,
                              capture_output=True, text=True, timeout=60)

    assert run("import", str(sample_train)).returncode == 0
    refused = run("import", str(sample_test), "--split", "train")
    assert refused.returncode == 2
    assert refused.stderr.splitlines()[0].startswith("error: refused: this file has no gold")
    assert "--replace" in refused.stderr.splitlines()[0]
    store = ProjectStore(db)
    assert store.count("train") == 10 and all(r.gold for r in store.iter_records("train"))
    forced = run("import", str(sample_test), "--split", "train", "--replace")
    assert forced.returncode == 0 and "5 no longer in the file" in forced.stdout


# --- generated outputs -----------------------------------------------------------------

def test_a_changed_chat_makes_its_summary_stale_until_summarized_again(
        project: ProjectStore, sample_records: list[dict[str, Any]]) -> None:
    Job(project, OfflineBackend(), JobSpec("summarize", "train")).run()
    changed = copy.deepcopy(sample_records)
    changed[3]["chat_text"] += "\n赵强8：补充一句，预算改成五万"
    project.import_chat_file(file_of(changed))

    stale = project.get_record("train", 4)
    assert stale.summary is not None and stale.summary.stale and stale.model_input("summary") is None
    assert [i.index for i in project.list_records("train") if i.summary_stale] == [4]  # the pages' lists
    report = ExportReport("finetune")
    assert [n for n, _ in finetune_rows(project, report=report)] == [1, 2, 3, 5, 6, 7, 8, 9, 10]
    assert report.left_out == {"summary of an older chat: summarize again": 1}

    again = Job(project, OfflineBackend(), JobSpec("summarize", "train")).run()
    assert (again.done, again.skipped) == (1, 9)
    fresh = project.get_record("train", 4).summary
    assert fresh is not None and not fresh.stale and "五万" in fresh.text
    assert not any(i.summary_stale for i in project.list_records("train"))


def test_a_correction_stays_with_its_run_and_a_resumed_run_keeps_it_unless_told(
        project: ProjectStore, sample_records: list[dict[str, Any]]) -> None:
    first = Job(project, OfflineBackend(), JobSpec("infer", "train", input_source="chat"))
    first.run()
    record = project.get_record("train", 2)
    assert record.prediction is not None and record.prediction.run == first.run_id
    mine = [dict(record.prediction.parsed[0], 竞品信息="微盛")]
    project.correct_prediction(record.id, mine, record.prediction.version, author="ann", run=first.run_id)

    second = Job(project, OfflineBackend(), JobSpec("infer", "train", input_source="chat", instruction="抽取"))
    assert second.run().done == 10  # a new run does every record, in a run of its own
    fresh = project.get_record("train", 2, run=second.run_id).prediction
    kept = project.get_record("train", 2, run=first.run_id).prediction
    assert fresh is not None and not fresh.edited and fresh.run == second.run_id
    assert kept is not None and kept.infos == mine  # the correction stays with the run it was made in

    changed = copy.deepcopy(sample_records)  # chats 2 and 3 change: both predictions of run 1 go stale
    for n in (1, 2):
        changed[n]["chat_text"] += "\n赵强8：补充一句"
    project.import_chat_file(file_of(changed))
    with pytest.raises(RoleextError, match=r"\(prompt differs\)"):  # run 2 is the latest, made with another prompt
        Job(project, OfflineBackend(), JobSpec("infer", "train", input_source="chat", resume=True)).run()
    resumed = Job(project, OfflineBackend(), JobSpec("infer", "train", input_source="chat", instruction="抽取",
                                                      resume=True))
    progress = resumed.run()
    assert resumed.run_id == second.run_id and (progress.done, progress.skipped) == (2, 8)

    RunBook(project).choose("train", first.run_id)
    keeps = Job(project, OfflineBackend(), JobSpec("infer", "train", input_source="chat", resume=True))
    with pytest.raises(RoleextError, match=f"run {second.run_id} was made with other settings"):
        keeps.plan()  # resume continues the latest run, never the chosen one behind the user's back
    assert project.get_record("train", 2).prediction == project.get_record("train", 2, run=first.run_id).prediction
    assert kept.infos == mine
    history = [(h.target, h.author, h.run) for h in project.history_of(record.id) if h.target == "prediction"]
    assert history == [("prediction", "ann", first.run_id)]


def test_a_resumed_run_redoes_a_stale_correction_only_when_told(
        project: ProjectStore, sample_records: list[dict[str, Any]]) -> None:
    job = Job(project, OfflineBackend(), JobSpec("infer", "train", input_source="chat"))
    job.run()
    record = project.get_record("train", 2)
    assert record.prediction is not None
    mine = [dict(record.prediction.parsed[0], 竞品信息="微盛")]
    project.correct_prediction(record.id, mine, record.prediction.version, author="ann", run=job.run_id)
    changed = copy.deepcopy(sample_records)
    for n in (1, 2):
        changed[n]["chat_text"] += "\n赵强8：补充一句"
    project.import_chat_file(file_of(changed))

    rerun = Job(project, OfflineBackend(), JobSpec("infer", "train", input_source="chat", resume=True)).run()
    assert (rerun.done, rerun.kept) == (1, 1) and "1 kept (edited by a person)" in rerun.line("infer", "train")
    kept = project.get_record("train", 2).prediction
    assert kept is not None and kept.infos == mine and kept.stale

    forced = Job(project, OfflineBackend(), JobSpec("infer", "train", input_source="chat", resume=True,
                                                     overwrite_edits=True))
    assert forced.run().done == 1 and forced.run_id == job.run_id
    replaced = project.get_record("train", 2).prediction
    assert replaced is not None and replaced.corrected is None and not replaced.stale
    assert [(h.target, h.author, h.before, h.run) for h in project.history_of(record.id)][-1] == (
        "prediction", "generated", mine, job.run_id)


def test_an_edit_back_to_the_generated_text_is_no_edit(project: ProjectStore) -> None:
    Job(project, OfflineBackend(), JobSpec("summarize", "train")).run()
    summary = project.get_record("train", 1).summary
    assert summary is not None
    version = project.edit_summary(project.get_record("train", 1).id, "改过的摘要", summary.version)
    project.edit_summary(project.get_record("train", 1).id, summary.text, version)  # an undo, say
    back = project.get_record("train", 1).summary
    assert back is not None and not back.edited
    assert Job(project, OfflineBackend(), JobSpec("summarize", "train")).plan()[2] == 0  # nothing kept


def test_an_edit_saved_while_an_overwriting_run_works_is_kept(project: ProjectStore) -> None:
    Job(project, OfflineBackend(), JobSpec("summarize", "train")).run()
    record = project.get_record("train", 1)
    assert record.summary is not None
    project.edit_summary(record.id, "第一次改", record.summary.version)
    planned = project.get_record("train", 1).summary
    assert planned is not None
    project.edit_summary(record.id, "跑的时候又改了", planned.version)  # after the job chose its records
    saved = project.save_summary(record.id, "新生成", "offline", "m", "p", overwrite_edits=True,
                                 base_version=planned.version)
    assert not saved
    after = project.get_record("train", 1).summary
    assert after is not None and after.current == "跑的时候又改了"


class Prose(OfflineBackend):
    """A model that chats instead of answering JSON; counts its calls."""

    calls = 0

    def extract(self, model_input: str, chat: str, instruction: str | None = None, *,
                timeout: float | None = None) -> Completion:
        Prose.calls += 1
        return Completion("好的，这位客户叫李娜3，想了解价格。")


def test_an_answer_without_json_is_a_failed_record_and_is_asked_again(project: ProjectStore,
                                                                     tmp_path: Path) -> None:
    Prose.calls = 0
    job = Job(project, Prose(), JobSpec("infer", "train", input_source="chat"))
    progress = job.run()
    assert (progress.done, progress.failed) == (0, 10)
    assert "JSON" in progress.errors[1]
    raw = project.get_record("train", 1, run=job.run_id).prediction
    assert raw is not None and raw.raw_output.startswith("好的")  # kept to be looked at
    assert project.get_record("train", 1).prediction is None  # but never shown as the split's answer
    retry = Job(project, Prose(), JobSpec("infer", "train", input_source="chat", retry_failed=True))
    retried = retry.run()
    assert retried.failed == 10 and Prose.calls == 20  # not served the bad answer from the cache
    assert retry.run_id == job.run_id and RunBook(project).get(job.run_id).failed == 10


# --- concurrent jobs and processes -------------------------------------------------------

class Slow(OfflineBackend):
    def summarize(self, chat: str, template: str, *, timeout: float | None = None) -> Completion:
        time.sleep(0.1)
        return super().summarize(chat, template, timeout=timeout)


def test_a_second_job_on_the_same_split_is_refused_in_one_line(project: ProjectStore) -> None:
    first = Job(project, Slow(), JobSpec("summarize", "train", concurrency=1))
    first.start()
    with pytest.raises(JobBusyError, match=r"a summarize job on train is already running \(job \d+"):
        Job(ProjectStore(project.url), OfflineBackend(), JobSpec("summarize", "train")).start()
    assert first.wait(30).done == 10
    assert Job(project, OfflineBackend(), JobSpec("summarize", "train")).run().skipped == 10


def test_two_processes_summarizing_one_split_call_the_provider_once_per_record(
        tmp_path: Path, db_url: str, sample_train: Path, spark: FakeSpark) -> None:
    db = db_url
    ProjectStore(db).import_chat_file(load_chat_file(sample_train))
    spark.delay = 0.2
    command = [sys.executable, "-m", "roleext", "--db", str(db), "summarize", "--backend", "spark",
               "--spark-url", spark.url, "--domain", "generalv3", "--concurrency", "2"]
    runs = [subprocess.Popen(command, cwd=tmp_path, env=spark_env(), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [(p.wait(60), *p.communicate()) for p in runs]
    codes = sorted(code for code, _, _ in results)
    errors = "".join(err for _, _, err in results)
    assert codes == [0, 1] and "Traceback" not in errors and "IntegrityError" not in errors
    assert "a summarize job on train is already running" in errors
    assert len(spark.requests) == 10
    assert all(r.has_summary for r in ProjectStore(db).list_records("train"))


BUSY_WRITER = """
import sys, threading
from roleext.errors import ConflictError
from roleext.ledger import Ledger
from roleext.project import ReviewStatus
from roleext.store import ProjectStore

store, me = ProjectStore(sys.argv[1]), sys.argv[2]
ledger, saved = Ledger(store), []

def work(thread):
    for n in range(5):
        record = store.get_record("train", 1 + (thread + n) % 10)
        try:
            status = ReviewStatus.NEEDS_FIX if record.status == ReviewStatus.ACCEPTED else ReviewStatus.ACCEPTED
            if store.set_status(record.id, status, record.version, author=f"{me}-{thread}") > record.version:
                saved.append(record.id)  # a change; a status someone else already set writes nothing
        except ConflictError:
            pass
        ledger.remember(f"{me}-{thread}-{n}", "offline", "digest", "answer", {})

threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(len(saved))
"""


def test_processes_beyond_the_servers_connections_wait_their_turn(db_url: str, sample_train: Path) -> None:
    """Four processes of four threads each, reading and writing at once. On PostgreSQL they
    share 8 connections here (the server's max_connections, in small): a pool that opened one
    per thread failed most of the processes ("too many connections")."""
    with ExitStack() as cleanup:
        if db_url.startswith("postgresql"):
            db_url = cleanup.enter_context(role_with_connection_limit(db_url, 8))
        with closing(ProjectStore(db_url)) as store:
            store.import_chat_file(load_chat_file(sample_train))
        runs = [subprocess.Popen([sys.executable, "-c", BUSY_WRITER, db_url, f"p{n}"], cwd=ROOT, text=True,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE) for n in range(4)]
        results = [p.communicate(timeout=120) for p in runs]
        assert [p.returncode for p in runs] == [0] * 4, [err for _, err in results]
        saved = sum(int(out) for out, _ in results)
        with closing(ProjectStore(db_url)) as store, store.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM history WHERE target = 'status'")).scalar() == saved
            assert conn.execute(text("SELECT count(*) FROM llm_cache")).scalar() == 4 * 4 * 5


def test_processes_opening_a_new_database_at_once_migrate_it_once(db_url: str) -> None:
    db = db_url
    code = f"from roleext.store import ProjectStore; ProjectStore({db!r}).close()"
    runs = [subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stderr=subprocess.PIPE, text=True)
            for _ in range(6)]
    errors = [p.communicate(timeout=60)[1] for p in runs]
    assert [p.returncode for p in runs] == [0] * 6, errors
    with ProjectStore(db).engine.connect() as conn:
        names = conn.execute(text("SELECT name FROM roleext_migrations")).scalars().all()
    assert sorted(names) == sorted(name for name, _ in MIGRATIONS)


def test_a_database_made_at_the_first_migration_opens_with_everything_upgraded(db_url: str) -> None:
    path = db_url
    engine = create_engine(database_url(path))
    now = "2026-01-05 10:00:00.000000"
    chat = "李娜3：你好\n王勇7：您好"
    with engine.begin() as conn:
        migrations_table.metadata.create_all(conn)
        name, first = MIGRATIONS[0]
        first(conn)
        conn.execute(insert(migrations_table).values(name=name, applied_at=datetime(2026, 1, 5, tzinfo=UTC)))
        conn.execute(text(
            "INSERT INTO records (id, split, idx, chat_text, chat_hash, gold_imported, gold, status, version, "
            "created_at, updated_at) VALUES (1, 'train', 1, :chat, :hash, '[]', :gold, 'accepted', 3, :now, :now)"),
            {"chat": chat, "hash": chat_hash(chat), "gold": '[{"基本信息-姓名": "李娜3"}]', "now": now})
        conn.execute(text("INSERT INTO summaries VALUES (1, '客户李娜3', '审核过的摘要', 'offline', 'digest', 'p', 2, "
                          ":now, :now)"), {"now": now})
    engine.dispose()

    store = ProjectStore(path)
    record = store.get_record("train", 1)
    assert record.status == ReviewStatus.ACCEPTED and record.gold == [{"基本信息-姓名": "李娜3"}]
    assert record.summary is not None and record.summary.current == "审核过的摘要" and not record.summary.stale
    progress = Job(store, OfflineBackend(), JobSpec("summarize", "train")).run()
    assert progress.kept == 1  # the reviewed summary survives the upgrade and the first job
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM roleext_migrations")).scalar() == len(MIGRATIONS)


# --- providers -----------------------------------------------------------------------------

def test_a_provider_that_is_down_stops_the_job_with_one_message(project: ProjectStore, spark: FakeSpark) -> None:
    url = spark.url
    spark.stop()  # connection refused from now on
    backend = SparkBackend(SparkSettings(fake_spark.APP_ID, fake_spark.API_KEY, fake_spark.API_SECRET,
                                         url=url, domain="generalv3"))
    progress = Job(project, backend, JobSpec("summarize", "train", concurrency=1, **FAST)).run()
    assert progress.stopped is not None and "the provider looks down" in progress.stopped
    assert progress.failed == 3 and progress.done == 0  # the other seven were never tried


def test_jobs_of_one_process_share_the_providers_rate_limit(project: ProjectStore, sample_test: Path) -> None:
    project.import_chat_file(load_chat_file(sample_test))
    assert shared_limiter("offline") is shared_limiter("offline")
    started = time.monotonic()
    train = Job(project, OfflineBackend(), JobSpec("summarize", "train", qps=20))
    test = Job(project, OfflineBackend(), JobSpec("summarize", "test", qps=20))
    train.start()
    test.start()
    assert (train.wait(30).done, test.wait(30).done) == (10, 5)
    # 15 calls at 20 a second between them take 0.7 s; two separate limits would take 0.45 s.
    assert time.monotonic() - started >= 0.7


def test_a_refused_start_leaves_the_app_free_to_start_again_later(project: ProjectStore) -> None:
    from roleext.jobs import JobRegistry

    registry = JobRegistry()
    elsewhere = Job(ProjectStore(project.url), Slow(), JobSpec("summarize", "train", concurrency=1))
    elsewhere.start()  # the command line, say
    with pytest.raises(JobBusyError):
        registry.start("summarize:train", Job(project, OfflineBackend(), JobSpec("summarize", "train")))
    assert registry.get("summarize:train") is None
    elsewhere.wait(30)
    started = registry.start("summarize:train", Job(project, OfflineBackend(), JobSpec("summarize", "train")))
    assert started.wait(30).finished


def test_naming_the_database_again_never_drops_sqlites_locks(tmp_path: Path, sample_train: Path) -> None:
    """Pages resolve the database URL on every run. Opening and closing the file to sniff
    it released this process's POSIX locks, so another process closing its connection
    deleted the WAL under the live one and later saves were lost (and the file corrupted)."""
    path = tmp_path / "shared.db"
    app = ProjectStore(path)
    app.import_chat_file(load_chat_file(sample_train))
    with app.engine.connect() as conn:  # the app holds a connection, as a server does
        conn.execute(text("SELECT count(*) FROM records")).scalar()
        for _ in range(3):
            roleext.store.database_url(path)  # what every page run does
        code = f"from roleext.store import ProjectStore; s = ProjectStore({str(path)!r}); s.count('train'); s.close()"
        subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=60)
        assert Path(f"{path}-wal").exists()  # the CLI's exit did not take the app's WAL away
    record = app.get_record("train", 2)
    app.set_status(record.id, ReviewStatus.REJECTED, record.version)
    app.close()
    with create_engine(f"sqlite:///{path}").connect() as check:
        assert check.execute(text("PRAGMA integrity_check")).scalar() == "ok"
    assert ProjectStore(path).get_record("train", 2).status == ReviewStatus.REJECTED


def test_a_confirmation_given_on_an_outdated_preview_writes_nothing(
        project: ProjectStore, sample_records: list[dict[str, Any]]) -> None:
    changed = copy.deepcopy(sample_records)
    changed[2]["infos"][0]["客户购买阶段"] = "赢单"
    with pytest.raises(ImportRefusedError) as shown:
        project.import_chat_file(file_of(changed))
    seen = shown.value.plan.fingerprint()
    # Meanwhile the file changes again (or another tab edits): record 5's gold would change too.
    changed[4]["infos"][0]["客户购买阶段"] = "赢单"
    with pytest.raises(ImportRefusedError, match="changed since the preview") as outdated:
        project.import_chat_file(file_of(changed), confirmed=True, preview=seen)
    assert outdated.value.reason == "preview outdated"
    assert all(project.get_record("train", n).gold[0]["客户购买阶段"] != "赢单" for n in (3, 5))
    project.import_chat_file(file_of(changed), confirmed=True, preview=outdated.value.plan.fingerprint())
    assert project.get_record("train", 5).gold[0]["客户购买阶段"] == "赢单"


def test_an_unusable_answer_never_replaces_a_usable_prediction(
        project: ProjectStore, sample_records: list[dict[str, Any]]) -> None:
    first = Job(project, OfflineBackend(), JobSpec("infer", "train", input_source="chat"))
    first.run()
    before = project.get_record("train", 1).prediction
    changed = copy.deepcopy(sample_records)
    changed[0]["chat_text"] += "\n赵强8：补充一句"
    project.import_chat_file(file_of(changed))
    resumed = Job(project, Prose(), JobSpec("infer", "train", input_source="chat", resume=True)).run()
    assert resumed.failed == 1 and "the answer began '好的" in resumed.errors[1]
    kept = project.get_record("train", 1, run=first.run_id).prediction
    assert before is not None and kept is not None and kept.infos == before.infos and kept.stale

    progress = Job(project, Prose(), JobSpec("infer", "train", input_source="chat", instruction="再来")).run()
    assert progress.failed == 10
    after = project.get_record("train", 1).prediction  # a run with no usable answer never hides the last one
    assert after is not None and after.infos == before.infos and after.run == first.run_id


def test_a_job_that_lost_its_lease_stops(project: ProjectStore, monkeypatch: pytest.MonkeyPatch) -> None:
    import roleext.jobs

    monkeypatch.setattr(roleext.jobs, "HEARTBEAT", timedelta(seconds=0.1))
    job = Job(project, Slow(), JobSpec("summarize", "train", concurrency=1))
    job.start()
    with project.engine.begin() as conn:  # as another process does with a job it took for dead
        conn.execute(text("UPDATE jobs SET status = 'interrupted' WHERE id = :id"), {"id": job.job_id})
    progress = job.wait(30)
    assert progress.stopped is not None and "lost its lease" in progress.stopped
    assert progress.done < 10
