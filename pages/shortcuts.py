"""Alt+letter shortcuts that save the text being typed before they act."""

from __future__ import annotations

import json

import streamlit as st


def commit_typing_on_shortcuts(shortcuts: list[str]) -> None:
    """Make Alt+letter button shortcuts commit the text box the cursor is in before they fire.

    Streamlit sends a text box's value only when it loses focus (or on Ctrl+Enter), and a
    button's shortcut does not move the focus, so Alt+A pressed while typing accepted the
    record and dropped the text. This script, our own constant text with no user data,
    blurs the box first in the capture phase: the value then travels with the click.
    """
    codes = [f"Key{shortcut.split('+')[-1].upper()}" for shortcut in shortcuts]
    st.html(f"""<script>
(() => {{
  const codes = new Set({json.dumps(codes)});
  if (window.roleextShortcutCodes) {{ codes.forEach((c) => window.roleextShortcutCodes.add(c)); return; }}
  window.roleextShortcutCodes = codes;
  window.addEventListener("keydown", (event) => {{
    const box = document.activeElement;
    if (event.altKey && !event.ctrlKey && !event.metaKey && window.roleextShortcutCodes.has(event.code)
        && box && (box.tagName === "TEXTAREA" || box.tagName === "INPUT")) {{
      box.blur();
    }}
  }}, true);
}})();
</script>""", unsafe_allow_javascript=True)
