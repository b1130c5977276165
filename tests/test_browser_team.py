"""Team mode in a real browser: Review's "my queue" opens the next record to label, Agreement lists
the disagreements. Skips where Chromium is absent, as tests/test_browser.py does."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from roleext.annotations import assignees, save_annotation
from roleext.assignments import assign
from roleext.sample import import_sample
from roleext.store import ProjectStore
from tests.browser import IDLE, streamlit_server
from tests.test_browser import record_box, shoot, until, visit  # skips this module where Chromium is absent
from tests.test_team import label_hand_fixture


def test_my_queue_opens_the_next_record_to_label(browser: Browser, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    store = ProjectStore(tmp_path / "team.db")
    import_sample(store)
    label_hand_fixture(store)  # records 1-5: labelled by a and b, three disagreements
    assign(store, "train", ["ann", "bob"], overlap=0.0, seed=5)  # records 6-10 only
    mine = [r for r in store.iter_records("train") if "ann" in assignees(store, r.id)]
    save_annotation(store, mine[0].id, "ann", mine[0].gold, 0, "ann")
    store.close()
    monkeypatch.setenv("ROLEEXT_USER", "ann")  # who works in this session (pages.identity)

    with streamlit_server(tmp_path / "team.db", tmp_path / "streamlit.log") as url:
        context = browser.new_context(locale="en-US", viewport={"width": 1500, "height": 1000})
        page = context.new_page()
        visit(page, f"{url}/review?split=train&record=1")
        sidebar = page.locator('[data-testid="stSidebar"]')
        expect(sidebar.get_by_text("My queue", exact=True)).to_be_visible(timeout=20_000)  # the heading, not the button
        progress = sidebar.get_by_test_id("stProgress").get_by_text(f"ann: 1 of {len(mine)} labelled")
        expect(progress).to_be_visible(timeout=20_000)
        target = f"split=train&record={mine[1].index}"

        def jumped() -> bool:
            """Click until the app takes it: a click landing while the page still reruns may be dropped."""
            if page.url.endswith("split=train&record=1"):
                sidebar.get_by_role("button", name="Next in my queue").click()
                page.wait_for_function(IDLE, timeout=30_000)
                page.wait_for_timeout(1000)
            return page.url.endswith(target)

        until(jumped, seconds=60)
        until(lambda: record_box(page).startswith(f"train {mine[1].index} "), seconds=30)
        shoot(page, "team-1-my-queue")

        visit(page, f"{url}/agreement")
        expect(page.get_by_text("3 of 3 unresolved", exact=False)).to_be_visible(timeout=20_000)  # one Save each:
        expect(page.get_by_role("button", name="Save", exact=True)).to_have_count(3, timeout=20_000)
        shoot(page, "team-2-agreement")
        context.close()
