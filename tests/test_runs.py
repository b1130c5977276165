"""Inference runs: kept side by side, listed, exported and scored by id, resumed or started fresh,
corrections staying with their run, and the predictions of an older database becoming a run."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, insert, text
from streamlit.testing.v1 import AppTest

from roleext.backends import Completion, OfflineBackend
from roleext.errors import RoleextError
from roleext.io import Split, load_chat_file
from roleext.jobs import Job, JobSpec
from roleext.matching import chat_hash
from roleext.migrations import MIGRATIONS, migrations_table
from roleext.review import RecordEditor, undo_last_edit
from roleext.runs import RunBook
from roleext.sample import import_sample
from roleext.store import ProjectStore

Cli = Callable[..., tuple[int, str, str]]
ROOT = Path(__file__).resolve().parents[1]
RUN_KEYS = {"id", "backend", "model", "created", "records", "failed", "score"}


@pytest.fixture
def project(store: ProjectStore, sample_train: Path, sample_test: Path) -> ProjectStore:
    store.import_chat_file(load_chat_file(sample_train))
    store.import_chat_file(load_chat_file(sample_test))
    return store


def infer(store: ProjectStore, split: Split = "train", **options: Any) -> Job:
    job = Job(store, OfflineBackend(), JobSpec("infer", split, input_source="chat", **options))
    job.run()
    return job


# --- the command line -----------------------------------------------------------------------

def test_two_runs_on_one_split_are_listed_exported_and_scored_alike(cli: Cli, sample_train: Path,
                                                                     tmp_path: Path) -> None:
    cli("import", str(sample_train))
    code, out, _ = cli("infer", "--split", "train", "--input", "chat")
    assert code == 0 and out.strip().endswith("· run 1")
    code, out, _ = cli("infer", "--split", "train", "--input", "chat", "--keep-unverified", "--collapse-customers")
    assert code == 0 and out.strip().endswith("· run 2")

    code, out, _ = cli("runs", "--split", "train", "--json")
    runs = json.loads(out)
    assert code == 0 and [run["id"] for run in runs] == [2, 1]  # newest first
    assert all(run["records"] == 10 and run["failed"] == 0 and run["backend"] == "offline" for run in runs)
    for run in runs:
        submit = tmp_path / f"run{run['id']}.json"
        code, out, _ = cli("export", "submission", str(submit), "--run", str(run["id"]))
        assert code == 0 and f"run {run['id']}" in out
        assert len(json.loads(submit.read_text("utf-8"))) == 10
        from_file = cli("score", str(sample_train), str(submit))[1].splitlines()[-1]
        stored = cli("score", "--run", str(run["id"]))[1].splitlines()[-1]
        assert from_file == stored == f"score: {run['score']:.4f}"
    assert runs[0]["options"]["collapse_customers"] and not runs[1]["options"]["collapse_customers"]
    text_list = cli("runs")[1]
    assert text_list.splitlines()[1].split()[:2] == ["2", "train"] and f"{runs[0]['score']:.4f}" in text_list


def test_runs_json_lists_every_split_with_a_score_only_where_there_is_gold(cli: Cli, sample_train: Path,
                                                                          sample_test: Path) -> None:
    assert json.loads(cli("runs", "--json")[1]) == []
    cli("import", str(sample_train))
    cli("import", str(sample_test))
    cli("infer", "--split", "train", "--input", "chat", "--instruction", "抽取")
    cli("infer", "--input", "chat")
    runs = json.loads(cli("runs", "--json")[1])
    assert [(run["id"], run["split"]) for run in runs] == [(2, "test"), (1, "train")]
    for run in runs:
        assert set(run) >= RUN_KEYS
        assert isinstance(run["id"], int) and isinstance(run["records"], int) and isinstance(run["failed"], int)
        assert datetime.fromisoformat(run["created"]).tzinfo is not None
    assert runs[0]["score"] is None and isinstance(runs[1]["score"], float)
    assert runs[1]["prompt"] == "抽取" and runs[0]["prompt"] == ""
    assert "api_key" not in json.dumps(runs) and runs[0]["options"]["concurrency"] == 4
    assert [run["id"] for run in json.loads(cli("runs", "--split", "test", "--json")[1])] == [2]


def test_export_and_score_refuse_a_run_that_does_not_fit(cli: Cli, sample_train: Path, sample_test: Path,
                                                        tmp_path: Path) -> None:
    cli("import", str(sample_train))
    cli("import", str(sample_test))
    cli("infer", "--input", "chat")
    code, _, err = cli("export", "submission", str(tmp_path / "s.json"), "--run", "1", "--split", "train")
    assert code == 2 and "run 1 is a test run" in err and not (tmp_path / "s.json").exists()
    code, _, err = cli("score", "--run", "1")
    assert code == 2 and "no test record has gold" in err
    code, _, err = cli("score", "--run", "7")
    assert code == 1 and "there is no run 7" in err
    code, _, err = cli("score", str(sample_train))
    assert code == 2 and "GOLD and PRED" in err


def test_resume_continues_the_latest_run_and_a_plain_infer_starts_a_new_one(cli: Cli, sample_train: Path) -> None:
    cli("import", str(sample_train))
    code, _, err = cli("infer", "--split", "train", "--input", "chat", "--resume")
    assert code == 1 and "no inference run on train to resume" in err
    cli("infer", "--split", "train", "--input", "chat")
    code, out, _ = cli("infer", "--split", "train", "--input", "chat", "--resume")
    assert code == 0 and out.startswith("infer train: 0/0 done") and out.strip().endswith("· run 1")
    code, _, err = cli("infer", "--split", "train", "--input", "summary", "--resume")
    assert code == 1 and "run 1 was made with other settings (input differs)" in err
    code, out, _ = cli("infer", "--split", "train", "--input", "chat")
    assert code == 0 and out.strip().endswith("· run 2")
    assert len(json.loads(cli("runs", "--json")[1])) == 2


# --- jobs, the lease and the store ----------------------------------------------------------------

class Slow(OfflineBackend):
    def extract(self, model_input: str, chat: str, instruction: str | None = None, *,
                timeout: float | None = None) -> Completion:
        time.sleep(0.1)
        return super().extract(model_input, chat, instruction, timeout=timeout)


def test_an_interrupted_run_is_resumed_in_place_and_its_job_leaves_it_whole(project: ProjectStore) -> None:
    job = Job(project, Slow(), JobSpec("infer", "train", input_source="chat", concurrency=1))
    job.start()
    deadline = time.monotonic() + 10
    while job.snapshot().done < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    job.cancel()
    stopped = job.wait(10)
    book = RunBook(project)
    run = book.get(job.run_id or 0)
    assert run.status == "cancelled" and run.records == stopped.done < 10 and run.ended is not None

    resumed = Job(project, Slow(), JobSpec("infer", "train", input_source="chat", resume=True))
    progress = resumed.run()
    assert resumed.run_id == job.run_id and progress.done == 10 - stopped.done and progress.skipped == stopped.done
    run = book.get(job.run_id or 0)
    assert (run.status, run.records, run.failed, len(book.newest_first("train"))) == ("done", 10, 0, 1)
    assert run.prompt == "" and run.options["input"] == "chat" and run.config == resumed.config


def test_a_refused_resume_leaves_the_split_free(project: ProjectStore) -> None:
    infer(project)
    with pytest.raises(RoleextError, match="other settings"):
        Job(project, OfflineBackend(), JobSpec("infer", "train", input_source="summary", resume=True)).start()
    assert infer(project).run_id == 2  # no lease left behind


def test_undo_walks_back_a_correction_in_its_own_run(project: ProjectStore) -> None:
    first = infer(project)
    record = project.get_record("train", 3)
    assert record.prediction is not None
    mine = [dict(record.prediction.parsed[0], 客户是否有意向="有意向")]
    RecordEditor(project, record, "ann").correct_prediction(mine)
    second = infer(project, instruction="新的提示")

    assert project.get_record("train", 3).prediction == project.get_record("train", 3, run=second.run_id).prediction
    message = undo_last_edit(project, project.get_record("train", 3), "ann")
    assert message.startswith("undid the prediction edit by ann")
    back = project.get_record("train", 3, run=first.run_id).prediction
    assert back is not None and not back.edited
    assert project.get_record("train", 3, run=second.run_id).prediction == \
        project.get_record("train", 3).prediction  # the other run untouched


def test_the_chosen_run_is_what_records_show_and_exports_write(project: ProjectStore) -> None:
    first = infer(project, split="test")
    second = infer(project, split="test", collapse_customers=True, instruction="x")
    book = RunBook(project)
    assert book.shown("test") == book.get(second.run_id or 0)
    book.choose("test", first.run_id)
    assert project.get_record("test", 1).prediction == project.get_record("test", 1, run=first.run_id).prediction
    assert [r.chosen for r in book.newest_first("test")] == [False, True]
    assert infer(project, split="test", instruction="y").run_id == 3
    assert book.shown("test") == book.get(first.run_id or 0)  # a new run does not take over a choice
    book.choose("test", None)
    assert book.shown("test") == book.get(3)
    with pytest.raises(RoleextError, match="not a run of the train split"):
        book.choose("train", 3)


# --- the migration ----------------------------------------------------------------------------------

def test_predictions_of_a_database_made_before_runs_become_one_run_per_split(tmp_path: Path) -> None:
    path = tmp_path / "before-runs.db"
    engine = create_engine(f"sqlite:///{path}")
    now = "2026-01-05 10:00:00.000000"
    gold = [{"基本信息-姓名": "李娜3", "咨询类型": ["答疑"]}]
    corrected = [{"基本信息-姓名": "李娜3", "咨询类型": ["询价"]}]
    with engine.begin() as conn:
        migrations_table.metadata.create_all(conn)
        for name, step in MIGRATIONS[:MIGRATIONS.index(next(m for m in MIGRATIONS if m[0] == "m006_runs"))]:
            step(conn)
            conn.execute(insert(migrations_table).values(name=name, applied_at=datetime(2026, 1, 5, tzinfo=UTC)))
        for rid, split, idx in ((1, "train", 1), (2, "train", 2), (3, "test", 1)):
            chat = f"李娜3：你好 {rid}\n王勇7：您好"
            conn.execute(text(
                "INSERT INTO records (id, split, idx, chat_text, chat_hash, gold_imported, gold, status, version, "
                "created_at, updated_at) VALUES (:id, :split, :idx, :chat, :hash, :gold, :gold, 'pending', 1, "
                ":now, :now)"), {"id": rid, "split": split, "idx": idx, "chat": chat, "hash": chat_hash(chat),
                                 "gold": json.dumps(gold if split == "train" else [], ensure_ascii=False),
                                 "now": now})
        parsed = json.dumps(gold, ensure_ascii=False)
        for rid, backend, fix in ((1, "spark", corrected), (2, "spark", None), (3, "openai", None)):
            conn.execute(text(
                "INSERT INTO predictions (record_id, raw_output, parsed, corrected, backend, model, error, version, "
                "created_at, updated_at, changes, chat_hash) SELECT :id, :parsed, :parsed, :fix, :backend, "
                "'generalv3', NULL, :version, :now, :now, '[]', chat_hash FROM records WHERE id = :id"),
                {"id": rid, "parsed": parsed, "fix": json.dumps(fix, ensure_ascii=False) if fix else None,
                 "backend": backend, "version": 2 if fix else 1, "now": now})
        conn.execute(text("INSERT INTO history (record_id, target, author, at, before, after) VALUES "
                          "(1, 'prediction', 'ann', :now, :before, :after)"),
                     {"now": now, "before": parsed, "after": json.dumps(corrected, ensure_ascii=False)})
        conn.execute(text("INSERT INTO record_tasks VALUES (2, 'infer', 'failed', 'c', 'busy', NULL, 4, :now, NULL)"),
                     {"now": now})
        conn.execute(text("INSERT INTO jobs (kind, split, status, description, total, done, failed, tokens, "
                          "created_at, updated_at) VALUES ('infer', 'train', 'done', 'x', 2, 1, 1, 0, :now, :now)"),
                     {"now": now})
    engine.dispose()

    store = ProjectStore(path)
    book = RunBook(store)
    train_run, test_run = book.newest_first()  # made split by split, test first
    assert (train_run.split, train_run.backend, train_run.model) == ("train", "spark", "generalv3")
    assert (train_run.records, train_run.corrected, train_run.failed, train_run.status) == (2, 1, 1, "done")
    assert train_run.before_runs and train_run.prompt is None and "before runs" in train_run.label()
    assert (test_run.split, test_run.backend, test_run.records) == ("test", "openai", 1)
    assert train_run.created == datetime(2026, 1, 5, 10, tzinfo=UTC)

    kept = store.get_record("train", 1).prediction
    assert kept is not None and kept.infos == corrected and kept.run == train_run.id and kept.version == 2
    assert [h.run for h in store.history_of(1)] == [train_run.id]
    undo_last_edit(store, store.get_record("train", 1), "bob")  # the old correction is still in reach
    back = store.get_record("train", 1).prediction
    assert back is not None and back.infos == gold
    again = Job(store, OfflineBackend(), JobSpec("infer", "train", input_source="chat"))
    assert again.resumable() is None  # what made the old run is unknown: no job can claim to continue it
    fresh = infer(store)  # a new run beside it; the old one stays whole
    assert fresh.run_id == 3 and book.get(train_run.id).records == 2
    assert again.resumable() == book.get(3)


# --- the app ---------------------------------------------------------------------------------------

class Winning(OfflineBackend):
    """The offline answer, but every customer said to have won: a second run that differs."""

    def extract(self, model_input: str, chat: str, instruction: str | None = None, *,
                timeout: float | None = None) -> Completion:
        answer = json.loads(super().extract(model_input, chat, instruction, timeout=timeout).text)
        return Completion(json.dumps([dict(c, 客户购买阶段="赢单") for c in answer], ensure_ascii=False))


def test_evaluate_compares_two_runs_side_by_side(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "app.db"
    monkeypatch.setenv("ROLEEXT_DB", str(db))
    store = ProjectStore(db)
    import_sample(store)
    first = infer(store)
    second = Job(store, Winning(), JobSpec("infer", "train", input_source="chat", instruction="赢单"))
    second.run()
    at = AppTest.from_file(str(ROOT / "pages" / "evaluate.py"), default_timeout=30).run()
    assert not at.exception
    assert at.selectbox(key="evaluate_run_train").value == second.run_id  # the newest first
    assert at.selectbox(key="evaluate_other_train").value == first.run_id
    scores = next(d.value for d in at.dataframe if "vs prior" in d.value.columns)
    from roleext.evaluation import evaluate

    for run in (first, second):
        result = evaluate(store, "train", run.run_id)
        assert result is not None
        row = scores[scores["run"] == run.run_id].iloc[0]
        assert row["score"] == round(result.report.score, 4)
        assert row["vs prior"] == round(result.report.score - result.baselines["prior"], 4)
        assert row["vs all-empty"] == round(result.report.score - result.baselines["all-empty"], 4)
    fields = next(d.value for d in at.dataframe if "difference" in d.value.columns)
    assert (fields["difference"] == (fields["second"] - fields["first"]).round(4)).all()
    assert fields.set_index("field").loc["客户购买阶段", "difference"] != 0
    differences = next(d.value for d in at.dataframe if "second points" in d.value.columns)
    assert set(differences["field"]) == {"客户购买阶段"} and set(differences["first"]) == {"赢单"}
    for _, row in differences.iterrows():
        one = store.get_record("train", int(row["record"]), run=second.run_id).prediction
        two = store.get_record("train", int(row["record"]), run=first.run_id).prediction
        assert one is not None and two is not None and one.infos != two.infos

    at.selectbox(key="evaluate_run_train").set_value(first.run_id).run()
    assert not at.exception
    assert any("Review shows the predictions of run 2" in c.value for c in at.caption)  # not clickable there


def test_inference_shows_the_picked_run_and_keeps_the_choice_for_the_submission(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "app.db"
    monkeypatch.setenv("ROLEEXT_DB", str(db))
    store = ProjectStore(db)
    import_sample(store)
    first = infer(store, split="test")
    infer(store, split="test", instruction="再来一次")
    at = AppTest.from_file(str(ROOT / "pages" / "inference.py"), default_timeout=30).run()
    assert not at.exception and at.selectbox(key="infer_run_test").value == 2
    at.selectbox(key="infer_run_test").set_value(first.run_id).run()
    next(c for c in at.checkbox if c.label == "Use this run for the submission").check().run()
    assert not at.exception
    assert RunBook(store).shown("test") == RunBook(store).get(first.run_id or 0)
    assert any(c.value.startswith("from run 1") for c in at.caption)
    fresh = AppTest.from_file(str(ROOT / "pages" / "inference.py"), default_timeout=30).run()
    assert fresh.selectbox(key="infer_run_test").value == first.run_id  # the choice persists
