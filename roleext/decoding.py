"""JSON text to items, refusing what would break a parser, each refusal a located `Problem`.

Deep nesting, numbers too long to convert, NUL characters, lone surrogates, one object
where a list belongs, pretty-printed objects passed off as JSONL: each gets one message,
never a RecursionError or a ValueError from deep inside `json`.
"""

from __future__ import annotations

import json
import re
from typing import Any

from roleext.errors import InvalidFileError, Problem
from roleext.i18n import N_, _, translate

_SURROGATE = re.compile("[\ud800-\udfff]")

MAX_DEPTH = 16
"""Deepest nesting read; a record is 4 levels deep (record, infos, customer, list of strings)."""
MAX_NUMBER_DIGITS = 1_000
"""Longer numbers are not converted (Python refuses over 4,300 digits); no field holds one."""


class LongNumber(float):
    """A number too long to convert, kept (as NaN) so validation can name where it is."""

    digits: int
    preview: str

    @classmethod
    def of(cls, text: str) -> LongNumber:
        number = cls("nan")
        number.digits, number.preview = len(text.lstrip("-")), text[:12]
        return number


def parse_int(text: str) -> int | float:
    return int(text) if len(text) <= MAX_NUMBER_DIGITS else LongNumber.of(text)


def loads(text: str) -> Any:
    """json.loads that names, rather than raises on, numbers too long to convert."""
    return json.loads(text, parse_int=parse_int)


_JSON_REASONS = (
    ("Expecting value", N_("a value was expected")),
    ("Expecting ',' delimiter", N_("a comma was expected")),
    ("Expecting ':' delimiter", N_("a colon was expected")),
    ("Expecting property name enclosed in double quotes", N_("a key in double quotes was expected")),
    ("Extra data", N_("there is more after the end of the JSON")),
    ("Unterminated string", N_("a string is not closed")),
    ("Invalid \\uXXXX escape", N_("an invalid \\u escape")),
    ("Invalid \\escape", N_("an invalid backslash escape")),
    ("Invalid control character", N_("a control character inside a string")),
)
"""What Python's JSON reader says (always in English), as a person reads it, in their language."""


def json_reason(exc: json.JSONDecodeError) -> str:
    """Why a text is not JSON, in the reader's language (the reader's own words where unknown)."""
    return next((translate(reason) for start, reason in _JSON_REASONS if exc.msg.startswith(start)), exc.msg)


def _too_deep(record: int | None = None) -> Problem:
    return Problem(_("nests lists or objects thousands of levels deep; a record is at most {depth} levels deep")
                   .format(depth=MAX_DEPTH), record=record)


def _spread_objects() -> Problem:
    return Problem(_("holds JSON objects spread over several lines: that is neither a JSON list nor JSONL (one "
                     "object per line); put the objects in a list: [{{...}}, {{...}}]").format())


def _one_object() -> Problem:
    return Problem(_("top level is an object, expected a list of records ([{{...}}, ...])").format())


def parse_items(data: bytes, name: str | None = None) -> list[Any]:
    """The items of a JSON list or a JSONL file; UTF-8 with or without BOM."""
    nul = data.find(b"\x00")
    if nul >= 0:
        raise InvalidFileError(
            [Problem(_("holds a NUL byte at offset {offset}; a text file has none (save it as UTF-8 text)")
                     .format(offset=nul))], name)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidFileError(
            [Problem(_("is not UTF-8 text (byte 0x{byte:02x} at offset {offset}); save it as UTF-8")
                     .format(byte=data[exc.start], offset=exc.start))],
            name,
        ) from exc
    stripped = text.strip()
    if not stripped:
        raise InvalidFileError([Problem(_("is empty; expected a JSON list of records"))], name)
    if stripped[0] == "[":
        try:
            items = loads(stripped)
        except json.JSONDecodeError as exc:
            raise InvalidFileError(
                [Problem(_("is not valid JSON: {reason} at line {line}, column {column}")
                         .format(reason=json_reason(exc), line=exc.lineno, column=exc.colno))],
                name,
            ) from exc
        except RecursionError:
            raise InvalidFileError([_too_deep()], name) from None
        if not isinstance(items, list):  # pragma: no cover - a leading "[" parses to a list
            raise InvalidFileError([Problem(_("expected a JSON list of records"))], name)
        return items
    if stripped[0] == "{":
        _refuse_one_object(stripped, name)
    return _parse_jsonl(stripped, name)


