"""A chat as data for the review pane: speakers told apart, placeholders muted, gold values marked.

The page builds the pane from this data with text nodes only (`pages/panes/chat.js`), never
from an HTML string: a transcript can hold any markup and none of it is ever parsed. It
also spared the browser the sanitizer that `st.html` runs on every "Next" (about 30 ms of
a 30,000-character chat).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Literal, TypedDict

from roleext.chat import PLACEHOLDER, parse_messages

SPEAKER_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22")

Kind = Literal["text", "mark", "ph"]
"""A run of a message: plain text, a gold value (marked) or a placeholder such as [图片] (muted)."""


class ChatLine(TypedDict):
    """One message of the pane; `who` is None for text before the first speaker line."""

    who: str | None
    colour: str | None
    parts: list[tuple[Kind, str]]


def _splitter(values: list[str]) -> re.Pattern[str]:
    """Placeholders and gold values in one pattern a chat (compiled once, not once a message);
    a placeholder wins where both match, the longest value where values overlap."""
    marked = "|".join(re.escape(v) for v in sorted(values, key=len, reverse=True))
    return re.compile(f"(?P<ph>{PLACEHOLDER.pattern})" + (f"|(?P<mark>{marked})" if marked else ""))


def _parts(text: str, splitter: re.Pattern[str]) -> list[tuple[Kind, str]]:
    parts: list[tuple[Kind, str]] = []
    at = 0
    for match in splitter.finditer(text):
        if match.start() > at:
            parts.append(("text", text[at:match.start()]))
        parts.append(("ph" if match.lastgroup == "ph" else "mark", match.group(0)))
        at = match.end()
    if at < len(text):
        parts.append(("text", text[at:]))
    return parts


def chat_view(chat_text: str, highlight: Iterable[str] = ()) -> list[ChatLine]:
    """The chat's messages in order, `highlight` values marked where they occur (two characters
    or more: a one-character value would mark half the chat)."""
    splitter = _splitter([v for v in dict.fromkeys(v.strip() for v in highlight) if len(v) >= 2])
    colours: dict[str, str] = {}  # by first appearance, so the speakers of one chat always differ
    lines: list[ChatLine] = []
    for message in parse_messages(chat_text):
        colour = None
        if message.speaker:
            colour = colours.setdefault(message.speaker, SPEAKER_COLOURS[len(colours) % len(SPEAKER_COLOURS)])
        lines.append(ChatLine(who=message.speaker or None, colour=colour, parts=_parts(message.text, splitter)))
    return lines
