"""Text that users or models wrote, made safe to show where Streamlit renders Markdown.

Chat, gold values, key names of an uploaded file and model output are data, never markup:
a gold value `![x](http://host/a.png)` would otherwise make every viewer's browser fetch
that URL. Every page passes such text through `escape_markdown` (labels and captions too).
"""

from __future__ import annotations

import re

_SIGNIFICANT = re.compile(r"([!-/:-@\[-`{-~])")
"""Every ASCII punctuation character: CommonMark lets a backslash escape each of them, and
Streamlit adds its own (`:red[...]`, `:material/icon:`, `$math$`) on top of Markdown's."""


def escape_markdown(text: str) -> str:
    """`text` shown literally by st.markdown and friends: ASCII punctuation backslash-escaped.

    `<` becomes `&lt;` so no HTML tag can render even where HTML is allowed; CJK text and
    full-width punctuation are left as they are. Line breaks are kept.
    """
    return _SIGNIFICANT.sub(lambda m: "&lt;" if m.group(1) == "<" else "\\" + m.group(1), text)

