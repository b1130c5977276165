"""Team mode in a real browser: an annotator signs in, sees only the pages their role may use,
and what they edit is in history under their name.

Skips where Chromium is absent, unless ROLEEXT_REQUIRE_BROWSER is set (as .ci/run does).
"""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Browser, Page, expect

from roleext.assignments import assign
from roleext.backends import OfflineBackend
from roleext.jobs import Job, JobSpec
from roleext.sample import import_sample
from roleext.store import ProjectStore
from roleext.users import UserBook
from tests.browser import IDLE, skip_without_chromium, streamlit_server
from tests.test_browser import ARTIFACTS, edit_customer, until

skip_without_chromium()



def sign_in(page: Page, name: str, password: str) -> None:
    page.get_by_role("textbox", name="Name", exact=True).fill(name)
    page.get_by_role("textbox", name="Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_function(IDLE, timeout=30_000)


def test_an_annotator_signs_in_sees_their_pages_and_history_names_them(browser: Browser, tmp_path: Path) -> None:
    store = ProjectStore(tmp_path / "team.db")
    import_sample(store)
    Job(store, OfflineBackend(), JobSpec("summarize", "train")).run()
    UserBook(store).add("ann", "annotator", "ann's long password")
    assign(store, "train", ["ann"], overlap=0.0)  # an annotator edits the records assigned to them
    with streamlit_server(tmp_path / "team.db", tmp_path / "streamlit.log") as url:
        context = browser.new_context(locale="en-US", viewport={"width": 1500, "height": 1000})
        page = context.new_page()
        page.goto(f"{url}/review?split=train&record=3")  # a bookmark, opened before signing in
        page.wait_for_function(IDLE, timeout=30_000)
        expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
        expect(page.locator('[data-testid="stSidebarNav"]')).to_have_count(0)  # no page before the sign-in
        sign_in(page, "ann", "not it")
        expect(page.get_by_text("Wrong name or password")).to_be_visible()
        sign_in(page, "ann", "ann's long password")

        expect(page.get_by_role("heading", name="Review")).to_be_visible(timeout=30_000)
        expect(page.get_by_role("combobox", name="Record")).to_have_value(re.compile(r"^train 3 · 钱芳6"),
                                                                           timeout=30_000)  # the bookmark, kept
        expect(page.get_by_text("Signed in as ann · annotator")).to_be_visible()
        links = page.locator('[data-testid="stSidebarNav"]').get_by_role("link")
        expect(links).to_have_count(2)
        expect(links).to_contain_text(["Review", "Evaluate"])
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "team-annotator.png"), full_page=True)

        # The summary is shared by the record's annotators: ann edits her own labels only.
        expect(page.get_by_label("Summary (saved when you leave the box)")).to_be_disabled()
        expect(page.get_by_role("heading", name="Your labels")).to_be_visible()
        email = edit_customer(page, "Customer 1: 钱芳6").get_by_label("基本信息-邮箱")
        email.fill("ann@example.com")
        email.press("Tab")
        record = store.get_record("train", 3)
        until(lambda: bool(store.history_of(record.id)))
        assert [entry.author for entry in store.history_of(record.id)] == ["ann"]
        page.wait_for_function(IDLE, timeout=30_000)
        page.get_by_text("History (1 edit)").click()  # the record's history says who
        cells = page.locator('[role="gridcell"]')  # the grid's accessible copy of its canvas
        until(lambda: "ann" in cells.all_inner_texts())
        assert "edit of ann's labels" in cells.all_inner_texts()

        page.get_by_role("button", name="Sign out").click()
        page.wait_for_function(IDLE, timeout=30_000)
        expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
        context.close()
    store.close()
