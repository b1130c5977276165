"""Every page, run headless with AppTest against a real project database: no exception, ever."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from pages.customers_editor import edit_toggle_key
from pages.language import LANGUAGE_KEY
from roleext.backends import OfflineBackend
from roleext.i18n import LANGUAGES, Language
from roleext.jobs import Job, JobSpec
from roleext.ledger import Ledger
from roleext.project import ReviewStatus
from roleext.sample import import_sample
from roleext.store import ProjectStore

ROOT = Path(__file__).resolve().parents[1]
PAGES = ["data", "summarize", "review", "agreement", "export", "inference", "evaluate"]


@pytest.fixture(autouse=True)
def project_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    db = tmp_path / "app.db"
    monkeypatch.setenv("ROLEEXT_DB", str(db))
    return db


def page(name: str, language: Language | None = None) -> AppTest:
    """A page alone; in `language` when given, else the browser's (AppTest has none: English)."""
    at = AppTest.from_file(str(ROOT / "pages" / f"{name}.py"), default_timeout=30)
    if language is not None:
        at.session_state[LANGUAGE_KEY] = language
    return at


def loaded(db: Path, summarize: bool = True, infer: bool = False) -> ProjectStore:
    store = ProjectStore(db)
    import_sample(store)
    if summarize:
        Job(store, OfflineBackend(), JobSpec("summarize", "train")).run()
        Job(store, OfflineBackend(), JobSpec("summarize", "test")).run()
    if infer:
        Job(store, OfflineBackend(), JobSpec("infer", "train")).run()
        Job(store, OfflineBackend(), JobSpec("infer", "test")).run()
    return store


def edit_gold(at: AppTest, record_id: int) -> AppTest:
    """Switch the gold customers from their read-only tables to their boxes, as a reviewer who edits does."""
    return at.toggle(key=edit_toggle_key("gold", str(record_id))).set_value(True).run()


def test_app_opens_on_the_data_page() -> None:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30).run()
    assert not at.exception
    assert at.title[0].value == "Data"


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("name", PAGES)
def test_every_page_with_no_data_says_what_to_do(name: str, language: Language) -> None:
    at = page(name, language).run()
    assert not at.exception
    assert at.info, f"{name} should tell the user what to do first"


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("name", PAGES)
def test_every_page_runs_on_the_sample_data(name: str, language: Language, project_db: Path) -> None:
    loaded(project_db, infer=True)
    at = page(name, language).run()
    assert not at.exception
    assert not at.error


def test_data_page_loads_the_sample_in_one_click() -> None:
    at = page("data").run()
    next(b for b in at.button if b.label == "Load sample data").click().run()
    assert not at.exception
    assert [s.value for s in at.success] == [
        "train: 10 added, 0 updated, 0 unchanged, 0 no longer in the file  \n"
        "test: 5 added, 0 updated, 0 unchanged, 0 no longer in the file",
    ]
    # Offered to an empty project only: gone at once, and the project's figures are there.
    assert not any(b.label == "Load sample data" for b in at.button)
    assert at.dataframe
    at.run()
    assert len(at.success) == 1  # the report stays until the next import


def test_review_accept_saves_the_status_and_moves_on(project_db: Path) -> None:
    store = loaded(project_db)
    at = page("review").run()
    accept = next(b for b in at.button if b.label == "Accept")
    accept.click().run()
    assert not at.exception
    assert store.get_record("train", 1).status == ReviewStatus.ACCEPTED
    assert at.selectbox(key="review_record_train").value == 2
    assert "1 of 10 accepted" in [c.value for c in at.main.caption]  # kept counts follow the save
    record = store.get_record("train", 5)
    store.set_status(record.id, ReviewStatus.ACCEPTED, record.version)  # another tab
    at.run()
    assert "2 of 10 accepted" in [c.value for c in at.main.caption]


def test_review_picker_jumps_by_number_and_by_page(project_db: Path) -> None:
    loaded(project_db)
    at = page("review").run()
    at.number_input(key="review_go_to").set_value(7).run()
    assert not at.exception
    assert at.selectbox(key="review_record_train").value == 7
    assert at.number_input(key="review_go_to").value is None  # ready for the next number
    next(b for b in at.button if b.label == "Previous page").click().run()
    assert at.selectbox(key="review_record_train").value == 1  # a page back stops at the first
    next(b for b in at.button if b.label == "Next page").click().run()
    assert at.selectbox(key="review_record_train").value == 10
    at.number_input(key="review_go_to").set_value(99).run()
    assert any("There is no train record 99" in w.value for w in at.warning)


