"""The workflow in a real browser: upload, summarize, review, reload, export, infer, download.

Skips where Chromium is absent, unless ROLEEXT_REQUIRE_BROWSER is set (as .ci/run does),
where a missing browser is a failure. Screenshots of each page go to test-artifacts/.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from jsonschema import Draft202012Validator
from playwright.sync_api import Browser, Locator, Page, expect

from roleext.backends import OfflineBackend
from roleext.io import load_chat_file
from roleext.jobs import Job, JobSpec
from roleext.project import ReviewStatus
from roleext.sample import SAMPLE_TEST, SAMPLE_TRAIN, import_sample
from roleext.schema import FIELD_NAMES, SUBMISSION_SCHEMA, empty_customer
from roleext.store import ProjectStore
from tests.browser import IDLE, ROOT, skip_without_chromium, streamlit_server

skip_without_chromium()


ARTIFACTS = ROOT / "test-artifacts" / "screenshots"


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    work = tmp_path_factory.mktemp("browser")
    with streamlit_server(work / "browser.db", work / "streamlit.log") as url:
        yield url


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(locale="en-US", viewport={"width": 1500, "height": 1000}, accept_downloads=True)
    opened = context.new_page()
    yield opened
    context.close()


def visit(page: Page, url: str) -> None:
    page.goto(url)
    page.wait_for_function(IDLE, timeout=30_000)


def shoot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.wait_for_function(IDLE, timeout=30_000)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_the_whole_workflow_in_a_browser(app_url: str, page: Page, tmp_path: Path) -> None:
    visit(page, app_url)
    page.locator('input[type="file"]').set_input_files(str(SAMPLE_TRAIN))
    page.wait_for_function(IDLE)
    expect(page.get_by_text("No data yet")).to_be_visible()  # choosing a file imports nothing
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.get_by_text("train: 10 added")).to_be_visible(timeout=30_000)
    page.wait_for_function(IDLE)  # the rerun that empties the uploader (Streamlit lets go of the file) ends
    page.locator('input[type="file"]').set_input_files(str(SAMPLE_TEST))
    page.wait_for_function(IDLE)
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.get_by_text("test: 5 added")).to_be_visible(timeout=30_000)
    shoot(page, "1-data")

    visit(page, f"{app_url}/summarize")
    page.get_by_role("button", name="Start").click()
    expect(page.get_by_text("summarize train: 10/10 done")).to_be_visible(timeout=60_000)
    shoot(page, "2-summarize")
    page.get_by_text("test", exact=True).first.click()
    page.wait_for_function(IDLE)
    page.get_by_role("button", name="Start").click()
    expect(page.get_by_text("summarize test: 5/5 done")).to_be_visible(timeout=60_000)

    visit(page, f"{app_url}/review")
    summary = page.get_by_label("Summary (saved when you leave the box)")
    summary.fill("浏览器里审核过的摘要：李娜3询价会话存档")
    summary.press("Tab")
    page.wait_for_function(IDLE)
    page.get_by_role("button", name="Accept").click()
    page.wait_for_function(IDLE)
    shoot(page, "3-review")
    page.wait_for_url(lambda url: url.endswith("/review?split=train&record=2"))  # Accept moved on to the next record
    page.reload()
    page.wait_for_function(IDLE, timeout=30_000)
    expect(page.get_by_role("combobox", name="Record")).to_have_value("train 2 · 周军9 · pending")  # the URL kept it
    page.wait_for_function(IDLE, timeout=30_000)  # the run after the reload has finished, not just begun
    page.go_back()
    expect(page.get_by_role("combobox", name="Record")).to_have_value("train 1 · 李娜3 · accepted", timeout=30_000)
    page.wait_for_function(IDLE, timeout=30_000)
    expect(page.get_by_label("Summary (saved when you leave the box)")).to_have_value(
        "浏览器里审核过的摘要：李娜3询价会话存档", timeout=30_000)
    expect(page.get_by_text("accepted", exact=True)).to_be_visible()

    visit(page, f"{app_url}/export")
    expect(page.get_by_text("fine-tuning JSONL: 1500 rows from 10 records")).to_be_visible(timeout=30_000)
    shoot(page, "4-export")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download train.jsonl").click()
    rows = [json.loads(line) for line in Path(download.value.path()).read_text("utf-8").splitlines()]
    assert len(rows) == 1500
    assert rows[0]["input"] == "浏览器里审核过的摘要：李娜3询价会话存档"
    assert json.loads(rows[0]["output"])[0]["基本信息-姓名"] == "李娜3"

    visit(page, f"{app_url}/inference")
    page.get_by_role("button", name="Run inference").click()
    expect(page.get_by_text("infer test: 5/5 done")).to_be_visible(timeout=60_000)
    visit(page, f"{app_url}/inference")
    shoot(page, "5-inference")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download submit.json").click()
    submission = json.loads(Path(download.value.path()).read_text("utf-8"))
    Draft202012Validator(SUBMISSION_SCHEMA).validate(submission)
    assert [entry["index"] for entry in submission] == [1, 2, 3, 4, 5]

    visit(page, f"{app_url}/evaluate")
    shoot(page, "6-evaluate")


def asked(page: Page) -> list[str]:
    """The URLs the page asks for, from now on."""
    urls: list[str] = []
    page.on("request", lambda request: urls.append(request.url))
    return urls


def paths(urls: list[str]) -> list[str]:
    return [urlsplit(url).path for url in urls]


def test_a_bookmark_to_a_page_opens_it_inside_the_app(browser: Browser, tmp_path: Path) -> None:
    """On a fresh server the first request goes straight to /review, not through the root,
    and the page knows where the server is: it never looks for it at /review."""
    with streamlit_server(tmp_path / "fresh.db", tmp_path / "streamlit.log") as url:
        context = browser.new_context(locale="en-US", viewport={"width": 1500, "height": 1000})
        page = context.new_page()
        urls = asked(page)
        visit(page, f"{url}/review")
        expect(page.get_by_role("heading", name="Review")).to_be_visible(timeout=30_000)
        assert "/_stcore/health" in paths(urls)
        assert not [path for path in paths(urls) if path.startswith("/review/")]
        # Nothing from another host (the tab's icon was a Material Symbol from fonts.gstatic.com,
        # which an offline machine, or one in mainland China, cannot reach).
        assert {urlsplit(u).hostname for u in urls if not u.startswith(("data:", "blob:"))} == {"127.0.0.1"}
        navigation = page.locator('[data-testid="stSidebarNav"]')
        expect(navigation.get_by_text("Evaluate")).to_be_visible()
        links = navigation.get_by_role("link")  # each link's text is its icon's name, then its title
        expect(links).to_have_count(7)
        expect(links).to_contain_text(["Data", "Summarize", "Review", "Agreement", "Export", "Inference", "Evaluate"])
        # The modules the pages import live in pages/ too; none of them is a page of the app.
        pages = {"data", "summarize", "review", "agreement", "export", "inference", "evaluate"}
        modules = sorted(p.stem for p in (ROOT / "pages").glob("*.py") if p.stem not in pages)
        assert {"resources", "backend_form", "customers_editor", "unsaved_edits"} <= set(modules)
        for module in modules:
            expect(navigation.get_by_text(module.replace("_", " "), exact=False)).to_have_count(0)
            expect(navigation.get_by_text(module, exact=False)).to_have_count(0)
        context.close()


def test_an_app_served_under_a_base_path_finds_its_server_at_once(browser: Browser, tmp_path: Path) -> None:
    """`server.baseUrlPath` (or a proxy's prefix): a page's address is the base plus the page."""
    with streamlit_server(tmp_path / "based.db", tmp_path / "streamlit.log", base_url_path="team/roleext") as url:
        assert url.endswith("/team/roleext")
        context = browser.new_context(locale="en-US", viewport={"width": 1500, "height": 1000})
        page = context.new_page()
        urls = asked(page)
        visit(page, f"{url}/review?split=train")
        expect(page.get_by_role("heading", name="Review")).to_be_visible(timeout=30_000)
        page.get_by_test_id("stSidebarNav").get_by_role("link", name="Data").click()
        expect(page).to_have_url(f"{url}/")  # Data is the default page
        page.get_by_role("button", name="Load sample data").click()  # the websocket works: it ran
        expect(page.get_by_text("train: 10 added")).to_be_visible(timeout=30_000)
        assert "/team/roleext/_stcore/health" in paths(urls)
        assert not [path for path in paths(urls) if path.startswith("/team/roleext/review/")]
        context.close()


def until(check: Callable[[], bool], seconds: float = 20) -> None:
    """Wait for the app to have written what `check` looks for: a key press may take two runs.

    It sleeps, and Playwright's sync API takes in the browser's events only inside its own
    calls: a check of `page.url` alone would never see the address change (`page.wait_for_url`
    does); checks that ask the page (`record_box`) or the store are fine.
    """
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "the app did not save in time"
        time.sleep(0.1)


def test_a_shortcut_pressed_while_typing_saves_the_text_first(browser: Browser, tmp_path: Path) -> None:
    """Alt+A / Alt+F with the cursor still in a box: what was typed is saved, then the status.
    A reload with text still in a box asks before it is lost."""
    store = ProjectStore(tmp_path / "typing.db")
    import_sample(store)
    Job(store, OfflineBackend(), JobSpec("summarize", "train")).run()
    typed = "只在框里打的字，没有离开就按了 Alt+A"
    with streamlit_server(tmp_path / "typing.db", tmp_path / "streamlit.log") as url:
        context = browser.new_context(locale="en-US", viewport={"width": 1500, "height": 1000})
        page = context.new_page()
        visit(page, f"{url}/review")
        summary = page.get_by_label("Summary (saved when you leave the box)")
        summary.fill(typed)
        summary.press("Alt+a")  # the cursor never left the box
        until(lambda: store.get_record("train", 1).status == ReviewStatus.ACCEPTED)
        saved = store.get_record("train", 1)
        assert saved.summary is not None and saved.summary.current == typed

        page.wait_for_function(IDLE, timeout=30_000)  # the run that saved has drawn record 2
        expect(page.get_by_text("Customer 1: 周军9")).to_be_visible()
        edit_customer(page, "Customer 1: 周军9")
        email = page.get_by_label("基本信息-邮箱")
        expect(email).to_have_count(1)  # record 1's boxes are gone
        email.fill("typed@example.com")
        email.press("Alt+f")
        until(lambda: store.get_record("train", 2).status == ReviewStatus.NEEDS_FIX)
        assert store.get_record("train", 2).gold[0]["基本信息-邮箱"] == "typed@example.com"
        expect(page.get_by_text("needs-fix", exact=True)).to_be_visible()

        # Typed but not yet sent (the cursor is still in the box): leaving the page asks first.
        leaving: list[str] = []
        page.on("dialog", lambda dialog: (leaving.append(dialog.type), dialog.accept()))
        page.get_by_label("Summary (saved when you leave the box)").click()
        page.keyboard.press("End")
        page.keyboard.type("，还没有离开这个框")
        expect(page.get_by_test_id("InputInstructions")).to_have_count(1)  # "Press Ctrl+Enter to apply"
        page.reload()
        assert leaving == ["beforeunload"]
        page.wait_for_function(IDLE, timeout=30_000)
        page.reload()  # nothing typed: no question
        page.wait_for_function(IDLE, timeout=30_000)
        page.get_by_label("Summary (saved when you leave the box)").click()  # focused, nothing typed
        page.reload()
        page.wait_for_function(IDLE, timeout=30_000)
        assert leaving == ["beforeunload"]
        context.close()
    store.close()


def edit_customer(page: Page, title: str) -> Locator:
    """Switch the gold customers from their read-only tables to their boxes, and open one's (returned)."""
    expect(page.locator(".roleext-customers").get_by_text(title, exact=True)).to_be_visible(timeout=30_000)
    page.wait_for_function(IDLE, timeout=30_000)
    page.get_by_text("Edit", exact=True).click()
    page.wait_for_function(IDLE, timeout=30_000)
    customer = page.locator('[data-testid="stExpander"]').filter(has_text=title)
    if customer.locator("details").get_attribute("open") is None:  # several customers open folded
        customer.locator("summary").click()
    expect(customer.get_by_label("基本信息-姓名")).to_be_visible(timeout=30_000)
    return customer


def record_box(page: Page) -> str:
    """What the Record box above the record shows."""
    return page.get_by_role("combobox", name="Record").input_value()


def test_records_have_addresses_and_evaluate_opens_them(browser: Browser, tmp_path: Path) -> None:
    """?split=&record= opens a record, navigating updates it, Back goes back; Evaluate rows open Review."""
    store = ProjectStore(tmp_path / "nav.db")
    import_sample(store)
    Job(store, OfflineBackend(), JobSpec("summarize", "train")).run()
    Job(store, OfflineBackend(), JobSpec("infer", "train")).run()
    with streamlit_server(tmp_path / "nav.db", tmp_path / "streamlit.log") as url:
        context = browser.new_context(locale="en-US", viewport={"width": 1500, "height": 1000})
        page = context.new_page()
        visit(page, f"{url}/review?split=train&record=3")
        until(lambda: "train 3" in record_box(page))
        page.get_by_role("button", name="Next unreviewed").click()
        page.wait_for_function(IDLE)
        until(lambda: "train 4" in record_box(page) and page.url.endswith("record=4"))
        page.go_back()
        until(lambda: "train 3" in record_box(page) and page.url.endswith("split=train&record=3"))

        page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').filter(has_text="Split").click()
        page.get_by_role("option", name="test").click()
        page.wait_for_function(IDLE)
        until(lambda: "test 1" in record_box(page))  # never "train 3" under the test split
        page.wait_for_url(lambda url: url.endswith("split=test&record=1"))  # the address follows the box
        assert "train" not in record_box(page)

        visit(page, f"{url}/evaluate")
        labels = page.locator('[data-testid="stVegaLiteChart"] svg text')
        expect(labels.filter(has_text=FIELD_NAMES[-1])).to_have_count(1)
        labels = labels.all_text_contents()
        assert [t for t in labels if t in FIELD_NAMES] == list(FIELD_NAMES)  # whole names, schema order
        mistakes = page.locator('[data-testid="stDataFrame"]').last
        mistakes.scroll_into_view_if_needed()
        page.wait_for_timeout(500)  # the grid draws its canvas after the element appears

        def click_first_mistake() -> bool:
            box = mistakes.bounding_box()
            if "/review" not in page.url and box is not None:
                page.mouse.click(box["x"] + 18, box["y"] + 35 * 1.5)  # the first row's selection box
                page.wait_for_timeout(500)
            return "/review" in page.url

        until(click_first_mistake)
        page.wait_for_url(lambda url: url.endswith("split=train&record=1"))  # from test 1
        until(lambda: record_box(page).startswith("train 1 "))
        page.wait_for_function(IDLE, timeout=30_000)
        expect(page.get_by_text("Show the prediction beside the gold")).to_be_visible()
        expect(page.get_by_text("wrong field", exact=False).first).to_be_visible()
        shoot(page, "7-review-from-evaluate")


def test_settings_stay_and_a_finished_job_refreshes_its_page(browser: Browser, tmp_path: Path) -> None:
    """Summarize → Data → Summarize keeps what was set; an inference job that ends redraws the
    estimate, the Start button and the download, whose file is built when clicked."""
    store = ProjectStore(tmp_path / "current.db")
    import_sample(store)
    Job(store, OfflineBackend(), JobSpec("summarize", "test")).run()
    with streamlit_server(tmp_path / "current.db", tmp_path / "streamlit.log") as url:
        context = browser.new_context(locale="en-US", viewport={"width": 1500, "height": 1000}, accept_downloads=True)
        page = context.new_page()
        navigation = page.locator('[data-testid="stSidebarNav"]')
        visit(page, f"{url}/summarize")
        page.get_by_role("combobox", name="Backend").click()
        page.get_by_role("option", name="iFlytek Spark").click()
        page.wait_for_function(IDLE)
        page.get_by_label("URL (blank: from the model)").fill("wss://spark-api.xf-yun.com/v3.5/chat")
        page.get_by_label("Resource id (patch_id) of a fine-tuned model").fill("patch-9")
        page.get_by_label("Concurrent calls").fill("7")
        page.get_by_label("Concurrent calls").press("Tab")
        page.wait_for_function(IDLE)
        navigation.get_by_role("link", name="Data").click()
        expect(page.get_by_role("heading", name="Data")).to_be_visible(timeout=30_000)
        page.wait_for_function(IDLE)
        navigation.get_by_role("link", name="Summarize").click()
        expect(page.get_by_role("heading", name="Summarize")).to_be_visible(timeout=30_000)
        page.wait_for_function(IDLE)
        expect(page.get_by_label("URL (blank: from the model)")).to_have_value(
            "wss://spark-api.xf-yun.com/v3.5/chat")
        expect(page.get_by_label("Resource id (patch_id) of a fine-tuned model")).to_have_value("patch-9")
        expect(page.get_by_label("Concurrent calls")).to_have_value("7")

        navigation.get_by_role("link", name="Inference").click()
        expect(page.get_by_role("heading", name="Inference")).to_be_visible(timeout=30_000)
        page.wait_for_function(IDLE)
        expect(page.get_by_role("button", name="Download submit.json (0 predicted, 5 empty templates)")
               ).to_be_visible()
        page.get_by_role("button", name="Run inference").click()
        expect(page.get_by_text("infer test: 5/5 done")).to_be_visible(timeout=60_000)
        # no click since: the page redrew itself when the job ended, showing the run it made
        expect(page.get_by_text("from run 1 · submission")).to_be_visible(timeout=10_000)
        expect(page.get_by_role("button", name="Run inference")).to_be_enabled()  # a new run is always one click
        button = page.get_by_role("button", name="Download submit.json (5 predicted, 0 empty templates)")
        expect(button).to_be_visible()
        expect(page.get_by_text("infer test: 5/5 done")).to_contain_text("· finished")  # the job's last word
        line = page.get_by_text("infer test: 5/5 done").inner_text()
        time.sleep(2.5)
        assert page.get_by_text("infer test: 5/5 done").inner_text() == line  # the clock stopped
        shoot(page, "current-inference")
        with page.expect_download() as download:
            button.click()
        submission = json.loads(Path(download.value.path()).read_text("utf-8"))
        assert all(entry["infos"][0]["基本信息-姓名"] for entry in submission)
        context.close()
    store.close()


SWITCHED_CHOICES = """() => {
  const radios = [...document.querySelectorAll('[data-testid="stRadio"]')];
  const chosen = (name) => radios.find((r) => r.innerText.split('\\n')[0] === name)
    ?.querySelectorAll('input:checked').length === 1;
  const box = (label) => document.querySelector(`[data-testid="stSelectbox"] input[aria-label="${label}"]`)?.value;
  return chosen('Run over') && chosen('The model reads') && box('Backend') === 'Offline (built in, no key)'
    && /^run \\d+ · .* records$/.test(box('Run shown')) && /^test 1 · .* · pending$/.test(box('Inspect record'));
}"""


def test_a_chinese_browser_gets_every_page_in_chinese_and_the_switch_keeps_english(browser: Browser,
                                                                                 tmp_path: Path) -> None:
    """navigator.language zh-CN opens the app in Chinese; 中文 / English in the sidebar switches it
    for the session, pages visited through the menu included. Screenshots of every page in Chinese."""
    store = ProjectStore(tmp_path / "zh.db")
    import_sample(store)
    for kind in ("summarize", "infer"):
        for split in ("train", "test"):
            Job(store, OfflineBackend(), JobSpec(kind, split)).run()
    store.close()
    titles = {"data": "数据", "summarize": "摘要", "review": "审核", "agreement": "一致性", "export": "导出",
              "inference": "推理", "evaluate": "评估"}
    with streamlit_server(tmp_path / "zh.db", tmp_path / "streamlit.log") as url:
        context = browser.new_context(locale="zh-CN", viewport={"width": 1500, "height": 1000})
        page = context.new_page()
        for position, (path, title) in enumerate(titles.items(), start=1):
            visit(page, f"{url}/{path}" if path != "data" else url)
            expect(page.get_by_role("heading", name=title, exact=True)).to_be_visible(timeout=30_000)
            expect(page.get_by_role("alert").filter(has_text="Traceback")).to_have_count(0)
            shoot(page, f"zh-{position}-{path}")
        page.get_by_role("link", name="推理").click()
        expect(page.get_by_role("heading", name="推理", exact=True)).to_be_visible(timeout=30_000)
        page.get_by_text("English", exact=True).click()
        expect(page.get_by_role("heading", name="Inference", exact=True)).to_be_visible(timeout=30_000)
        # The choices show what stays chosen, in the new words: Streamlit 1.67 showed a radio none
        # chosen, and a select box its old label, until the next click (pages.session_settings.kept).
        page.wait_for_function(SWITCHED_CHOICES, timeout=30_000)
        page.get_by_role("link", name="Review").click()  # the menu keeps the session, and its language
        expect(page.get_by_role("heading", name="Review", exact=True)).to_be_visible(timeout=30_000)
        page.get_by_text("中文", exact=True).click()
        expect(page.get_by_role("heading", name="审核", exact=True)).to_be_visible(timeout=30_000)
        page.get_by_role("link", name="数据").click()
        expect(page.get_by_role("heading", name="数据", exact=True)).to_be_visible(timeout=30_000)
        page.get_by_text("English", exact=True).click()
        expect(page.get_by_role("heading", name="Data", exact=True)).to_be_visible(timeout=30_000)
        split = page.get_by_role("radiogroup", name="Split").first  # the upload's, on "guess from the content"
        expect(split.get_by_role("radio", name="guess from the content")).to_be_checked()
        context.close()


CHOICES = """(field) => {
  const group = [...document.querySelectorAll('[data-testid="stButtonGroup"]')]
    .find((g) => g.innerText.split('\\n')[0] === field);
  return group && {
    chosen: [...group.querySelectorAll('button[data-selected]')].map((b) => b.innerText.trim()),
    cut: [group, ...group.querySelectorAll('*')].filter((e) => e.scrollWidth > e.clientWidth)
      .map((e) => e.innerText.trim())};
}"""


def chosen(page: Page, field: str) -> list[str]:
    """The values a closed field shows as chosen, checked first to be readable in full: no choice
    cut, none hidden past the edge of a row that scrolls."""
    page.wait_for_function(f"(field) => ({CHOICES})(field) !== undefined", arg=field)  # drawn, not a placeholder
    shown = page.evaluate(CHOICES, field)
    assert not shown["cut"], f"{field}: cut {shown['cut']}"
    return list(shown["chosen"])


def test_gold_choices_are_whole_and_the_boxes_follow_the_record(browser: Browser, tmp_path: Path) -> None:
    """Three long values in a list field are all shown whole; Next shows the next record's gold in
    the same boxes; a visit to another page and back shows the stored gold again, never empty boxes."""
    store = ProjectStore(tmp_path / "choices.db")
    import_sample(store)
    Job(store, OfflineBackend(), JobSpec("summarize", "train")).run()
    record = store.get_record("train", 1)
    many = dict(record.gold[0], 购买异议点=["客户内部问题", "产品功能", "一个很长的自定义异议点：预算要等下季度审批"],
                咨询类型=["答疑", "询价", "吐槽"])
    store.update_gold(record.id, [many], record.version)
    with streamlit_server(tmp_path / "choices.db", tmp_path / "streamlit.log") as url:
        context = browser.new_context(locale="en-US", viewport={"width": 1500, "height": 1000})
        page = context.new_page()
        visit(page, f"{url}/review?split=train&record=1")
        expect(page.get_by_text("Customer 1: 李娜3")).to_be_visible()
        table = page.locator(".roleext-customers")
        long_value = "一个很长的自定义异议点：预算要等下季度审批"
        expect(table.get_by_role("cell", name=long_value, exact=False)).to_be_visible()  # read, whole
        expect(page.get_by_label("基本信息-姓名")).to_have_count(0)  # read-only until Edit
        edit_customer(page, "Customer 1: 李娜3")
        assert chosen(page, "购买异议点") == ["产品功能", "客户内部问题", "一个很长的自定义异议点：预算要等下季度审批"]
        assert chosen(page, "咨询类型") == ["答疑", "询价", "吐槽"]
        assert chosen(page, "客户购买阶段") == ["报价"]
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.locator('[data-testid="stExpander"]').filter(has_text="Customer 1: 李娜3").screenshot(
            path=str(ARTIFACTS / "review-choices.png"))

        page.get_by_role("button", name="Next unreviewed").click()
        page.wait_for_function(IDLE)
        until(lambda: "train 2" in record_box(page))
        page.wait_for_function(IDLE, timeout=30_000)
        expect(page.get_by_label("基本信息-姓名")).to_have_count(0)  # the next record opens read-only
        edit_customer(page, "Customer 1: 周军9")
        expect(page.get_by_label("基本信息-姓名")).to_have_value("周军9")
        expect(page.get_by_label("基本信息-手机号码")).to_have_value("")  # record 1's number is gone
        assert chosen(page, "购买异议点") == [] and chosen(page, "客户是否有卡点") == ["无卡点"]

        page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name="Data").click()
        expect(page.get_by_role("heading", name="Data")).to_be_visible(timeout=30_000)
        page.wait_for_function(IDLE)
        page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name="Review").click()
        page.wait_for_function(IDLE, timeout=30_000)
        edit_customer(page, "Customer 1: 周军9")
        expect(page.get_by_label("基本信息-姓名")).to_have_value("周军9", timeout=30_000)
        assert chosen(page, "咨询类型") == ["答疑"]
        page.get_by_label("基本信息-邮箱").fill("zhou@example.com")
        page.get_by_label("基本信息-邮箱").press("Tab")
        until(lambda: store.get_record("train", 2).gold[0]["基本信息-邮箱"] == "zhou@example.com")
        assert store.get_record("train", 2).gold[0]["基本信息-姓名"] == "周军9"  # nothing else changed
        assert store.get_record("train", 2).gold[0]["咨询类型"] == ["答疑"]
        context.close()
    store.close()


