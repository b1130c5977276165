"""From a model's raw answer to valid customers, saying every change made on the way.

Models answer with fences, prose, several objects, one object where a list belongs, customers
wrapped in an object (base models: `{"客户": [...]}`), broken JSON, keys with stray spaces or
full-width characters, strings where lists belong. Parsing repairs what it can
(json-repair), normalizes closed fields to their known values or drops them, and by default
drops verbatim fields (name, phone, ...) that the chat does not contain: an invented value
scores below an empty one.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

import json_repair
from rapidfuzz import process

from roleext.chat import squash
from roleext.i18n import _
from roleext.schema import FIELDS, FIELDS_BY_NAME, Customer, Field, complete_customer

_FENCE = re.compile(r"```[a-zA-Z]*\s*(.*?)```", re.S)
_SPLIT_ITEMS = re.compile(r"[、,，;；/]+")
_NEGATION = re.compile(r"[没不未无非]")
PARTICIPANTS = "下一步跟进计划-参与人"
EMPTY_MARKERS = {"", "无", "未知", "暂无", "未提及", "不详", "null", "none", "n/a", "-", "空"}
# Keys a model may write without the section prefix: "姓名" means "基本信息-姓名".
_SHORT_KEYS = {f.name.split("-", 1)[1]: f.name for f in FIELDS if "-" in f.name}


@dataclass
class ParseResult:
    """Customers parsed from a raw answer; `changes` lists every repair and drop."""

    customers: list[Customer]
    changes: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def _normalize(text: str) -> str:
    return squash(unicodedata.normalize("NFKC", text))


def _json_candidates(raw: str) -> list[Any]:
    """Every JSON value found in the text: whole, fenced, or embedded in prose."""
    text = raw.strip()
    fenced = _FENCE.findall(text)
    sources = fenced or [text]
    values: list[Any] = []
    for source in sources:
        try:
            values.append(json.loads(source))
            continue
        except json.JSONDecodeError:
            pass
        decoder = json.JSONDecoder()
        position, found = 0, []
        while (start := _next_bracket(source, position)) != -1:
            try:
                value, end = decoder.raw_decode(source, start)
            except json.JSONDecodeError:
                break
            found.append(value)
            position = end
        if found:
            values.extend(found)
            continue
        start = _next_bracket(source, 0)
        if start != -1:
            repaired = json_repair.loads(source[start:])
            if repaired not in ("", None, [], {}):
                values.append(repaired)
    return values


def _next_bracket(text: str, position: int) -> int:
    hits = [i for i in (text.find("[", position), text.find("{", position)) if i != -1]
    return min(hits) if hits else -1


def _is_wrapper(value: dict[str, Any]) -> bool:
    """An object that holds customers rather than being one: `{"客户": [{...}]}`, `{"李娜3": {...}}`.

    A customer's values are strings or lists of strings, never objects."""
    return bool(value) and all(
        isinstance(v, dict) or (isinstance(v, list) and v and all(isinstance(i, dict) for i in v))
        for v in value.values())


def _flatten(values: list[Any]) -> list[dict[str, Any]]:
    dicts: list[dict[str, Any]] = []
    for value in values:
        if isinstance(value, dict):
            inner = value.get("infos") if set(value) <= {"infos", "index"} else None
            if inner is None and _is_wrapper(value):
                inner = list(value.values())
            dicts.extend(_flatten([inner]) if inner is not None else [value])
        elif isinstance(value, list):
            dicts.extend(_flatten(value))
    return dicts


def _canonical_key(key: str) -> str | None:
    clean = _normalize(key).strip("\"'“”")
    clean = clean.replace("—", "-").replace("_", "-")
    if clean in FIELDS_BY_NAME:
        return clean
    if clean in _SHORT_KEYS:
        return _SHORT_KEYS[clean]
    match = process.extractOne(clean, list(FIELDS_BY_NAME))
    return match[0] if match and match[1] >= 85 else None


def _as_items(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v).strip() for v in value if v is not None and str(v).strip()]
    return [part.strip() for part in _SPLIT_ITEMS.split(str(value)) if part.strip()]


def _closed_value(spec: Field, value: str) -> str | None:
    """The known value a model meant, or None: exact after NFKC, else the longest known value
    it contains, unless two fit equally or a negation precedes it (没有意向 is not 有意向)."""
    clean = _normalize(value)
    if clean in spec.known:
        return clean
    contained = sorted((k for k in spec.known if k in clean), key=len, reverse=True)
    if not contained or (len(contained) > 1 and len(contained[1]) == len(contained[0])):
        return None
    best = contained[0]
    if _NEGATION.search(clean[: clean.find(best)]):
        return None
    return best


def _field_value(spec: Field, value: Any, where: str, changes: list[str]) -> str | list[str]:
    if spec.kind == "list":
        items = _as_items(value)
        if not isinstance(value, list) and items:
            changes.append(_("{where}: a string, read as the list {items}").format(where=where, items=items))
        if spec.name == PARTICIPANTS and len(items) > 1:
            items = ["、".join(items)]  # the gold writes participants as one 、-joined string
        if spec.closed:
            kept = []
            for item in items:
                known = _closed_value(spec, item)
                if known is None:
                    changes.append(_("{where}: {value!r} is not a known value, dropped").format(
                        where=where, value=item))
                elif known not in kept:
                    if known != item:
                        changes.append(_("{where}: {value!r} read as {known!r}").format(where=where, value=item,
                                                                                         known=known))
                    kept.append(known)
            items = kept
        return items
    if isinstance(value, list):
        text = "、".join(str(v).strip() for v in value if str(v).strip())
        changes.append(_("{where}: a list, joined into {text!r}").format(where=where, text=text))
    else:
        text = "" if value is None else str(value).strip()
    if text.lower() in EMPTY_MARKERS:
        return ""
    if spec.closed:
        known = _closed_value(spec, text)
        if known is None:
            changes.append(_("{where}: {value!r} is not a known value, dropped").format(where=where, value=text))
            return ""
        if known != text:
            changes.append(_("{where}: {value!r} read as {known!r}").format(where=where, value=text, known=known))
        return known
    return text


def parse_output(raw: str, chat: str | None = None, *, drop_unverified: bool = True) -> ParseResult:
    """Customers from a raw answer; with `chat`, verbatim fields absent from it are dropped."""
    dicts = _flatten(_json_candidates(raw))
    if not dicts:
        return ParseResult([], error=_("no JSON object found in the answer"))
    changes: list[str] = []
    customers = []
    squashed_chat = squash(chat) if chat is not None else None
    for number, raw_customer in enumerate(dicts, start=1):
        values: dict[str, Any] = {}
        for key, value in raw_customer.items():
            name = _canonical_key(str(key))
            if name is None:
                changes.append(_("customer {n}: unknown key {key!r}, dropped").format(n=number, key=key))
                continue
            if name != key:
                changes.append(_("customer {n}: key {key!r} read as {name!r}").format(n=number, key=key, name=name))
            where = _("customer {n}, {field}").format(n=number, field=name)
            values[name] = _field_value(FIELDS_BY_NAME[name], value, where, changes)
        if drop_unverified and squashed_chat is not None:
            for spec in FIELDS:
                text = values.get(spec.name)
                if spec.verbatim and isinstance(text, str) and text and squash(text) not in squashed_chat:
                    changes.append(_("customer {n}, {field}: {value!r} is not in the chat, dropped").format(
                        n=number, field=spec.name, value=text))
                    values[spec.name] = ""
        customers.append(complete_customer(values))
    return ParseResult(customers, changes)