def test_review_summary_edit_is_saved_at_once_with_history(project_db: Path) -> None:
    store = loaded(project_db)
    record = store.get_record("train", 1)
    at = page("review").run()
    at.text_area(key=f"summary_{record.id}_1").set_value("审核员改写的摘要").run()
    assert not at.exception
    saved = store.get_record("train", 1)
    assert saved.summary is not None and saved.summary.current == "审核员改写的摘要"
    assert store.history_of(record.id)[-1].after == "审核员改写的摘要"


def test_review_gold_edit_keeps_values_outside_the_known_set(project_db: Path) -> None:
    store = loaded(project_db)
    record = store.get_record("train", 1)
    odd = [dict(record.gold[0], 咨询类型=["答疑、吐槽"])]
    store.update_gold(record.id, odd, record.version)
    at = edit_gold(page("review").run(), record.id)
    at.pills(key="gold_0_客户购买阶段").set_value("赢单").run()
    assert not at.exception
    gold = store.get_record("train", 1).gold[0]
    assert gold["客户购买阶段"] == "赢单" and gold["咨询类型"] == ["答疑、吐槽"]


def test_review_adds_a_first_customer_in_one_click_and_opens_its_boxes(project_db: Path) -> None:
    store = loaded(project_db)
    record = store.get_record("train", 1)
    store.update_gold(record.id, [], record.version)
    at = page("review").run()
    next(b for b in at.button if b.label == "Add a customer").click().run()  # no Edit switch to find first
    assert not at.exception
    assert len(store.get_record("train", 1).gold) == 1
    at = edit_gold(at, record.id)
    assert at.text_input(key="gold_0_基本信息-姓名").value == ""


def test_review_shows_a_conflict_instead_of_overwriting(project_db: Path) -> None:
    store = loaded(project_db)
    record = store.get_record("train", 1)
    at = page("review").run()
    store.set_status(record.id, ReviewStatus.REJECTED, record.version)  # another tab
    next(b for b in at.button if b.label == "Accept").click().run()
    assert not at.exception
    assert any("changed elsewhere" in t.value for t in at.toast)  # a refusal from a callback: a toast
    assert store.get_record("train", 1).status == ReviewStatus.REJECTED


def test_review_accept_saves_what_was_typed_with_the_same_key_press(project_db: Path) -> None:
    """The page's shortcut script sends typed text along with Alt+A: one run gets both."""
    store = loaded(project_db)
    record = store.get_record("train", 1)
    at = edit_gold(page("review").run(), record.id)
    at.text_area(key=f"summary_{record.id}_1").set_value("还没离开摘要框")
    at.text_input(key="gold_0_基本信息-邮箱").set_value("typed@example.com")
    next(b for b in at.button if b.label == "Accept").click().run()
    assert not at.exception and not at.error
    saved = store.get_record("train", 1)
    assert saved.summary is not None and saved.summary.current == "还没离开摘要框"
    assert saved.gold[0]["基本信息-邮箱"] == "typed@example.com"
    assert saved.status == ReviewStatus.ACCEPTED
    assert [h.target for h in store.history_of(record.id)] == ["summary", "gold", "status"]
    assert at.selectbox(key="review_record_train").value == 2


def test_review_a_conflict_keeps_the_unsaved_text_on_screen_until_dismissed(project_db: Path) -> None:
    store = loaded(project_db)
    record = store.get_record("train", 1)
    at = page("review").run()
    store.edit_summary(record.id, "另一个标签页先保存的摘要", 1)  # another tab
    at.text_area(key=f"summary_{record.id}_1").set_value("我在这个标签页写的摘要").run()
    assert not at.exception
    assert any("summary edit of train record 1 was not saved" in e.value for e in at.error)
    assert "我在这个标签页写的摘要" in [c.value for c in at.code]
    assert store.get_record("train", 1).summary.current == "另一个标签页先保存的摘要"  # type: ignore[union-attr]
    at.run()  # still there on the next run
    assert "我在这个标签页写的摘要" in [c.value for c in at.code]
    next(b for b in at.button if b.label == "Dismiss").click().run()
    assert "我在这个标签页写的摘要" not in [c.value for c in at.code]
    assert not at.error


