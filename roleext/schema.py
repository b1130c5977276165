"""The 21 role-element fields and the JSON Schemas of every file roleext reads or writes.

Everything else (forms, validation, scorer, parser, exports) reads the fields from here,
so a change to the competition's field list is a change to this one module.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from roleext.i18n import _

FieldKind = Literal["str", "list"]


@dataclass(frozen=True)
class Field:
    """One role element: its key in a customer dict, its type, and its metric weight.

    `known` lists the values seen in the public gold data for closed fields; it guides forms
    and lints but never rejects a value outside it (gold data holds such values).
    """

    name: str
    kind: FieldKind
    weight: int
    known: tuple[str, ...] = ()
    verbatim: bool = False
    """The value is copied from the chat as written (names, phones, addresses)."""
    similarity: bool = False
    """The metric scores the field by text similarity instead of exact match."""

    @property
    def closed(self) -> bool:
        return bool(self.known)

    def empty(self) -> str | list[str]:
        return [] if self.kind == "list" else ""


FIELDS: tuple[Field, ...] = (
    Field("基本信息-姓名", "str", 1, verbatim=True),
    Field("基本信息-手机号码", "str", 1, verbatim=True),
    Field("基本信息-邮箱", "str", 1, verbatim=True),
    Field("基本信息-地区", "str", 1, verbatim=True),
    Field("基本信息-详细地址", "str", 1, verbatim=True),
    Field("基本信息-性别", "str", 1, known=("男", "女")),
    Field("基本信息-年龄", "str", 1),
    Field("基本信息-生日", "str", 1),
    Field("咨询类型", "list", 2, known=("答疑", "询价", "吐槽")),
    Field(
        "意向产品",
        "list",
        3,
        known=("会话存档", "高级版", "CRM", "开放接口", "商城", "标准版", "定制版", "AI", "运营服务"),
    ),
    Field("购买异议点", "list", 3, known=("产品功能", "客户内部问题", "价格", "工时", "竞品")),
    Field("客户预算-预算是否充足", "str", 2, known=("充足", "不充足")),
    Field("客户预算-总体预算金额", "str", 2),
    Field("客户预算-预算明细", "str", 3, similarity=True),
    Field("竞品信息", "str", 2),
    Field("客户是否有意向", "str", 1, known=("有意向", "无意向")),
    Field("客户是否有卡点", "str", 1, known=("无卡点", "有卡点")),
    Field(
        "客户购买阶段",
        "str",
        2,
        known=("需求调研", "方案交流", "报价", "合同中", "等待结果", "赢单", "输单", "续费", "项目搁置"),
    ),
    Field("下一步跟进计划-参与人", "list", 2),
    Field("下一步跟进计划-时间点", "str", 2),
    Field("下一步跟进计划-具体事项", "str", 3, similarity=True),
)

FIELDS_BY_NAME: dict[str, Field] = {f.name: f for f in FIELDS}
FIELD_NAMES: tuple[str, ...] = tuple(f.name for f in FIELDS)
NAME_FIELD = "基本信息-姓名"
MAX_RECORD_SCORE: int = sum(f.weight for f in FIELDS)

Customer = dict[str, Any]
"""One customer's 21 fields, as in a gold `infos` list (str or list of str values)."""

# The "prior" answer of CONTEXT.md: what most gold dicts hold, with no chat read at all.
PRIOR_VALUES: dict[str, str | list[str]] = {"咨询类型": ["答疑"], "客户是否有卡点": "无卡点"}


def empty_customer() -> Customer:
    """A customer dict with all 21 keys and empty values, in the canonical key order."""
    return {f.name: f.empty() for f in FIELDS}


def prior_customer() -> Customer:
    """The prior baseline's answer: the most common gold values, everything else empty."""
    customer = empty_customer()
    customer.update({k: list(v) if isinstance(v, list) else v for k, v in PRIOR_VALUES.items()})
    return customer


VALUE_SEPARATOR = "、"
"""Items of a list value as a Chinese reader writes them: 价格、工时."""


def value_text(value: object, empty: str | None = None) -> str:
    """A field value as text a person reads: list items joined with 、, `empty` for nothing
    ("(empty)" in the reader's language by default)."""
    if empty is None:
        empty = _("(empty)")
    if isinstance(value, list):
        return VALUE_SEPARATOR.join(str(v) for v in value) or empty
    return str(value) if value not in (None, "") else empty


def complete_customer(values: Customer) -> Customer:
    """All 21 keys in canonical order, taking values from `values` and empty elsewhere."""
    customer = empty_customer()
    for name in FIELD_NAMES:
        if name in values:
            customer[name] = values[name]
    return customer


# ---------------------------------------------------------------------------------------
# JSON Schemas (Draft 2020-12). Messages for users are built from validation errors in
# roleext.io; these are the definitions the app, the CLI and the tests share.

DRAFT = "https://json-schema.org/draft/2020-12/schema"

CUSTOMER_SCHEMA: dict[str, Any] = {
    "$schema": DRAFT,
    "title": "customer",
    "type": "object",
    "properties": {
        f.name: (
            {"type": "array", "items": {"type": "string"}}
            if f.kind == "list"
            else {"type": "string"}
        )
        for f in FIELDS
    },
    "required": list(FIELD_NAMES),
    "additionalProperties": False,
}

RECORD_SCHEMA: dict[str, Any] = {
    "$schema": DRAFT,
    "title": "chat record",
    "type": "object",
    "properties": {
        "chat_text": {"type": "string", "minLength": 1},
        "infos": {"type": "array", "items": CUSTOMER_SCHEMA},
    },
    "required": ["chat_text", "infos"],
    "additionalProperties": False,
}

CHAT_FILE_SCHEMA: dict[str, Any] = {
    "$schema": DRAFT,
    "title": "train.json / test_data.json",
    "type": "array",
    "items": RECORD_SCHEMA,
}

SUBMISSION_ENTRY_SCHEMA: dict[str, Any] = {
    "$schema": DRAFT,
    "title": "submission entry",
    "type": "object",
    "properties": {
        "infos": {"type": "array", "items": CUSTOMER_SCHEMA, "minItems": 1},
        "index": {"type": "integer", "minimum": 1},
    },
    "required": ["infos", "index"],
    "additionalProperties": False,
}

SUBMISSION_SCHEMA: dict[str, Any] = {
    "$schema": DRAFT,
    "title": "submit.json",
    "type": "array",
    "items": SUBMISSION_ENTRY_SCHEMA,
}

FINETUNE_ROW_SCHEMA: dict[str, Any] = {
    "$schema": DRAFT,
    "title": "fine-tuning JSONL row",
    "type": "object",
    "properties": {
        "instruction": {"type": "string"},
        "input": {"type": "string", "minLength": 1},
        "output": {"type": "string", "minLength": 2},
    },
    "required": ["instruction", "input", "output"],
    "additionalProperties": False,
}
