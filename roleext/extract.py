"""The offline extractor: 21 fields from a chat by rules, an empty value rather than a guess.

Under the metric a wrong value costs what an empty one earns, and most gold fields are
empty, so each rule fills a field only on strong evidence: the customer is the most active
speaker who is not vendor staff; a phone or e-mail only when the customer wrote exactly one;
everything else is the prior (答疑, 无卡点), which beats any weak guess.
"""

from __future__ import annotations

from collections.abc import Iterable

from roleext.chat import Message, parse_messages, self_introduced_staff, speaker_counts, squash, strip_markup
from roleext.digest import EMAIL, PHONE
from roleext.schema import NAME_FIELD, Customer, prior_customer


def guess_customer(messages: list[Message], staff: Iterable[str] = ()) -> str:
    """The customer's speaker name, or '' when nobody but staff speaks."""
    known_staff = set(staff) | self_introduced_staff(messages)
    counts = speaker_counts(messages)
    for speaker, _ in counts.most_common():
        if speaker not in known_staff:
            return speaker
    return ""


def _single(values: list[str]) -> str:
    unique = list(dict.fromkeys(squash(v) for v in values))
    return unique[0] if len(unique) == 1 else ""


def extract_customers(chat_text: str, staff: Iterable[str] = ()) -> list[Customer]:
    """One customer dict (the chats mostly hold one), filled only where evidence is strong.

    `staff` are speakers known to be the vendor's (see `cleaning.learn_profile`).
    """
    messages = parse_messages(strip_markup(chat_text))  # a pasted link's markup copies other speakers
    customer = prior_customer()
    name = guess_customer(messages, staff)
    customer[NAME_FIELD] = name
    own_text = "\n".join(m.text for m in messages if m.speaker == name) if name else ""
    customer["基本信息-手机号码"] = _single(PHONE.findall(own_text))
    customer["基本信息-邮箱"] = _single(EMAIL.findall(own_text))
    return [customer]
