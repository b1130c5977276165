"""Lints: known label noise in gold customers, flagged for review but never rejected.

The public gold data holds values outside the closed sets, phones with spaces or two
numbers, and names with a remark in brackets; a user should see them, not lose them.
"""

from __future__ import annotations

import re

from roleext.errors import Problem
from roleext.i18n import _
from roleext.schema import FIELDS, Customer

PHONE_FIELD = "基本信息-手机号码"
_PHONE = re.compile(r"1\d{10}")
_BRACKETED = re.compile(r"[（(【\[].*?[）)】\]]")


def lint_customer(customer: Customer, record: int | None = None,
                  number: int | None = None) -> list[Problem]:
    """Label-noise lints of one valid customer dict, located by record and customer."""
    lints: list[Problem] = []

    def flag(field: str, message: str) -> None:
        lints.append(Problem(message, record, field, number, severity="lint"))

    for spec in FIELDS:
        value = customer.get(spec.name)
        if spec.closed:
            values = value if isinstance(value, list) else [value] if value else []
            for item in values:
                if item not in spec.known:
                    flag(spec.name, _("{value!r} is not a known value ({known}); kept as is").format(
                        value=item, known=", ".join(spec.known)))
    phone = customer.get(PHONE_FIELD, "")
    if isinstance(phone, str) and phone and not _PHONE.fullmatch(phone):
        flag(PHONE_FIELD, _("{value!r} is not one 11-digit number starting with 1; kept as is").format(value=phone))
    name = customer.get("基本信息-姓名", "")
    if isinstance(name, str) and _BRACKETED.search(name):
        flag("基本信息-姓名", _("{value!r} holds a remark in brackets; kept as is").format(value=name))
    return lints
