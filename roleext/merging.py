"""Merging what several chunks of one chat produced: customers, and four-part summaries."""

from __future__ import annotations

import re

from roleext.schema import FIELDS, NAME_FIELD, Customer, empty_customer

SUMMARY_PARTS = ("客户基本信息", "客户意向与预算信息", "客户购买准备情况", "跟进计划信息")
# An explicit positive beats its negative: one chunk saying 有卡点 outweighs others' 无卡点.
POSITIVE_WINS = {"客户是否有卡点": "有卡点", "客户是否有意向": "有意向"}
_HEADING = re.compile(r"^[#>*\s\d.、-]*(" + "|".join(SUMMARY_PARTS) + r")[*\s]*[:：]?[*\s]*(.*)$")


def merge_into(target: Customer, other: Customer) -> None:
    """Fold `other` into `target`: lists unioned in first-seen order, first non-empty string kept."""
    for spec in FIELDS:
        mine, theirs = target.get(spec.name, spec.empty()), other.get(spec.name, spec.empty())
        if spec.kind == "list":
            target[spec.name] = list(dict.fromkeys([*mine, *theirs]))
            continue
        first_value = not mine and bool(theirs)
        explicit_positive = theirs == POSITIVE_WINS.get(spec.name)
        if first_value or explicit_positive:
            target[spec.name] = theirs


def merge_customers(per_chunk: list[list[Customer]], collapse: bool = False) -> list[Customer]:
    """Customers of all chunks merged by name (unnamed ones together), in first-seen order.

    With `collapse`, everything merges into one customer, named after the first name seen.
    """
    merged: dict[str, Customer] = {}
    for customers in per_chunk:
        for customer in customers:
            key = "" if collapse else str(customer.get(NAME_FIELD, ""))
            if key not in merged:
                merged[key] = empty_customer()
            merge_into(merged[key], customer)
    return list(merged.values())


def merge_summaries(parts: list[str]) -> str:
    """Chunk summaries concatenated under the four headings, in chunk order."""
    sections: dict[str, list[str]] = {part: [] for part in ("", *SUMMARY_PARTS)}
    for text in parts:
        heading = ""
        for line in text.splitlines():
            match = _HEADING.match(line)
            if match:
                heading = match.group(1)
                line = match.group(2)
            if line.strip():
                sections[heading].append(line.rstrip())
    out = []
    for heading, lines in sections.items():
        if lines:
            out.append(f"{heading}：\n" + "\n".join(lines) if heading else "\n".join(lines))
    return "\n\n".join(out)