def _refuse_one_object(text: str, name: str | None) -> None:
    """A whole file that is one object (a record not in a list, pretty-printed or not) is refused.

    A fine-tuning row is JSONL's own format, so a file of one such row is read.
    """
    try:
        whole = loads(text)
    except RecursionError:
        raise InvalidFileError([_too_deep()], name) from None
    except json.JSONDecodeError:
        if text.splitlines()[0].strip() == "{":  # several pretty-printed objects, one after another
            raise InvalidFileError([_spread_objects()], name) from None
        return
    if isinstance(whole, dict) and not ("instruction" in whole and "\n" not in text):
        raise InvalidFileError([_one_object()], name)


def _parse_jsonl(text: str, name: str | None) -> list[Any]:
    items: list[Any] = []
    problems: list[Problem] = []
    lines = [line for line in text.splitlines() if line.strip()]
    for number, line in enumerate(lines, start=1):
        try:
            items.append(loads(line))
        except RecursionError:
            problems.append(_too_deep(number))
        except json.JSONDecodeError as exc:
            if number == 1 and len(lines) == 1:
                problems.append(Problem(_("is not valid JSON: {reason} at column {column}; expected a JSON list or "
                                          "one JSON object per line").format(reason=json_reason(exc),
                                                                             column=exc.colno)))
            else:
                problems.append(Problem(_("line is not valid JSON: {reason} at column {column}; expected a JSON "
                                          "list or one JSON object per line").format(reason=json_reason(exc),
                                                                                     column=exc.colno),
                                        record=number))
    if problems:
        raise InvalidFileError(problems, name)
    return items


def _printable(text: str) -> str:
    """`text` with NULs and lone surrogates written as escapes, so a message can be printed."""
    return text.replace("\x00", "\\u0000").encode("utf-8", "backslashreplace").decode("utf-8")


def unreadable(item: Any, record: int) -> list[Problem]:
    """Nesting too deep, NUL characters and lone surrogates anywhere in one item, located.

    Walked with a stack, not recursion, so no item can exhaust Python's recursion limit.
    """
    problems: list[Problem] = []
    stack: list[tuple[Any, tuple[Any, ...]]] = [(item, ())]
    while stack:
        value, path = stack.pop()
        if len(path) > MAX_DEPTH:
            problems.append(Problem(_("nests over {depth} levels deep").format(depth=MAX_DEPTH), record,
                                    *_where(path[:3])))
            continue
        texts = [(value, path)] if isinstance(value, str) else []
        if isinstance(value, dict):
            texts += [(key, (*path, key)) for key in value if isinstance(key, str)]
            stack.extend((v, (*path, k)) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((v, (*path, i)) for i, v in enumerate(value))
        for text, where in texts:
            found = _SURROGATE.search(text)  # a regex: a loop over every character of 700 MB takes minutes
            surrogate = found.group() if found else None
            if "\x00" in text:
                problems.append(Problem(_("holds a NUL character (\\u0000), which is not text; remove it"),
                                        record, *_where(where)))
            elif surrogate is not None:
                problems.append(Problem(_("holds a lone surrogate ({character}), half of a character that the "
                                          "program writing the file split: fix or remove it")
                                        .format(character=_printable(surrogate)),
                                        record, *_where(where)))
    return list(dict.fromkeys(problems))


def _where(path: tuple[Any, ...]) -> tuple[str | None, int | None]:
    """(field, customer) of a path into a record: [key], or ["infos", j, field, ...]."""
    if len(path) >= 2 and path[0] == "infos" and isinstance(path[1], int):
        return (_printable(str(path[2])) if len(path) >= 3 else "infos"), path[1] + 1
    return (_printable(str(path[0])) if path else None), None
