"""A chat as HTML for review: speakers told apart, placeholders muted, gold values marked.

Everything from the chat is escaped before any markup is added, so a transcript can never
inject HTML into the page. The browser lays out only the messages in view
(`content-visibility: auto`): a 30,000-character chat took 100 ms to draw on every "Next"
in full, 12 ms so.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable

from roleext.chat import PLACEHOLDER, parse_messages

SPEAKER_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22")
STYLE = """<style>
.roleext-chat {font-size: 0.92rem; line-height: 1.5;}
.roleext-chat .msg {margin: 0 0 .35rem 0; white-space: pre-wrap; content-visibility: auto;
  contain-intrinsic-size: auto 1.5em;}
.roleext-chat .who {font-weight: 600;}
.roleext-chat .ph {color: #9a9a9a; font-size: .8rem;}
.roleext-chat mark {background: #fff3a0; padding: 0 .1rem;}
</style>"""


def _highlighter(values: list[str]) -> Callable[[str], str]:
    """Marks the values in escaped text; one pattern a chat (compiled once, not once a message)."""
    if not values:
        return lambda escaped: escaped
    pattern = re.compile("|".join(re.escape(v) for v in sorted(values, key=len, reverse=True)))
    return lambda escaped: pattern.sub(lambda m: f"<mark>{m.group(0)}</mark>", escaped)


def chat_html(chat_text: str, highlight: Iterable[str] = ()) -> str:
    """The whole chat as one HTML block; `highlight` values are marked where they occur."""
    highlighted = _highlighter([html.escape(v) for v in dict.fromkeys(v.strip() for v in highlight) if len(v) >= 2])
    parts = [STYLE, '<div class="roleext-chat">']
    colours: dict[str, str] = {}  # by first appearance, so the speakers of one chat always differ
    for message in parse_messages(chat_text):
        body = highlighted(html.escape(message.text))
        body = PLACEHOLDER.sub(lambda m: f'<span class="ph">{m.group(0)}</span>', body)
        who = ""
        if message.speaker:
            colour = colours.setdefault(message.speaker, SPEAKER_COLOURS[len(colours) % len(SPEAKER_COLOURS)])
            who = f'<span class="who" style="color:{colour}">{html.escape(message.speaker)}</span>：'
        parts.append(f'<div class="msg">{who}{body}</div>')
    parts.append("</div>")
    return "\n".join(parts)