def test_review_a_gold_conflict_keeps_the_gold_as_json(project_db: Path) -> None:
    store = loaded(project_db)
    record = store.get_record("train", 1)
    at = edit_gold(page("review").run(), record.id)
    store.set_status(record.id, ReviewStatus.REJECTED, record.version)  # another tab
    at.text_input(key="gold_0_基本信息-邮箱").set_value("mine@example.com").run()
    assert not at.exception
    kept = [c.value for c in at.code if "mine@example.com" in c.value]
    assert kept and json.loads(kept[0])[0]["基本信息-邮箱"] == "mine@example.com"


def test_review_history_counts_and_undoes_one_edit_per_click(project_db: Path) -> None:
    store = loaded(project_db)
    record = store.get_record("train", 1)
    at = page("review").run()
    at.text_area(key=f"summary_{record.id}_1").set_value("第一次改写").run()
    assert any(e.label == "History (1 edit)" for e in at.expander)
    assert not any("before" in d.value.columns for d in at.dataframe)  # drawn only when opened
    at.session_state["review_history_open"] = True  # as the expander's switch keeps it
    edit_gold(at, record.id)
    history = next(d.value for d in at.dataframe if "before" in d.value.columns)
    assert history["what"][0] == "summary edit" and history["after"][0] == "第一次改写"
    assert history["before"][0].startswith("【事实摘录】 发言人：李娜3")  # what it was, whitespace folded
    at.text_input(key="gold_0_基本信息-邮箱").set_value("a@example.com").run()
    assert at.toggle(key=edit_toggle_key("gold", str(record.id))).value  # a save keeps the boxes open
    next(b for b in at.button if b.label.startswith("Undo")).click().run()
    assert store.get_record("train", 1).gold == record.gold
    assert any(t.value.startswith("undid the gold edit") for t in at.toast)
    next(b for b in at.button if b.label.startswith("Undo")).click().run()
    assert not at.exception
    assert store.get_record("train", 1).summary.current == record.summary.current  # type: ignore[union-attr]


def test_export_page_offers_the_jsonl_with_enough_rows(project_db: Path) -> None:
    loaded(project_db)
    at = page("export").run()
    assert not at.exception
    assert any("fine-tuning JSONL: 1500 rows from 10 records" in c.value for c in at.code)


def test_inference_offers_a_valid_submission(project_db: Path) -> None:
    loaded(project_db, infer=True)
    at = page("inference").run()
    assert not at.exception
    assert any("submission: 5 rows" in c.value for c in at.caption)


def test_inference_shows_and_edits_the_prompt_a_base_model_gets(project_db: Path) -> None:
    loaded(project_db)
    at = page("inference").run()
    assert any("offline rules" in c.value for c in at.caption)
    at.radio(key="infer_split").set_value("train").run()
    at.selectbox(key="infer_kind").set_value("openai").run()
    at.text_input(key="infer_omodel").set_value("qwen").run()
    prompt = at.text_area(key="infer_prompt_summary")
    assert "基本信息-姓名（字符串）" in prompt.value and "{content}" in prompt.value
    assert any("built-in extraction prompt" in c.value for c in at.caption)
    at.number_input(key="infer_few_shot").set_value(2).run()
    at.toggle(key="infer_show_prompt").set_value(True).run()
    at.selectbox(key="infer_prompt_record").set_value(3).run()
    assert not at.exception
    shown = at.code[0].value
    assert "****示例2****" in shown and "孙洋2、钱芳6、孙杰2" not in shown  # record 3's own gold
    at.text_area(key="infer_prompt_summary").set_value("只抽取姓名：{content}").run()
    assert any("your prompt" in c.value for c in at.caption)
    next(b for b in at.button if b.key == "infer_prompt_reset").click().run()
    assert at.text_area(key="infer_prompt_summary").value == prompt.value
    at.checkbox(key="infer_fine_tuned").check().run()
    assert any("exactly as in the fine-tuning rows" in c.value for c in at.caption)


