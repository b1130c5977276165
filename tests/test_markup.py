"""Text users and models wrote is shown as text: never an image fetch, a link or a tag."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from roleext.io import load_chat_file
from roleext.markup import escape_markdown
from roleext.runs import RunBook
from roleext.schema import complete_customer
from roleext.store import ProjectStore

ROOT = Path(__file__).resolve().parents[1]
IMAGE = "![x](http://127.0.0.1:9/a.png)"
TAG = "<img src=x>"


def test_an_image_link_loses_its_markup() -> None:
    escaped = escape_markdown(IMAGE)
    assert escaped == r"\!\[x\]\(http\:\/\/127\.0\.0\.1\:9\/a\.png\)"
    assert "](" not in escaped and "![" not in escaped


def test_no_html_tag_survives() -> None:
    assert escape_markdown(TAG) == r"&lt;img src\=x\>"
    assert "<" not in escape_markdown("<script>alert(1)</script>")


def test_links_emphasis_and_streamlit_directives_are_escaped() -> None:
    assert escape_markdown("[site](https://a.b)") == r"\[site\]\(https\:\/\/a\.b\)"
    assert escape_markdown("**bold** _it_ `code`") == r"\*\*bold\*\* \_it\_ \`code\`"
    assert escape_markdown(":red[alarm] $x$") == r"\:red\[alarm\] \$x\$"


def test_chinese_text_and_full_width_punctuation_stay_as_they_are() -> None:
    assert escape_markdown("王勇7：你好（在吗）。") == "王勇7：你好（在吗）。"


# --- the pages ------------------------------------------------------------------------


@pytest.fixture
def hostile_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ProjectStore:
    """A project whose gold and model output hold an image link and an HTML tag."""
    db = tmp_path / "hostile.db"
    monkeypatch.setenv("ROLEEXT_DB", str(db))
    store = ProjectStore(db)
    gold = complete_customer({"基本信息-姓名": IMAGE, "基本信息-详细地址": TAG, "咨询类型": [IMAGE]})
    records = [{"chat_text": "王勇7：你好，想了解一下会话存档\n客服李娜3：好的", "infos": [gold]}]
    store.import_chat_file(load_chat_file(json.dumps(records, ensure_ascii=False).encode()))
    record = store.get_record("train", 1)
    store.save_summary(record.id, f"客户 {IMAGE} {TAG}", "offline", f"model {IMAGE}", "hash")
    store.save_prediction(record.id, json.dumps([gold], ensure_ascii=False), [gold], "openai", f"m {TAG}",
                          changes=[f"dropped {IMAGE}", f"kept {TAG}"],
                          run=RunBook(store).create("train", "openai", "m"))
    yield store
    store.close()


def rendered_markdown(at: AppTest) -> list[str]:
    """Every string the page hands Streamlit's Markdown renderer: bodies, labels, captions."""
    texts = [e.value for kind in ("markdown", "caption", "info", "warning", "error", "success",
                                   "subheader", "header", "title") for e in getattr(at, kind)]
    texts += [e.label for e in at.expander]
    texts += [w.label for kind in ("text_input", "text_area", "selectbox", "multiselect", "radio",
                                    "checkbox", "button", "number_input") for w in getattr(at, kind)]
    return [str(t) for t in texts]


def assert_nothing_renders(at: AppTest) -> None:
    assert not at.exception
    texts = rendered_markdown(at)
    assert texts
    for text in texts:
        assert IMAGE not in text and TAG not in text and "](" not in text, text


def component_data(at: AppTest, name: str) -> list[Any]:
    """The data each of our components named `name` was handed (pages.record_panes): text it shows as text."""
    return [json.loads(e.proto.json) for e in at.get("bidi_component") if e.proto.component_name == name]


def test_review_shows_hostile_gold_as_text(hostile_db: ProjectStore) -> None:
    at = AppTest.from_file(str(ROOT / "pages" / "review.py"), default_timeout=30).run()
    assert_nothing_renders(at)
    [customers] = component_data(at, "roleext_customers")  # drawn with text nodes only (pages/panes/customers.js)
    assert any(IMAGE in customer["title"] for customer in customers["customers"])
    assert any(escape_markdown(TAG) in m.value for m in at.markdown)  # the warning that it is not in the chat


def test_inference_shows_model_output_as_text(hostile_db: ProjectStore) -> None:
    at = AppTest.from_file(str(ROOT / "pages" / "inference.py"), default_timeout=30).run()
    at.radio[0].set_value("train").run()
    assert_nothing_renders(at)
    assert any(escape_markdown(f"dropped {IMAGE}") in m.value for m in at.markdown)


def test_data_page_shows_hostile_keys_and_lints_as_text(hostile_db: ProjectStore) -> None:
    at = AppTest.from_file(str(ROOT / "pages" / "data.py"), default_timeout=30).run()
    bad = json.dumps([{"chat_text": "王勇7：你好", "infos": [], IMAGE: 1, TAG: 2}]).encode()
    at.file_uploader[0].set_value(("x.json", bad, "application/json")).run()
    next(b for b in at.button if b.label == "Import").click().run()
    assert_nothing_renders(at)
    assert any(IMAGE in c.value for c in at.code)  # the key, shown verbatim in a code box
    gold = complete_customer({"基本信息-姓名": "王勇7", "咨询类型": [IMAGE]})
    good = json.dumps([{"chat_text": "王勇7：你好", "infos": [gold]}], ensure_ascii=False).encode()
    at.file_uploader[0].set_value((f"{IMAGE}.json", good, "application/json")).run()
    next(b for b in at.button if b.label == "Import").click().run()
    assert_nothing_renders(at)
    assert any(IMAGE in c.value for c in at.code)  # the lint, beside the preview
    next(b for b in at.button if b.label == "Confirm import").click().run()  # it replaces the gold
    assert_nothing_renders(at)
    assert at.success and any(IMAGE in c.value for c in at.code)  # and still, after the confirmation
