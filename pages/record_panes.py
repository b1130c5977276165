"""Read-only parts of Review drawn by components of our own (Streamlit's custom components v2).

Streamlit's own elements cost the browser more than they show here: `st.html` runs a
sanitizer over the whole chat on every "Next", and each element is a React subtree redrawn on
every run. A v2 component is one element, in the page itself (no iframe), that keeps its DOM
between runs and is handed plain data. Their styles are not isolated (no shadow root): every
class they use starts with `roleext-`, and the page's tests and benchmarks read them as any
other part of the page.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import streamlit as st

from roleext.chatview import ChatLine

_ASSETS = Path(__file__).with_name("panes")


def _component(name: str, html: str) -> Callable[..., Any]:
    """The component `roleext_<name>`: `html` as its root, pages/panes/<name>.css and .js."""
    return st.components.v2.component(
        f"roleext_{name}", html=html, css=(_ASSETS / f"{name}.css").read_text(encoding="utf-8"),
        js=(_ASSETS / f"{name}.js").read_text(encoding="utf-8"), isolate_styles=False)


_chat = _component("chat", '<div class="roleext-chat" role="region"></div>')


def chat_pane(record: str, lines: list[ChatLine], label: str) -> None:
    """The chat in a box 640 px high, scrolled to its top when `record` changes; `label` names
    the box for a screen reader (a region, not a live log read out on every Next)."""
    shown = hashlib.blake2b(json.dumps(lines, ensure_ascii=False).encode(), digest_size=12).hexdigest()
    _chat(data={"record": record, "shown": shown, "lines": lines, "label": label}, key="review_chat_pane")


_customers = _component("customers", '<div class="roleext-customers"></div>')


def customers_tables(customers: list[tuple[str, list[tuple[str, str]]]], none: str, key: str) -> None:
    """Each customer's title and fields, two a row: one element for every customer of a record,
    where expanders, switches and tables were three or more elements each. `none` is what
    shows when there is no customer."""
    _customers(data={"customers": [{"title": title, "cells": cells} for title, cells in customers], "none": none},
               key=key)