def test_the_export_page_shows_what_each_chunk_kept(project_db: Path) -> None:
    loaded(project_db)
    at = page("export")
    at.session_state["export_tab"] = "Chat chunks (JSONL)"
    at.run()
    assert not at.exception
    reports = "\n".join(c.value for c in at.code)
    assert "fine-tuning JSONL of chat chunks" in reports and "gold values kept:" in reports
    table = at.dataframe[0].value
    assert list(table.columns)[:2] == ["record", "chunk"] and len(table) >= 10
    at.number_input(key="export_chunk_chars").set_value(2_000).run()
    assert "record 8: " in "\n".join(c.value for c in at.code)  # the sample's long chat, now in chunks

def test_evaluate_shows_the_score_beside_the_baselines(project_db: Path) -> None:
    loaded(project_db, infer=True)
    at = page("evaluate").run()
    assert not at.exception
    labels = [m.label for m in at.metric]
    assert labels == ["Score", "All-empty baseline", "Prior baseline"]
    rules = at.table[0].value  # the offline rules: words, not true / false
    assert set(rules["on"]) == {"on"} and "rule" in (rules.index.name, *rules.columns)


def test_evaluate_before_any_run_says_how_to_get_a_score_not_an_empty_one(project_db: Path) -> None:
    loaded(project_db)  # summarized, never inferred
    at = page("evaluate").run()
    assert [m.label for m in at.metric] == ["All-empty baseline", "Prior baseline"]
    assert at.info[0].value.startswith("No inference run on the train split yet")
    assert at.table  # the offline rules' switches: best set before the first run
    at.radio(key="evaluate_split").set_value("test").run()  # gold lives in train, and there is a train split
    assert at.info[0].value.startswith("The test split has no gold") and not at.metric


def test_the_fine_tuned_spark_caption_shows_for_spark_only(project_db: Path) -> None:
    loaded(project_db)
    at = page("inference").run()
    assert not any("patch_id" in c.value for c in at.sidebar.caption)  # offline: a fine-tuned Spark model's words
    at.selectbox(key="infer_kind").set_value("spark").run()
    assert any("patch_id" in c.value for c in at.sidebar.caption)


@pytest.mark.parametrize("query", [{"split": "train", "record": "abc"}, {"split": "foo", "record": "2"}])
def test_an_address_that_names_no_record_says_so(project_db: Path, query: dict[str, str]) -> None:
    loaded(project_db)
    at = page("review")
    at.query_params.update(query)
    at.run()
    assert any(w.value.startswith("This address names no record") for w in at.warning)
    at.run()  # the page wrote the address of the record it opened
    assert not at.warning


def import_button(at: AppTest) -> object:
    return next(b for b in at.button if b.label == "Import")


def test_a_bad_upload_is_listed_and_nothing_stored_is_lost(project_db: Path) -> None:
    store = loaded(project_db, summarize=False)
    at = page("data").run()
    bad = json.dumps([{"chat_text": "王勇7：你好", "infos": "none"}, {"chat_text": "", "infos": []}]).encode()
    at.file_uploader[0].set_value(("train.json", bad, "application/json")).run()
    import_button(at).click().run()  # type: ignore[attr-defined]
    assert not at.exception
    assert at.error[0].value == r"train\.json cannot be used: 2 problems. Nothing was imported."
    problems = "\n".join(m.value for m in at.code)
    assert 'record 1, field infos: is a string ("none")' in problems
    assert "record 2, field chat_text: is empty" in problems
    assert store.count("train") == 10 and store.count("test") == 5


def test_a_good_upload_is_imported_only_by_the_button(project_db: Path, sample_train: Path) -> None:
    at = page("data").run()
    at.file_uploader[0].set_value(("train.json", sample_train.read_bytes(), "application/json")).run()
    assert ProjectStore(project_db).count("train") == 0  # choosing a file imports nothing
    import_button(at).click().run()  # type: ignore[attr-defined]
    assert not at.exception
    assert at.success[0].value == r"train\.json: train: 10 added, 0 updated, 0 unchanged, 0 no longer in the file"
    assert ProjectStore(project_db).count("train") == 10


