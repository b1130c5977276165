"""Reading user files: decode, parse, validate against `schema`, and say what is wrong.

Every problem becomes a `Problem` naming the record (1-based), customer and field, and all
of a file's problems are reported at once, so a user fixes a file in one pass.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import Any, Literal

from jsonschema import Draft202012Validator, ValidationError
from rapidfuzz import process

from roleext.decoding import LongNumber, unreadable
from roleext.decoding import parse_items as parse_items  # re-exported: callers read files from io
from roleext.errors import InvalidFileError, Problem
from roleext.formats.review_key import ReviewNote, read_review_key
from roleext.formats.row_reading import read_gold_rows, row_kind
from roleext.i18n import _
from roleext.json_stream import NotStreamable, iter_json_list, starts_a_list
from roleext.lint import lint_customer
from roleext.schema import (
    FIELD_NAMES,
    FIELDS_BY_NAME,
    FINETUNE_ROW_SCHEMA,
    RECORD_SCHEMA,
    SUBMISSION_ENTRY_SCHEMA,
    Customer,
    complete_customer,
)

MAX_FILE_BYTES = 1024 * 1024 * 1024
"""Largest file read; 100,000 chats take about 700 MB. Mirrored in .streamlit/config.toml.
A JSON list in a file is read one record at a time (`roleext.json_stream`), so memory holds
the records, not the file as well."""

MAX_MISSING_LISTED = 3
"""A customer missing more fields than this gets one line, not one per field."""


Split = Literal["train", "test"]
SPLITS: tuple[Split, ...] = ("train", "test")
"""The splits in the order lists and choices show them."""
FileKind = Literal["train", "test", "submission", "finetune", "messages", "sharegpt"]
Source = bytes | str | Path

_RECORD_VALIDATOR = Draft202012Validator(RECORD_SCHEMA)
_SUBMISSION_VALIDATOR = Draft202012Validator(SUBMISSION_ENTRY_SCHEMA)
_FINETUNE_VALIDATOR = Draft202012Validator(FINETUNE_ROW_SCHEMA)


@dataclass
class ChatRecord:
    """One chat of train.json or test_data.json; `index` is its 1-based position."""

    index: int
    chat_text: str
    infos: list[Customer]
    review: ReviewNote | None = None
    """The review a roleext dataset file carries in its `roleext` key, if any."""


@dataclass
class ChatFile:
    """A validated train or test file, with the warnings and lints it raised."""

    split: Split
    records: list[ChatRecord]
    warnings: list[Problem] = field(default_factory=list)
    lints: list[Problem] = field(default_factory=list)

    @property
    def customers(self) -> int:
        return sum(len(r.infos) for r in self.records)


@dataclass
class Submission:
    """A parsed submit.json: predicted customers by 1-based test index."""

    infos_by_index: dict[int, list[Customer]]
    warnings: list[Problem] = field(default_factory=list)


@dataclass
class FileSummary:
    """What `validate` reports of any file roleext knows."""

    kind: FileKind
    records: int
    customers: int
    warnings: list[Problem]
    lints: list[Problem]

    def line(self) -> str:
        text = _("{kind} file: {records} records, {customers} customers").format(
            kind=self.kind, records=self.records, customers=self.customers)
        if self.warnings:
            text += _(", {n} warnings").format(n=len(self.warnings))
        if self.lints:
            text += _(", {n} lints").format(n=len(self.lints))
        return text


# --- bytes to JSON items ------------------------------------------------------------


def _checked_size(source: Source, max_bytes: int) -> str:
    """The display name of a source; refuses an oversized file before reading it."""
    if isinstance(source, bytes):
        size, name = len(source), _("uploaded file")
    else:
        path = Path(source)
        name = path.name
        try:
            size = os.path.getsize(path)
        except OSError as exc:
            raise InvalidFileError([Problem(_("cannot be read: {reason}").format(reason=exc.strerror))],
                                   name) from exc
    if size > max_bytes:
        raise InvalidFileError(
            [Problem(_("is {size:.1f} MB, over the limit of {limit:.0f} MB; split it into smaller files")
                     .format(size=size / 2**20, limit=max_bytes / 2**20))],
            name,
        )
    return name


def read_source(source: Source, *, max_bytes: int = MAX_FILE_BYTES) -> tuple[bytes, str]:
    """Bytes and a display name from uploaded bytes or a path; refuses oversized files."""
    name = _checked_size(source, max_bytes)
    if isinstance(source, bytes):
        return source, name
    return Path(source).read_bytes(), name


def read_items(source: Source, *, max_bytes: int = MAX_FILE_BYTES) -> tuple[Iterable[Any], str]:
    """The items of a file and its display name; a JSON list in a file comes one item at a time.

    Problems are raised as `parse_items` raises them, when the items are read."""
    name = _checked_size(source, max_bytes)
    if isinstance(source, bytes) or not starts_a_list(Path(source)):
        data, name = read_source(source, max_bytes=max_bytes)
        return parse_items(data, name), name
    return _streamed(Path(source), name), name


def _streamed(path: Path, name: str) -> Iterator[Any]:
    try:
        yield from iter_json_list(path)
    except NotStreamable:
        parse_items(path.read_bytes(), name)  # raises the problem, located
        raise InvalidFileError([Problem(_("is not valid JSON"))], name) from None


def first_object(items: Iterable[Any]) -> tuple[list[Any], Any, Iterator[Any]]:
    """The items up to the first object, that object (None if there is none), and the rest."""
    rest = iter(items)
    head: list[Any] = []
    for item in rest:
        head.append(item)
        if isinstance(item, dict):
            return head, item, rest
    return head, None, rest


# --- validation ---------------------------------------------------------------------


def _type_name(value: Any) -> str:
    if isinstance(value, LongNumber):
        return _("a number {n:,} digits long").format(n=value.digits)
    names = {str: _("a string"), list: _("a list"), dict: _("an object"), bool: _("a boolean"),
             int: _("a number"), float: _("a number"), type(None): "null"}
    return names.get(type(value), type(value).__name__)


def _short(value: Any) -> str:
    if isinstance(value, LongNumber):
        return f"{value.preview}..."
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 40 else text[:37] + "..."


def _expected(schema: dict[str, Any]) -> str:
    kind = schema.get("type")
    if kind == "array":
        item = schema.get("items", {}).get("type")
        return _("a list of strings") if item == "string" else _("a list of customer objects")
    return {"string": _("a string"), "object": _("an object"), "integer": _("a whole number")}.get(
        str(kind), str(kind)
    )


def _closest_field(key: str) -> str:
    match = process.extractOne(key, FIELD_NAMES)
    return _(" (did you mean {name}?)").format(name=match[0]) if match and match[1] >= 60 else ""


def _problems_from_errors(errors: Iterator[ValidationError], record: int,
                          shape: str | None = None) -> list[Problem]:
    """Turn jsonschema errors for one record into problems located by customer and field.

    The error's path says where it is: [] the record, [key] a record key, ["infos", j] a
    customer, ["infos", j, field] a value, ["infos", j, field, k] an item of a list value.
    """
    shape = shape or _("chat_text (a string) and infos (a list)")
    problems: list[Problem] = []
    seen: set[tuple[int | None, str]] = set()
    for error in errors:
        path = list(error.absolute_path)
        customer = int(path[1]) + 1 if len(path) >= 2 else None
        where: str | None = str(path[2]) if len(path) >= 3 else (str(path[0]) if path else None)
        instance = error.instance
        if error.validator == "required":
            # jsonschema raises one error per missing key, each carrying the whole list.
            if (customer, "required") in seen:
                continue
            seen.add((customer, "required"))
            missing = [k for k in error.validator_value if k not in instance]
            if customer is not None and len(missing) > MAX_MISSING_LISTED:
                problems.append(Problem(
                    _("lacks {n} of the 21 fields ({names}, ...); every customer needs all 21 keys, empty where "
                      "unknown").format(n=len(missing), names=", ".join(missing[:3])),
                    record, "infos", customer))
                continue
            for key in missing:
                if customer is None:
                    message = _("missing; a record needs {shape}").format(shape=shape)
                else:
                    message = _("missing; expected {kind} (empty if unknown)").format(kind=_expected_for_field(key))
                problems.append(Problem(message, record, key, customer))
        elif error.validator == "additionalProperties":
            allowed = error.schema.get("properties", {})
            for key in [k for k in instance if k not in allowed]:
                if customer is None:
                    message = _("unknown key; a record holds only {shape}").format(shape=shape)
                else:
                    message = _("unknown field, not one of the 21 fields{hint}").format(hint=_closest_field(key))
                problems.append(Problem(message, record, key, customer))
        elif error.validator == "type" and not path:
            problems.append(Problem(_("is {kind}, expected an object with {shape}").format(
                kind=_type_name(instance), shape=shape), record))
        elif error.validator == "type" and len(path) == 2:
            problems.append(Problem(_("is {kind}, expected an object with the 21 fields").format(
                kind=_type_name(instance)), record, "infos", customer))
        elif error.validator == "type" and len(path) == 4:
            problems.append(Problem(_("item {n} is {kind} ({value}), expected a string").format(
                n=int(path[3]) + 1, kind=_type_name(instance), value=_short(instance)), record, where, customer))
        elif error.validator == "type":
            problems.append(Problem(_("is {kind} ({value}), expected {expected}").format(
                kind=_type_name(instance), value=_short(instance), expected=_expected(error.schema)),
                record, where, customer))
        elif error.validator == "minLength" and where == "chat_text":
            problems.append(Problem(_("is empty, expected the chat transcript"), record, where))
        else:
            problems.append(Problem(error.message, record, where, customer))
    return problems


def _expected_for_field(name: str) -> str:
    return _("a list of strings") if FIELDS_BY_NAME[name].kind == "list" else _("a string")


def _unwrap_bare_infos(item: Any, position: int, warnings: list[Problem]) -> Any:
    """`infos` written as one object (a widely copied tutorial's bug) read as a list of one."""
    if isinstance(item, dict) and isinstance(item.get("infos"), dict):
        warnings.append(Problem(_("is a single object, expected a list of customers; read as a list of one"),
                                position, "infos", severity="warning"))
        return {**item, "infos": [item["infos"]]}
    return item


def validate_chat_items(
    items: Iterable[Any],
) -> tuple[list[ChatRecord], list[Problem], list[Problem], list[Problem]]:
    """Records, errors, warnings and lints of a list of train/test items."""
    records: list[ChatRecord] = []
    errors: list[Problem] = []
    warnings: list[Problem] = []
    lints: list[Problem] = []
    first_of_chat: dict[str, int] = {}
    for position, item in enumerate(items, start=1):
        item = _unwrap_bare_infos(item, position, warnings)
        found = unreadable(item, position)
        if not found:
            item, review, found = read_review_key(item, position)
        if not found and not _plainly_valid(item):  # jsonschema, 50x slower, only to name what is wrong
            found = _problems_from_errors(_RECORD_VALIDATOR.iter_errors(item), position)
        found = found or _chat_problems(item["chat_text"], position, first_of_chat)
        if found:
            errors.extend(found)
            continue
        for number, customer in enumerate(item["infos"], start=1):
            lints.extend(lint_customer(customer, position, number))
        records.append(ChatRecord(position, item["chat_text"], [_shared_keys(c) for c in item["infos"]], review))
    return records, errors, warnings, lints


_LIST_FIELD = {spec.name: spec.kind == "list" for spec in FIELDS_BY_NAME.values()}
_RECORD_KEYS = {"chat_text", "infos"}


_FIELD_KEY = {name: name for name in FIELD_NAMES}


def _shared_keys(customer: Customer) -> Customer:
    """The customer with the schema's own key strings: the decoder makes 21 new ones a customer,
    a quarter of the memory 100,000 records take."""
    return {_FIELD_KEY.get(key, key): value for key, value in customer.items()}


def _plainly_valid(item: Any) -> bool:
    """What RECORD_SCHEMA accepts, checked directly: a record of a well-made file, the common case."""
    if type(item) is not dict or item.keys() != _RECORD_KEYS:
        return False
    chat, infos = item["chat_text"], item["infos"]
    if type(chat) is not str or not chat or type(infos) is not list:
        return False
    for customer in infos:
        if type(customer) is not dict or customer.keys() != _LIST_FIELD.keys():
            return False
        for name, value in customer.items():
            if _LIST_FIELD[name]:
                if type(value) is not list or any(type(v) is not str for v in value):
                    return False
            elif type(value) is not str:
                return False
    return True


def _chat_problems(chat: str, position: int, first_of_chat: dict[str, int]) -> list[Problem]:
    """A blank chat, or the same chat twice in one file (the store matches records by chat)."""
    if not chat.strip():
        return [Problem(_("holds only whitespace, expected the chat transcript"), position, "chat_text")]
    first = first_of_chat.setdefault(chat.strip(), position)
    if first != position:
        return [Problem(_("is the same chat as record {n}'s; a file holds each chat once").format(n=first),
                        position, "chat_text")]
    return []


def load_chat_file(source: Source, *, split: Split | None = None,
                   max_bytes: int = MAX_FILE_BYTES) -> ChatFile:
    """Read and validate a train.json or test_data.json; the split is guessed if not given.

    Raises InvalidFileError listing every problem; nothing is half-loaded.
    """
    items, name = read_items(source, max_bytes=max_bytes)
    return chat_file_from_items(items, name, split)


def chat_file_from_items(items: Iterable[Any], name: str, split: Split | None = None) -> ChatFile:
    """`load_chat_file` for items already parsed or streamed (a caller that looked at them first)."""
    head, first, rest = first_object(items)
    if not head:
        raise InvalidFileError([Problem(_("holds no records; expected a list of chat records"))], name)
    # A chat file is train or test by its gold, decided below: its first object says the rest.
    kind = guess_kind([first] if first is not None else head)
    if kind not in ("train", "test"):
        raise InvalidFileError(
            [Problem(_("looks like a {kind} file, expected train.json or test_data.json (records with chat_text "
                       "and infos)").format(kind=kind))],
            name,
        )
    records, errors, warnings, lints = validate_chat_items(chain(head, rest))
    if errors:
        raise InvalidFileError(errors, name)
    guessed: Split = "train" if any(r.infos for r in records) else "test"
    return ChatFile(split or guessed, records, warnings, lints)


def guess_kind(items: list[Any]) -> FileKind:
    """Which of roleext's files a list of items is, from the keys of its first object."""
    first = next((i for i in items if isinstance(i, dict)), {})
    if "chat_text" in first:
        has_gold = any(isinstance(i, dict) and i.get("infos") for i in items)
        return "train" if has_gold else "test"
    if "index" in first:
        return "submission"
    return row_kind(first) or "train"


def load_submission(source: Source, *, max_bytes: int = MAX_FILE_BYTES) -> Submission:
    """Read a submit.json; a bare-dict `infos` (a common tutorial's bug) is read with a warning."""
    data, name = read_source(source, max_bytes=max_bytes)
    items = parse_items(data, name)
    by_index, errors, warnings = _validate_submission_items(items)
    if errors:
        raise InvalidFileError(errors, name)
    return Submission(by_index, warnings)


def _validate_submission_items(
    items: list[Any],
) -> tuple[dict[int, list[Customer]], list[Problem], list[Problem]]:
    by_index: dict[int, list[Customer]] = {}
    errors: list[Problem] = []
    warnings: list[Problem] = []
    for position, item in enumerate(items, start=1):
        item = _unwrap_bare_infos(item, position, warnings)
        if isinstance(item, dict) and isinstance(item.get("infos"), list):
            # Predictions may leave fields out; a missing field scores as empty.
            item = {**item, "infos": [complete_customer(c) if isinstance(c, dict) else c
                                      for c in item["infos"]]}
        found = unreadable(item, position) or _problems_from_errors(
            _SUBMISSION_VALIDATOR.iter_errors(item), position, _("index (a whole number from 1) and infos (a list)"))
        if not found and item["index"] in by_index:
            found = [Problem(_("index {n} appears twice").format(n=item["index"]), position, "index")]
        if found:
            errors.extend(found)
            continue
        by_index[item["index"]] = item["infos"]
    return by_index, errors, warnings


def summarize_file(source: Source, *, max_bytes: int = MAX_FILE_BYTES) -> FileSummary:
    """Validate any roleext file (train, test, submission, fine-tuning JSONL) for `validate`."""
    data, name = read_source(source, max_bytes=max_bytes)
    items = parse_items(data, name)
    if not items:
        raise InvalidFileError([Problem(_("holds no records"))], name)
    kind = guess_kind(items)
    if kind == "submission":
        by_index, errors, warnings = _validate_submission_items(items)
        if errors:
            raise InvalidFileError(errors, name)
        return FileSummary(kind, len(by_index), sum(map(len, by_index.values())), warnings, [])
    if kind == "finetune":
        errors = []
        for position, item in enumerate(items, start=1):
            errors.extend(unreadable(item, position) or _problems_from_errors(
                _FINETUNE_VALIDATOR.iter_errors(item), position, _("instruction, input and output (strings)")))
        if errors:
            raise InvalidFileError(errors, name)
        return FileSummary(kind, len(items), 0, [], [])
    if kind in ("messages", "sharegpt"):
        rows, errors, _repeated = read_gold_rows(items)
        if errors:
            raise InvalidFileError(errors, name)
        return FileSummary(kind, len(rows), sum(len(r.infos) for r in rows), [], [])
    records, errors, warnings, lints = validate_chat_items(items)
    if errors:
        raise InvalidFileError(errors, name)
    return FileSummary(kind, len(records), sum(len(r.infos) for r in records), warnings, lints)
