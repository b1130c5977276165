"""The evidence-preserving digest: a chat cut to a budget without losing the facts labels need.

An LLM summary keeps about two thirds of the gold values found verbatim in a chat
(CONTEXT.md); a model trained on such inputs learns to invent. The digest instead lists,
deterministically, every speaker, phone, e-mail, address-like message, amount, date and
known keyword, then as much of the cleaned chat as the budget allows. The facts block is
never cut.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from roleext.chat import Message, render, speaker_counts
from roleext.cleaning import ChatProfile, clean_chat
from roleext.schema import FIELDS

PLATFORM_ROW_CHARS = 8_000
OUTPUT_ROOM_CHARS = 1_000
"""Room kept for the answer (a customer's JSON is about 400 to 900 characters)."""
DEFAULT_BUDGET = PLATFORM_ROW_CHARS - OUTPUT_ROOM_CHARS

PHONE = re.compile(r"(?<!\d)1\d{2}[ -]?\d{4}[ -]?\d{4}(?!\d)")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PLACE = re.compile(r"[\u4e00-\u9fff]{1,8}(?:省|市|自治区|区|县)")
_STREET = re.compile(r"(?:路|街|道|号|楼|室|大厦|中心|广场|园区|栋|座)")
AMOUNT = re.compile(
    r"\d{1,3}(?:,\d{3})+(?:\.\d+)?"                      # 135,000.00
    r"|\d+(?:\.\d+)?\s*(?:万|千|元|块|w|W|k|K)(?:含税)?"   # 36万, 300元
    r"|\d{3,}(?:\.\d+)?\s*含税"                           # 32000含税
)
DATE = re.compile(
    r"\d{4}[/.-]\d{1,2}[/.-]\d{1,2}(?:\s*\d{1,2}:\d{2}(?::\d{2})?(?:\s*-\s*\d{1,2}:\d{2})?)?"
    r"|(?:今天|明天|后天|大后天|下周[一二三四五六日天]?|这周[一二三四五六日天]?|本周[一二三四五六日天]?"
    r"|周[一二三四五六日天]|下个?月|月底|月初)"
    r"(?:上午|下午|晚上|早上|中午|傍晚)?"
    r"(?:[\d一二三四五六七八九十两]{1,3}点(?:半|[\d一二三四五六七八九十]{1,3}分?)?|\d{1,2}[:：]\d{2})?"
)
KEYWORDS: tuple[str, ...] = tuple(dict.fromkeys(v for f in FIELDS for v in f.known if len(v) > 1))

MAX_FACT_ITEMS = 12
MAX_FACT_LINE = 160
FACTS_HEADER = "【事实摘录】"
CHAT_HEADER = "【对话（已清理）】"
GAP = "……（中间省略{n}条消息）……"


@dataclass(frozen=True)
class Digest:
    """The digest text and what it took to make it."""

    text: str
    facts: str
    chars_before: int
    chars_cleaned: int
    messages_dropped: int


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(item.strip() for item in items if item.strip()))


def _capped(items: list[str]) -> list[str]:
    kept = [item if len(item) <= MAX_FACT_LINE else item[:MAX_FACT_LINE] + "…" for item in items]
    return kept[:MAX_FACT_ITEMS]


def _place_lines(messages: Iterable[Message]) -> list[str]:
    """Messages (or their lines) that name a place: where addresses and regions live."""
    lines = []
    for message in messages:
        for line in message.text.splitlines():
            if _PLACE.search(line) and (_STREET.search(line) or len(line) <= 40):
                lines.append(line)
    return lines


def facts_block(messages: list[Message]) -> str:
    """The deterministic facts of a chat, one category a line, in a fixed order."""
    text = "\n".join(m.text for m in messages)
    counts = speaker_counts(messages)
    rows = [
        ("发言人", [f"{name}（{n}条）" for name, n in counts.most_common()]),
        ("手机号", _unique(PHONE.findall(text))),
        ("邮箱", _unique(EMAIL.findall(text))),
        ("地址线索", _unique(_place_lines(messages))),
        ("金额", _unique(AMOUNT.findall(text))),
        ("时间", _unique(DATE.findall(text))),
        ("关键词", [k for k in KEYWORDS if k in text]),
    ]
    lines = [FACTS_HEADER]
    for label, items in rows:
        if items:
            sep = "\n  " if label == "地址线索" else "、"
            lead = "\n  " if label == "地址线索" else ""
            lines.append(f"{label}：{lead}{sep.join(_capped(items))}")
    return "\n".join(lines)


def fit_messages(messages: list[Message], budget: int) -> tuple[str, int]:
    """The messages rendered within `budget` characters: head and tail kept, the middle cut."""
    full = render(messages)
    if len(full) <= budget:
        return full, 0
    head: list[Message] = []
    tail: list[Message] = []
    used = len(GAP.format(n=len(messages))) + 2
    lo, hi = 0, len(messages) - 1
    while lo <= hi:  # alternate ends so both the opening and the outcome survive
        take_head = len(head) <= len(tail)
        message = messages[lo] if take_head else messages[hi]
        size = len(render([message])) + 1
        if used + size > budget:
            break
        used += size
        if take_head:
            head.append(message)
            lo += 1
        else:
            tail.append(message)
            hi -= 1
    dropped = len(messages) - len(head) - len(tail)
    parts = [render(head), GAP.format(n=dropped), render(reversed(tail))]
    return "\n".join(p for p in parts if p), dropped


def make_digest(chat_text: str, budget: int = DEFAULT_BUDGET, profile: ChatProfile | None = None) -> Digest:
    """The facts block, then the cleaned chat (boilerplate too, given a profile) cut to the budget."""
    clean = clean_chat(chat_text, profile)
    messages = clean.messages
    facts = facts_block(clean.with_boilerplate)
    room = budget - len(facts) - len(CHAT_HEADER) - 2
    body, dropped = fit_messages(messages, max(room, 0))
    text = f"{facts}\n{CHAT_HEADER}\n{body}" if body else facts
    return Digest(text, facts, len(chat_text), len(render(messages)), dropped)