def test_changing_the_split_with_a_file_in_the_uploader_imports_nothing(project_db: Path,
                                                                        sample_train: Path) -> None:
    store = loaded(project_db, summarize=False)
    at = page("data").run()
    at.file_uploader[0].set_value(("train.json", sample_train.read_bytes(), "application/json")).run()
    import_button(at).click().run()  # type: ignore[attr-defined]
    at.radio[0].set_value("test").run()
    at.radio[0].set_value("train").run()
    assert not at.exception
    assert store.count("test") == 5 and store.count("train") == 10
    assert all(r.gold for r in store.iter_records("train"))


def test_a_file_without_gold_over_train_is_refused_until_replaced(project_db: Path, sample_test: Path) -> None:
    store = loaded(project_db, summarize=False)
    at = page("data").run()
    at.file_uploader[0].set_value(("test_data.json", sample_test.read_bytes(), "application/json")).run()
    at.radio[0].set_value("train").run()
    import_button(at).click().run()  # type: ignore[attr-defined]
    assert not at.exception
    assert "has no gold" in at.error[0].value
    assert "gold changes in 5 records" in at.code[-1].value
    assert all(r.gold for r in store.iter_records("train")) and store.count("train") == 10

    next(b for b in at.button if b.label == "Cancel").click().run()
    assert not at.error and all(r.gold for r in store.iter_records("train"))

    import_button(at).click().run()  # type: ignore[attr-defined]
    next(b for b in at.button if b.label == "Replace the split's gold").click().run()
    assert not at.exception
    assert store.count("train") == 5 and not any(r.gold for r in store.iter_records("train"))


def test_an_import_that_changes_gold_waits_for_confirmation(project_db: Path,
                                                             sample_records: list[dict[str, object]]) -> None:
    store = loaded(project_db, summarize=False)
    sample_records[2]["infos"][0]["客户购买阶段"] = "赢单"  # type: ignore[index]
    changed = json.dumps(sample_records, ensure_ascii=False).encode()
    at = page("data").run()
    at.file_uploader[0].set_value(("train.json", changed, "application/json")).run()
    import_button(at).click().run()  # type: ignore[attr-defined]
    assert "gold changes in 1 record (2 field values)" in at.code[-1].value
    assert store.get_record("train", 3).gold[0]["客户购买阶段"] != "赢单"
    next(b for b in at.button if b.label == "Confirm import").click().run()
    assert not at.exception
    assert store.get_record("train", 3).gold[0]["客户购买阶段"] == "赢单"
    assert "1 updated" in at.success[0].value


def test_a_started_job_outlives_the_page_run(project_db: Path) -> None:
    store = loaded(project_db, summarize=False)
    at = page("summarize").run()
    next(b for b in at.button if b.label == "Start").click().run()
    assert not at.exception
    deadline = time.monotonic() + 20
    while sum(i.has_summary for i in store.list_records("train")) < 10 and time.monotonic() < deadline:
        time.sleep(0.1)
    fresh = page("summarize").run()  # a refreshed browser: a new session, the same server
    assert not fresh.exception
    assert any("summarize train: 10/10 done" in p.proto.text for p in fresh.get("progress"))


