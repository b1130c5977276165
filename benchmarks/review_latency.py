"""Review page speed in a real browser: first render, and "Next unreviewed" to idle.

Loads the 100 real records of ../shared/data/train.json (the sample where it is absent)
plus 55 test-like records, summarizes them offline, then measures in Chromium.
Targets (issue 4): next record under 500 ms median, first render under 2 s.

    .venv/bin/python benchmarks/review_latency.py [--clicks 30]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402

from roleext.backends import OfflineBackend  # noqa: E402
from roleext.io import load_chat_file  # noqa: E402
from roleext.jobs import Job, JobSpec  # noqa: E402
from roleext.sample import SAMPLE_TRAIN  # noqa: E402
from roleext.store import ProjectStore  # noqa: E402
from tests.browser import CHROMIUM, CHROMIUM_ARGS, IDLE, streamlit_server  # noqa: E402

SHARED = ROOT.parent / "shared" / "data" / "train.json"
RECORD_LABEL = """() => {
  const boxes = document.querySelectorAll('[data-testid="stSidebar"] [data-testid="stSelectbox"] input');
  return boxes.length ? boxes[boxes.length - 1].value : '';
}"""


def build_project(db: Path) -> str:
    source = SHARED if SHARED.exists() else SAMPLE_TRAIN
    store = ProjectStore(db)
    train = load_chat_file(source, split="train")
    store.import_chat_file(train)
    chats = [r.chat_text for r in train.records]
    test_like = [{"chat_text": chats[i % len(chats)] + f"\n测试{i}：你好", "infos": []} for i in range(55)]
    store.import_chat_file(load_chat_file(json.dumps(test_like, ensure_ascii=False).encode(), split="test"))
    for split in ("train", "test"):
        Job(store, OfflineBackend(), JobSpec("summarize", split)).run()  # type: ignore[arg-type]
    return f"{source.name}: {store.count('train')} train + {store.count('test')} test records"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clicks", type=int, default=30)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="roleext-latency-"))
    print(build_project(work / "latency.db"))
    with streamlit_server(work / "latency.db", work / "streamlit.log") as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1500, "height": 1000})
        page.goto(url)  # warm the server: imports and caches, as a user's first page would
        page.wait_for_function(IDLE, timeout=60_000)
        firsts = []
        for _ in range(5):
            start = time.perf_counter()
            page.goto(f"{url}/review")
            page.wait_for_function(IDLE, timeout=60_000)
            page.get_by_label("Summary (saved when you leave the box)").wait_for()
            page.wait_for_function(f"() => ({RECORD_LABEL})() !== ''")
            firsts.append(time.perf_counter() - start)
        clicks = []
        for _ in range(args.clicks):
            before = page.evaluate(RECORD_LABEL)
            start = time.perf_counter()
            page.get_by_role("button", name="Next unreviewed").click()
            page.wait_for_function(f"() => ({RECORD_LABEL})() !== {json.dumps(before)}", timeout=30_000)
            page.wait_for_function(IDLE, timeout=30_000)
            clicks.append(time.perf_counter() - start)
        browser.close()
    print(f"Review first render: median {statistics.median(firsts) * 1000:.0f} ms, "
          f"max {max(firsts) * 1000:.0f} ms over {len(firsts)} loads (target < 2000 ms)")
    print(f"next record to idle: median {statistics.median(clicks) * 1000:.0f} ms, "
          f"p90 {sorted(clicks)[int(len(clicks) * 0.9) - 1] * 1000:.0f} ms over {len(clicks)} clicks "
          "(target median < 500 ms)")


if __name__ == "__main__":
    main()