def test_the_chat_and_the_gold_show_markup_as_text_and_the_next_chat_opens_at_its_top(browser: Browser,
                                                                                      tmp_path: Path) -> None:
    """A chat and a gold value holding markup show it as text and run nothing; gold values are
    marked in the chat; the next record's chat opens scrolled to its top."""
    hostile = '<img src=x onerror="window.roleextPwned=1"><b>粗体</b>'
    long_chat = "\n".join(f"王勇7：第{i}条消息，电话13812345678" for i in range(200))
    first = dict(empty_customer(), **{"基本信息-姓名": "李娜3", "基本信息-地区": hostile})
    second = dict(empty_customer(), **{"基本信息-姓名": "赵强2"})
    records = [{"chat_text": f"王勇7：你好 {hostile}\n李娜3：我是李娜3\n" + long_chat, "infos": [first]},
               {"chat_text": "赵强2：第二个对话\n" + long_chat, "infos": [second]}]
    store = ProjectStore(tmp_path / "markup.db")
    store.import_chat_file(load_chat_file(json.dumps(records, ensure_ascii=False).encode(), split="train"))
    Job(store, OfflineBackend(), JobSpec("summarize", "train")).run()
    with streamlit_server(tmp_path / "markup.db", tmp_path / "streamlit.log") as url:
        context = browser.new_context(locale="en-US", viewport={"width": 1500, "height": 1000})
        page = context.new_page()
        visit(page, f"{url}/review?split=train&record=1")
        chat = page.get_by_role("region", name="Chat")
        expect(chat).to_contain_text(f"你好 {hostile}")  # the markup, as text
        expect(chat.locator("mark").filter(has_text="李娜3").first).to_be_visible()  # the gold name, marked
        expect(page.get_by_role("cell", name=hostile)).to_be_visible()  # in the customer's table too
        assert page.locator("img[src=x], b").count() == 0
        assert page.evaluate("() => window.roleextPwned") is None

        chat.evaluate("(pane) => { pane.scrollTop = pane.scrollHeight; }")
        until(lambda: chat.evaluate("(pane) => pane.scrollTop") > 0)
        page.get_by_role("button", name="Next unreviewed").click()
        until(lambda: "train 2" in record_box(page))
        expect(chat).to_contain_text("第二个对话")
        assert chat.evaluate("(pane) => pane.scrollTop") == 0
        context.close()
    store.close()