def test_an_old_finished_job_shows_only_to_the_session_that_watched_it(project_db: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """A new session saw "summarize train: 100/100 done" from a run long gone beside newer work."""
    import pages.job_panel

    store = loaded(project_db, summarize=False)
    at = page("summarize").run()
    next(b for b in at.button if b.label == "Start").click().run()
    deadline = time.monotonic() + 20
    while sum(i.has_summary for i in store.list_records("train")) < 10 and time.monotonic() < deadline:
        time.sleep(0.1)
    while Ledger(store).latest_jobs(1)[0]["status"] != "done" and time.monotonic() < deadline:
        time.sleep(0.05)  # its row written: it no longer runs for a new session either
    monkeypatch.setattr(pages.job_panel, "RECENT", 0.0)  # the job ended longer ago than that
    assert not any("10/10 done" in p.proto.text for p in page("summarize").run().get("progress"))
    assert any("10/10 done" in p.proto.text for p in at.run().get("progress"))  # the session that started it


def test_export_page_escapes_formula_cells_when_ticked(project_db: Path) -> None:
    store = loaded(project_db)
    store.save_summary(store.get_record("test", 1).id, "=1+1", "offline", "digest", "p1")
    at = page("export")
    at.session_state["export_tab"] = "Test CSV"
    at.run()
    assert any("records 1 (a spreadsheet may run them" in c.value for c in at.code)
    box = next(c for c in at.checkbox if c.label.startswith("Escape cells"))
    box.check().run()
    assert not at.exception
    assert any("'=1+1,-" in c.value for c in at.code)


@pytest.mark.parametrize("kind", ["folder", "text file"])
def test_a_database_that_cannot_be_opened_is_one_message(kind: str, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "db"
    if kind == "folder":
        target.mkdir()
    else:
        target.write_text("not a database", "utf-8")
    monkeypatch.setenv("ROLEEXT_DB", str(target))
    at = page("data").run()
    assert not at.exception
    assert at.error and at.error[0].value.startswith("The project database cannot be opened")


# --- from a number to the record behind it ---------------------------------------------

def app() -> AppTest:
    """The whole app through app.py's navigation, so pages can switch to each other."""
    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=30).run()


def record_box(at: AppTest, split: str) -> str:
    """The Review record box as the reviewer reads it (its shown label)."""
    box = at.selectbox(key=f"review_record_{split}")
    return box.options[box.index]  # type: ignore[index]


def bars(at: AppTest, position: int = 0) -> list[str]:
    """A chart's categories in the order Vega-Lite draws them."""
    from streamlit import dataframe_util

    chart = at.get("vega_lite_chart")[position]
    encoding = json.loads(chart.proto.spec)["encoding"]
    axis = next(encoding[a] for a in ("x", "y") if encoding[a]["type"] in ("nominal", "ordinal"))
    data = dataframe_util.convert_arrow_bytes_to_pandas_df(chart.proto.datasets[0].data.data)
    values = list(dict.fromkeys(data[axis["field"]]))
    sort = axis.get("sort", "ascending")
    if isinstance(sort, list):
        return [v for v in sort if v in values]
    return values if sort is None else sorted(values)


def test_a_mistake_clicked_on_evaluate_opens_review_beside_the_prediction(project_db: Path) -> None:
    loaded(project_db, infer=True)
    at = app()
    at.switch_page("pages/evaluate.py").run()
    mistakes = next(d for d in at.dataframe if d.key == "evaluate_mistakes").value
    row = next(i for i, record in enumerate(mistakes["record"]) if record != 1)  # not where Review opens anyway
    record, field = int(mistakes["record"][row]), mistakes["field"][row]
    at.session_state["evaluate_mistakes"] = {"selection": {"rows": [row], "columns": []}}  # the click
    at.run()
    assert not at.exception
    assert at.title[0].value == "Review"
    assert at.query_params == {"split": "train", "record": str(record)}
    assert record_box(at, "train").startswith(f"train {record} ")
    assert at.toggle(key="review_show_prediction").value
    beside = next(d.value for d in at.dataframe if "wrong" in d.value.columns)
    marked = set(beside[beside["wrong"] == "✗"]["field"])
    assert field in marked
    assert set(mistakes[mistakes["record"] == record]["field"]) == marked
    assert any("wrong field" in m.value and "Prediction" in m.value for m in at.markdown)


def test_evaluate_chart_and_tables_follow_the_schema_and_read_as_text(project_db: Path) -> None:
    from roleext.schema import FIELD_NAMES

    loaded(project_db, infer=True)
    at = page("evaluate").run()
    assert not at.exception
    assert bars(at) == list(FIELD_NAMES)
    labels = json.loads(at.get("vega_lite_chart")[0].proto.spec)["encoding"]["y"]["axis"]
    assert labels["labelLimit"] == 0  # whole names: three bars no longer all read "下一步跟进计划-…"
    assert list(at.dataframe[0].value["field"]) == list(FIELD_NAMES)
    mistakes = at.dataframe[1].value
    assert "王勇7、李娜3" in set(mistakes["gold"])
    assert not any(str(v).startswith("[") for v in [*mistakes["gold"], *mistakes["predicted"]])


def test_review_opens_the_record_its_url_names_and_the_url_follows(project_db: Path) -> None:
    loaded(project_db)
    at = page("review")
    at.query_params.update(split="train", record="3")
    at.run()
    assert not at.exception
    assert record_box(at, "train").startswith("train 3 ")
    next(b for b in at.button if b.label == "Next unreviewed").click().run()
    assert record_box(at, "train").startswith("train 4 ")
    assert at.query_params == {"split": "train", "record": "4"}
    at.query_params.update(record="3")  # the browser's back button
    at.run()
    assert record_box(at, "train").startswith("train 3 ")
    at.query_params.update(split="test", record="2")  # a link a teammate shared
    at.run()
    assert at.sidebar.selectbox(key="review_split").value == "test"
    assert record_box(at, "test").startswith("test 2 ")
    at.query_params.update(split="test", record="99")
    at.run()
    assert not at.exception
    assert at.warning[0].value == "There is no test record 99 in this list: showing test record 1."


def test_a_link_opens_its_record_even_when_the_filters_hide_it(project_db: Path) -> None:
    loaded(project_db)
    at = page("review").run()
    at.sidebar.multiselect(key="review_status").set_value([ReviewStatus.ACCEPTED]).run()
    at.query_params.update(split="train", record="5")
    at.run()
    assert record_box(at, "train").startswith("train 5 ")
    assert at.sidebar.multiselect(key="review_status").value == []


def test_review_opens_at_the_first_pending_record_and_next_skips_needs_fix(project_db: Path) -> None:
    store = loaded(project_db)
    for index, status in ((1, ReviewStatus.ACCEPTED), (2, ReviewStatus.NEEDS_FIX), (4, ReviewStatus.NEEDS_FIX)):
        record = store.get_record("train", index)
        store.set_status(record.id, status, record.version)
    at = page("review").run()
    assert record_box(at, "train").startswith("train 3 ")
    assert at.query_params == {"split": "train", "record": "3"}
    next(b for b in at.button if b.label == "Next unreviewed").click().run()
    assert record_box(at, "train").startswith("train 5 ")


def test_review_record_box_follows_the_split(project_db: Path) -> None:
    loaded(project_db)
    at = page("review").run()
    at.selectbox(key="review_record_train").set_value(4).run()
    at.sidebar.selectbox(key="review_split").set_value("test").run()
    assert not at.exception
    assert record_box(at, "test") == "test 1 · pending"
    assert not any(box.key == "review_record_train" for box in at.selectbox)
    assert at.query_params == {"split": "test", "record": "1"}
    at.sidebar.selectbox(key="review_split").set_value("train").run()
    assert record_box(at, "train").startswith("train 4 ")  # each split keeps its place


def test_data_histogram_bins_are_in_numeric_order(project_db: Path, write_json: Callable[..., Path]) -> None:
    from roleext.io import load_chat_file

    store = ProjectStore(project_db)
    chats = [{"chat_text": "王勇7：" + "好" * n, "infos": []} for n in (500, 2_500, 10_500)]
    store.import_chat_file(load_chat_file(write_json(chats, "test_data.json"), split="test"))
    at = page("data").run()
    assert not at.exception
    assert bars(at) == ["0-1999", "2000-3999", "4000-5999", "6000-7999", "8000-9999", "10000-11999"]


@pytest.mark.parametrize(("tab", "line"), [
    ("Dataset (train.json)", "train dataset: 10 rows from 10 records"),
    ("Chat messages JSONL", "chat messages JSONL: 10 rows from 10 records"),
    ("ShareGPT (LLaMA-Factory)", "ShareGPT JSON: 10 rows from 10 records"),
    ("Hugging Face folder", "Hugging Face dataset: 15 rows from 15 records (by split: train 10, test 5)"),
])
def test_export_page_offers_every_format_with_its_report(tab: str, line: str, project_db: Path) -> None:
    loaded(project_db)
    at = page("export")
    at.session_state["export_tab"] = tab
    at.run()
    assert not at.exception
    assert any(line in c.value for c in at.code)
    assert at.get("download_button")


def test_the_app_adds_what_an_import_left_to_the_search_index(project_db: Path) -> None:
    store = loaded(project_db, summarize=False)
    assert store.waiting_for_index() == 15  # imported, searchable by scanning, not yet indexed
    at = page("review").run()
    at.sidebar.text_input(key="review_search").input("13812345678").run()
    assert not at.exception
    deadline = time.monotonic() + 30
    while store.waiting_for_index() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert store.waiting_for_index() == 0
    assert [r.index for r in store.list_records("train") if r.id in store.search_records("13812345678")] == [1]
