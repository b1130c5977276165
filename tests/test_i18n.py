"""roleext speaks Chinese and English: every message has its translation, the app switches,
and the core's messages (file problems, job lines, reports) follow the app's session or the
terminal's locale.

Messages are extracted from app.py, pages/ and roleext/ the way `make i18n` extracts them
(Babel's Python extractor, keywords `_`, `ngettext` and `N_`); the zh catalog must translate
each one, and the committed .mo must be the compiled .po.
"""

from __future__ import annotations

import ast
import io
import string
import tomllib
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_file
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from streamlit.testing.v1 import AppTest

from pages.language import LANGUAGE_KEY
from roleext.i18n import DOMAIN, LANGUAGES, LOCALE_DIR, language_of, translator

ROOT = Path(__file__).resolve().parents[1]
APP_FILES = [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py")), *sorted((ROOT / "roleext").rglob("*.py"))]
CATALOGS = [LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po" for language in LANGUAGES if language != "en"]
KEYWORDS = {"_": None, "ngettext": (1, 2), "N_": None}


def app_messages() -> dict[str | tuple[str, ...], str]:
    """Every message the app's and the core's files pass to `_`, `ngettext` or `N_`, with where it is."""
    found: dict[str | tuple[str, ...], str] = {}
    for path in APP_FILES:
        for line, message, _comments, _context in extract_from_file("python", str(path), keywords=KEYWORDS):
            found.setdefault(message, f"{path.relative_to(ROOT)}:{line}")
    return found


def catalog(path: Path) -> Catalog:
    with path.open("rb") as po:
        return read_po(po)


def placeholders(text: str) -> set[str]:
    return {name for _literal, name, _spec, _conversion in string.Formatter().parse(text) if name is not None}


@pytest.fixture(autouse=True)
def project_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    db = tmp_path / "app.db"
    monkeypatch.setenv("ROLEEXT_DB", str(db))
    return db


def test_the_app_and_the_core_have_messages_to_translate() -> None:
    messages = app_messages()
    assert "Data" in messages and ("{n} warning", "{n} warnings") in messages
    assert messages["is {kind} ({value}), expected {expected}"].startswith("roleext/io.py")
    assert messages["no prediction: empty template written"].startswith("roleext/exports.py")  # an N_ key


@pytest.mark.parametrize("po", CATALOGS, ids=lambda path: path.parts[-3])
def test_every_app_message_has_a_translation(po: Path) -> None:
    translations = catalog(po)
    missing = []
    for message, where in app_messages().items():
        entry = translations.get(message)
        strings = [] if entry is None else [entry.string] if isinstance(entry.string, str) else list(entry.string or ())
        if entry is None or entry.fuzzy or not strings or not all(strings):
            missing.append(f"{where}: {message!r}")
    assert not missing, f"untranslated in {po.relative_to(ROOT)} (run `make i18n`, then translate):\n" + "\n".join(
        missing)


def test_messages_are_literal_strings() -> None:
    """`_(f"...")` or `_(name)` would never match the catalog: values go in named placeholders."""
    wrong = []
    for path in APP_FILES:
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in KEYWORDS:
                texts = node.args[:2] if node.func.id == "ngettext" else node.args[:1]
                if not all(isinstance(a, ast.Constant) and isinstance(a.value, str) for a in texts):
                    wrong.append(f"{path.relative_to(ROOT)}:{node.lineno}: {ast.unparse(node)}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("po", CATALOGS, ids=lambda path: path.parts[-3])
def test_translations_keep_every_placeholder(po: Path) -> None:
    wrong = []
    for entry in catalog(po):
        if not entry.id:
            continue
        ids = [entry.id] if isinstance(entry.id, str) else list(entry.id)
        strings = [entry.string] if isinstance(entry.string, str) else list(entry.string or ())
        expected = set().union(*(placeholders(i) for i in ids))
        wrong += [f"{entry.id!r}: {s!r}" for s in strings if s and placeholders(s) != expected]
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("po", CATALOGS, ids=lambda path: path.parts[-3])
def test_the_mo_file_is_the_compiled_po(po: Path) -> None:
    compiled = io.BytesIO()
    write_mo(compiled, catalog(po))
    assert po.with_suffix(".mo").read_bytes() == compiled.getvalue(), "run `make i18n` to compile the catalog"


def test_the_catalogs_ship_with_the_package() -> None:
    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["tool"]["setuptools"]["package-data"]
    patterns = package_data["roleext"]
    for po in CATALOGS:
        for path in (po, po.with_suffix(".mo")):
            assert any(path.relative_to(ROOT / "roleext").match(pattern) for pattern in patterns), path


def test_translators_speak_each_language() -> None:
    assert translator("en").gettext("Data") == "Data"
    assert translator("zh").gettext("Data") == "数据"
    assert translator("zh").ngettext("{n} warning", "{n} warnings", 3).format(n=3) == "3 条警告"
    assert translator("en").ngettext("History ({n} edit)", "History ({n} edits)", 1).format(n=1) == "History (1 edit)"


def test_the_score_delta_starts_with_its_sign_in_every_language() -> None:
    """st.metric draws a green up arrow unless the delta's text starts with "-"."""
    for language in LANGUAGES:
        assert translator(language).gettext("{delta:+.4f} vs prior").format(delta=-0.5).startswith("-0.5000")


@pytest.mark.parametrize(("locale", "language"), [
    ("zh-CN", "zh"), ("zh-TW", "zh"), ("zh_Hans_CN", "zh"), ("ZH", "zh"), ("en-US", "en"), ("fr-FR", "en"),
    ("", "en"), (None, "en")])
def test_a_browser_locale_picks_the_language(locale: str | None, language: str) -> None:
    assert language_of(locale) == language


def app(locale: str | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30)
    at.context["locale"] = locale
    return at.run()


def test_a_chinese_browser_gets_the_chinese_app() -> None:
    at = app("zh-CN")
    assert not at.exception
    assert at.title[0].value == "数据"
    assert at.sidebar.segmented_control(key=LANGUAGE_KEY).value == "zh"
    assert at.button[0].label in ("导入", "加载示例数据")


def test_an_english_or_unknown_browser_gets_the_english_app() -> None:
    for locale in ("en-GB", "de-DE", None):
        at = app(locale)
        assert at.title[0].value == "Data"
        assert at.sidebar.segmented_control(key=LANGUAGE_KEY).value == "en"


def test_the_sidebar_switch_changes_the_language_and_keeps_what_was_set() -> None:
    at = app("en-US")
    at.radio(key="data_split").set_value("test").run()
    # What clicking 中文 does: the switch's key takes the value. (AppTest drops the entry script's
    # sidebar from its tree after the first run when a pages/ folder exists, so it is set by key.)
    at.session_state[LANGUAGE_KEY] = "zh"
    at.run()
    assert not at.exception
    assert at.title[0].value == "数据"
    assert at.radio(key="data_split").value == "test"  # widget keys do not depend on the language
    at.session_state[LANGUAGE_KEY] = "en"
    at.run()
    assert at.title[0].value == "Data"
    assert at.radio(key="data_split").value == "test"


@pytest.mark.parametrize("page", ["summarize", "review", "export", "inference", "evaluate"])
def test_every_page_title_is_chinese_in_the_chinese_app(page: str) -> None:
    at = AppTest.from_file(str(ROOT / "pages" / f"{page}.py"), default_timeout=30)
    at.session_state[LANGUAGE_KEY] = "zh"
    at.run()
    assert not at.exception
    title = at.title[0].value
    assert title and all("\u4e00" <= ch <= "\u9fff" for ch in title), title
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in info.value) for info in at.info)
