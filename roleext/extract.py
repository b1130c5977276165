"""The offline extractor: 21 fields from a chat by rules, an empty value rather than a guess.

Under the metric a wrong value costs what an empty one earns, and most gold fields are
empty, so each rule fills a field only on strong evidence: the customer is the most active
speaker who is not vendor staff; a phone or e-mail only when the customer wrote exactly one;
the switchable rules of `roleext.rules`; everything else is the prior (答疑, 无卡点), which
beats any weak guess.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

from roleext.chat import Message, parse_messages, self_introduced_staff, speaker_counts, squash, strip_markup
from roleext.digest import EMAIL, PHONE
from roleext.rules import Evidence, Value, enabled_rules, pseudonym_of, vendor_addressed
from roleext.schema import NAME_FIELD, Customer, prior_customer


@dataclass(frozen=True)
class Firing:
    """A rule that decided a value: for a speaker rule, the name it led to."""

    rule: str
    field: str
    value: Value


@dataclass(frozen=True)
class Extraction:
    customers: list[Customer]
    firings: list[Firing] = field(default_factory=list)


def choose_customer(messages: list[Message], staff: Iterable[str] = (),
                    speaker_rules: Collection[str] = ("staff_addressed_as_vendor", "pseudonym_customer")) -> str:
    """The customer's speaker name as written in the chat, or '' when nobody but staff speaks.

    The most active speaker who is not staff; `speaker_rules` (names from `roleext.rules`)
    widen who counts as staff and prefer pseudonym-shaped speakers when there are any.
    """
    known_staff = set(staff) | self_introduced_staff(messages)
    if "staff_addressed_as_vendor" in speaker_rules:
        known_staff |= vendor_addressed(messages)
    candidates = [speaker for speaker, _ in speaker_counts(messages).most_common() if speaker not in known_staff]
    if "pseudonym_customer" in speaker_rules:
        shaped = [speaker for speaker in candidates if pseudonym_of(speaker) not in ("", *known_staff)]
        candidates = shaped or candidates  # a chat without pseudonyms keeps its most active speaker
    return candidates[0] if candidates else ""


def customer_name(speaker: str, speaker_rules: Collection[str]) -> str:
    """The name a customer dict holds: the pseudonym without its prefix when that rule is on."""
    return ("pseudonym_customer" in speaker_rules and pseudonym_of(speaker)) or speaker


def guess_customer(messages: list[Message], staff: Iterable[str] = ()) -> str:
    """The customer's speaker name with every speaker rule on."""
    return choose_customer(messages, staff)


def _single(values: list[str]) -> str:
    unique = list(dict.fromkeys(squash(v) for v in values))
    return unique[0] if len(unique) == 1 else ""


def extract_with_trace(chat_text: str, staff: Iterable[str] = (), disabled: Iterable[str] = ()) -> Extraction:
    """The customers, and which rule decided which value (for the per-rule report)."""
    messages = parse_messages(strip_markup(chat_text))  # a pasted link's markup copies other speakers
    staff = frozenset(staff)
    rules = enabled_rules(disabled)
    speaker_rules = {rule.name for rule in rules if rule.kind == "speaker"}
    speaker = choose_customer(messages, staff, speaker_rules)
    name = customer_name(speaker, speaker_rules)
    firings = []
    for speaker_rule in sorted(speaker_rules):  # it fires where the name would differ without it
        others = speaker_rules - {speaker_rule}
        if customer_name(choose_customer(messages, staff, others), others) != name:
            firings.append(Firing(speaker_rule, NAME_FIELD, name))

    customer = prior_customer()
    customer[NAME_FIELD] = name
    evidence = Evidence(messages, staff, speaker)
    own_text = evidence.customer_text
    customer["基本信息-手机号码"] = _single(PHONE.findall(own_text))
    customer["基本信息-邮箱"] = _single(EMAIL.findall(own_text))
    decided: set[str] = set()
    for rule in rules:
        if rule.fill is None or rule.field in decided:
            continue
        value = rule.fill(evidence)
        if value is not None:
            customer[rule.field] = value
            decided.add(rule.field)
            firings.append(Firing(rule.name, rule.field, value))
    return Extraction([customer], firings)


def extract_customers(chat_text: str, staff: Iterable[str] = (), disabled: Iterable[str] = ()) -> list[Customer]:
    """One customer dict (the chats mostly hold one), filled only where evidence is strong.

    `staff` are speakers known to be the vendor's (see `cleaning.learn_profile`); `disabled`
    names rules of `roleext.rules` to leave out (a project's setting, or `--disable-rule`).
    """
    return extract_with_trace(chat_text, staff, disabled).customers

