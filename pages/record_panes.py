"""Read-only parts of Review drawn by components of our own (Streamlit's custom components v2).

Streamlit's own elements cost the browser more than they show here: `st.html` runs a
sanitizer over the whole chat on every "Next", and each element is a React subtree redrawn on
every run. A v2 component is one element, in the page itself (no iframe), that keeps its DOM
between runs and is handed plain data.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import streamlit as st

from roleext.chatview import ChatLine

_ASSETS = Path(__file__).with_name("panes")

_chat = st.components.v2.component(
    "roleext_chat", html='<div class="roleext-chat" role="log"></div>',
    css=(_ASSETS / "chat.css").read_text(encoding="utf-8"), js=(_ASSETS / "chat.js").read_text(encoding="utf-8"))


def chat_pane(record: str, lines: list[ChatLine]) -> None:
    """The chat in a box 640 px high, scrolled to its top when `record` changes."""
    shown = hashlib.blake2b(json.dumps(lines, ensure_ascii=False).encode(), digest_size=12).hexdigest()
    _chat(data={"record": record, "shown": shown, "lines": lines}, key="review_chat_pane")


_customer = st.components.v2.component(
    "roleext_customer", html='<table class="roleext-customer"></table>',
    css=(_ASSETS / "customer.css").read_text(encoding="utf-8"),
    js=(_ASSETS / "customer.js").read_text(encoding="utf-8"))


def customer_table(cells: list[tuple[str, str]], key: str) -> None:
    """A customer's fields read at a glance, two a row: one element instead of 21 widgets."""
    _customer(data={"cells": cells}, key=key)
