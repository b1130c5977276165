"""Whether a text supports a gold value: the review warnings and the digest's survival figure.

A fine-tuning row whose output holds a value its input does not teaches the model to
invent; flagging such values is how a reviewer catches it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from roleext.chat import squash
from roleext.schema import FIELDS, Customer


@dataclass(frozen=True)
class GoldValue:
    customer: int
    field: str
    value: str


def gold_values(customers: Iterable[Customer]) -> Iterator[GoldValue]:
    """Every non-empty gold value, list items one by one; customers numbered from 1."""
    for number, customer in enumerate(customers, start=1):
        for spec in FIELDS:
            value = customer.get(spec.name)
            items = value if isinstance(value, list) else [value]
            for item in items:
                if isinstance(item, str) and item.strip():
                    yield GoldValue(number, spec.name, item.strip())


def unsupported(customers: Iterable[Customer], text: str, chat: str | None = None) -> list[GoldValue]:
    """Gold values absent from `text`; with `chat`, only those the chat holds verbatim.

    Whitespace is ignored on both sides: a phone written `195 0010 7878` is the same fact.
    """
    haystack = squash(text)
    source = squash(chat) if chat is not None else None
    return [
        v for v in gold_values(customers)
        if (source is None or squash(v.value) in source) and squash(v.value) not in haystack
    ]
