"""The offline extractor's rules: each a named, documented, switchable piece of evidence.

Under the metric a wrong value costs what an empty one earns and most gold fields are empty,
so a rule fills a field only where its evidence was precise on records it was not designed
on. Two kinds:

- speaker rules decide who the customer is (and so whose messages the value rules read);
- value rules fill one field from the customer's own messages; per field, the first rule
  that fires wins, everything else keeps the prior (`schema.prior_customer`).

How they were designed: on half of the 100 labelled records (a seeded shuffle, see
`benchmarks/extraction_kfold.py`), then measured on the other half and k-fold; a rule that
helped only where it was designed was left out (product names, 赢单/续费, 卡点: see README).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

from roleext.chat import Message
from roleext.i18n import N_

RuleKind = Literal["speaker", "value"]
Value = str | list[str]

PSEUDONYM = re.compile(r"^[\u4e00-\u9fff]{2,4}\d$")
"""How the data set's speaker pseudonyms look: surname + given name + one digit (王勇7)."""
_PREFIX_SEPARATOR = re.compile(r"[-－—_]")
_VENDOR_MENTION = re.compile(r"@([^\s@：:（()）]{2,24}?)[\s\u2005\u00a0]*[（(]?\s*巨石蓝海")
"""`@吴洋7 巨石蓝海·企微管家`, `@郑杰1（巨石蓝海 企微管家）`: how a chat addresses the vendor's staff."""

PRICE_WORDS = re.compile(r"多少钱|价格|报价|收费|价钱|单价")
"""Words of a customer asking what something costs. Left out: 钱 (零钱, 钱款), 费用 (快递费用,
申请费用), 优惠 (优惠券): on the design records they were about other things as often as not."""


@dataclass(frozen=True)
class Evidence:
    """What the value rules read: the chat's messages and the customer chosen by the speaker rules."""

    messages: list[Message]
    staff: frozenset[str]
    customer: str
    """The customer's speaker name as written in the chat ('' when only staff speak)."""

    @property
    def customer_text(self) -> str:
        """Everything the customer wrote, one message a line; staff announcements are not in it."""
        return "\n".join(m.text for m in self.messages if self.customer and m.speaker == self.customer)


@dataclass(frozen=True)
class Rule:
    """One switchable rule: the field it fills, with what, and why it is trusted.

    `fills` and `why` are English, marked for the catalog: shown with `i18n.translate`."""

    name: str
    field: str
    kind: RuleKind
    fills: str
    why: str
    fill: Callable[[Evidence], Value | None] | None = None
    """For a value rule: the value, or None when the rule does not fire."""


def pseudonym_of(speaker: str) -> str:
    """The pseudonym inside a decorated speaker name (`光良×湖南小瓶-钱杰8` -> `钱杰8`), else ''."""
    if PSEUDONYM.match(speaker):
        return speaker
    tail = _PREFIX_SEPARATOR.split(speaker)[-1]
    return tail if PSEUDONYM.match(tail) else ""


def vendor_addressed(messages: Iterable[Message]) -> set[str]:
    """Speakers the chat @-mentions with the vendor's name after them: staff, however rarely they
    appear across the project's chats."""
    named: set[str] = set()
    for message in messages:
        named.update(_VENDOR_MENTION.findall(message.text))
    return named


def _asks_price(evidence: Evidence) -> Value | None:
    return ["答疑", "询价"] if PRICE_WORDS.search(evidence.customer_text) else None


def _price_means_interest(evidence: Evidence) -> Value | None:
    return "有意向" if PRICE_WORDS.search(evidence.customer_text) else None


RULES: tuple[Rule, ...] = (
    Rule("staff_addressed_as_vendor", "基本信息-姓名", "speaker",
         N_("does not pick a speaker whom the chat @-mentions as 巨石蓝海 staff"),
         N_("staff who appear in too few chats to be learnt as staff are still addressed with the "
            "vendor's name (@吴洋7 巨石蓝海·企微管家); without this the most active of them wins")),
    Rule("pseudonym_customer", "基本信息-姓名", "speaker",
         N_("picks only speakers shaped like the pseudonyms (a name then a digit), prefix cut off"),
         N_("gold names are pseudonyms without remarks (钱杰8 for the speaker 光良×湖南小瓶-钱杰8); "
            "a group bot or an account named for a campaign is never the customer")),
    Rule("price_question", "咨询类型", "value", "[答疑, 询价]",
         N_("the customer asked about price in their own words (多少钱, 价格, 报价, 收费, 价钱, 单价); "
            "staff quoting prices does not count"), _asks_price),
    Rule("price_interest", "客户是否有意向", "value", "有意向",
         N_("a customer who asks about price is weighing a purchase; gold marks most of them 有意向"),
         _price_means_interest),
)
RULES_BY_NAME: dict[str, Rule] = {rule.name: rule for rule in RULES}
RULE_NAMES: tuple[str, ...] = tuple(RULES_BY_NAME)


def unknown_rules(names: Iterable[str]) -> list[str]:
    """The names among `names` that are not rules (a typo on the command line, an old setting)."""
    return [name for name in names if name not in RULES_BY_NAME]


def enabled_rules(disabled: Iterable[str] = ()) -> tuple[Rule, ...]:
    """Every rule except the disabled ones, in the order they apply."""
    off = set(disabled)
    return tuple(rule for rule in RULES if rule.name not in off)
