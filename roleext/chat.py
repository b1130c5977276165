"""Reading a chat transcript: messages, speakers, and the noise that carries no facts.

A transcript is one message a line, `Speaker：text` with a full-width colon; lines that do
not start so continue the previous message (multi-line messages and quotes).
"""

from __future__ import annotations

import html
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

# A speaker is a short run without spaces or quote marks before the full-width colon.
_SPEAKER_LINE = re.compile(r'^([^\s：:"“「」]{1,24})：(.*)$')
# Placeholders and emoji codes: [图片], [链接], [撤回消息], [抱拳], [OK] ...
PLACEHOLDER = re.compile(r"\[[\u4e00-\u9fffA-Za-z]{1,8}\]")
_QUOTE_REPLY = re.compile(r'这是一条引用/回复消息：\s*["“](.*?)["”]\s*-{3,}\s*', re.S)
_QUOTE_CORNER = re.compile(r"「([^」]*)」\s*(?:-\s*){3,}", re.S)
_QUOTED_SPEAKER = re.compile(r"^\s*[^\s：:]{1,24}[：:]\s*")
_VENDOR_INTRO = re.compile(r"^我是.{0,12}(?:企微管家|巨石蓝海)")

_NAME = r"[A-Za-z_:][A-Za-z0-9_:.-]*"
# Some exports double every quote; a value is bounded so a hostile chat cannot make us rescan it.
_VALUE = r"""(?:""(?:[^"]|""){0,50000}""|"[^"]{0,50000}"|'[^']{0,50000}')"""
_ORPHAN_ATTRIBUTES = re.compile(rf'"*\s+data-[\w-]+={_VALUE}(?:\s+{_NAME}={_VALUE})*\s*>?')
"""The inside of a pasted link whose `<a href="` was lost: `url" data-sheet-href='...' style="..." >`.
Its values copy whole stretches of chat, with other speakers' pseudonyms, over many lines."""
_HTML_TAG = re.compile(
    rf"""</?(?:a|abbr|b|blockquote|br|code|div|em|font|h[1-6]|hr|i|img|li|ol|p|pre|s|span|strong|sub|sup|"""
    rf"""table|tbody|td|th|thead|tr|u|ul)(?:\s+{_NAME}(?:\s*=\s*(?:{_VALUE}|[^\s"'>]+))?)*\s*/?>""",
    re.IGNORECASE)
_LINE_BREAKING_TAG = re.compile(r"</?(?:br|p|div|li|tr|h[1-6]|blockquote|pre|hr)\b", re.IGNORECASE)
_ENTITY = re.compile(r"&(?:nbsp|amp|lt|gt|quot|apos|#\d{1,7}|#[xX][0-9a-fA-F]{1,6});")


def strip_markup(chat_text: str) -> str:
    """The chat without HTML that rode along with pasted links: tags, attribute runs, entities.

    Only known HTML tag names count as tags, so `<2024-01-01 16:46:49>` in an alert stays.
    """
    if "=" not in chat_text and "<" not in chat_text and "&" not in chat_text:
        return chat_text
    text = _ORPHAN_ATTRIBUTES.sub("\n", chat_text)
    text = _HTML_TAG.sub(lambda m: "\n" if _LINE_BREAKING_TAG.match(m.group(0)) else "", text)
    return _ENTITY.sub(lambda m: " " if m.group(0) == "&nbsp;" else html.unescape(m.group(0)), text)


@dataclass(frozen=True)
class Message:
    speaker: str
    text: str


def parse_messages(chat_text: str) -> list[Message]:
    """Messages in order; continuation lines join the message they follow."""
    messages: list[Message] = []
    speaker, lines = "", list[str]()  # text before the first speaker line belongs to nobody
    for line in chat_text.splitlines():
        match = _SPEAKER_LINE.match(line)
        if match:
            if speaker or lines:
                messages.append(Message(speaker, "\n".join(lines)))
            speaker, lines = match.group(1), [match.group(2)]
        else:
            lines.append(line)
    if speaker or lines:
        messages.append(Message(speaker, "\n".join(lines)))
    return messages


def _strip(text: str) -> str:
    text = PLACEHOLDER.sub("", text)
    return "\n".join(line.rstrip() for line in text.splitlines() if line.strip())


def clean_text(text: str, seen: set[str] | frozenset[str] = frozenset()) -> str:
    """A message without placeholders, and without quotes that copy a message in `seen`.

    A quote whose text is not an earlier message (a file name, a message from before the
    transcript) may be the only place a fact appears, so it stays, marked as a quote.
    """

    def quote(match: re.Match[str]) -> str:
        quoted = _strip(_QUOTED_SPEAKER.sub("", match.group(1)))
        squashed = squash(quoted)
        if not squashed or any(squashed in s for s in seen):
            return ""
        return f"「引用：{quoted}」\n"

    text = _QUOTE_REPLY.sub(quote, text)
    text = _QUOTE_CORNER.sub(quote, text)
    return _strip(text)


def clean_messages(messages: Iterable[Message]) -> list[Message]:
    """Messages that still say something once placeholders and repeated quotes are gone."""
    cleaned = []
    seen: set[str] = set()
    for message in messages:
        text = clean_text(message.text, seen)
        if text.strip():
            cleaned.append(Message(message.speaker, text))
            seen.add(squash(text))
    return cleaned


def squash(text: str) -> str:
    """The text without whitespace: how values are compared with chats and summaries, and
    how a quote is recognised as a copy (a phone written `195 0010 7878` is the same fact)."""
    return "".join(text.split())


def render(messages: Iterable[Message]) -> str:
    return "\n".join(f"{m.speaker}：{m.text}" if m.speaker else m.text for m in messages)


def speaker_counts(messages: Iterable[Message]) -> Counter[str]:
    return Counter(m.speaker for m in messages if m.speaker)


def self_introduced_staff(messages: Iterable[Message]) -> set[str]:
    """Speakers who introduce themselves as the vendor's staff (我是巨石蓝海企微管家的…)."""
    return {m.speaker for m in messages if m.speaker and _VENDOR_INTRO.match(m.text)}

