"""Fine-tuning rows read back as gold: the platform's JSONL, alpaca, chat messages, ShareGPT.

A row whose answer is the 21-field JSON is a record's gold: its user turn is the model's
input (a chat, or a summary of one) and its assistant turn the customers. Rows repeated to
reach a row count are read once. Nothing here knows the project: which chat a summary
belongs to is decided by `roleext.formats.importing`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from roleext.decoding import json_reason
from roleext.errors import Problem
from roleext.i18n import _

RowKind = Literal["finetune", "messages", "sharegpt"]

_USER_ROLES = {"messages": ("role", "content", "user", "assistant"),
               "sharegpt": ("from", "value", "human", "gpt")}
"""Per chat-format kind: the role key, the content key, the user's and the assistant's role."""


def row_kind(item: Any) -> RowKind | None:
    """Which kind of fine-tuning row an item is, from its keys; None for anything else."""
    if not isinstance(item, dict):
        return None
    if "messages" in item:
        return "messages"
    if "conversations" in item:
        return "sharegpt"
    if "instruction" in item or "output" in item:
        return "finetune"
    return None


@dataclass(frozen=True)
class GoldRow:
    """One distinct row of a fine-tuning file: what the model read, and the gold it answered."""

    position: int
    """The row's 1-based position in the file (its first, when the file repeats it)."""
    user: str
    infos: Any
    """The answer's customers as parsed, checked against the 21 fields by the caller."""


def _turns(item: dict[str, Any], kind: RowKind, position: int) -> tuple[str, str] | Problem:
    """(user turn, assistant answer) of a row, or what keeps it from being one."""
    if kind == "finetune":
        text, answer = item.get("input"), item.get("output")
        if not isinstance(text, str) or not text.strip():
            return Problem(_("is missing or empty; expected the model's input (a chat or a summary)"),
                           position, "input")
        if not isinstance(answer, str):
            return Problem(_("is missing; expected the 21-field JSON answer"), position, "output")
        return text, answer
    role_key, content_key, user_role, assistant_role = _USER_ROLES[kind]
    turns = item.get("messages" if kind == "messages" else "conversations")
    where = "messages" if kind == "messages" else "conversations"
    if not isinstance(turns, list) or not all(isinstance(t, dict) for t in turns):
        return Problem(_("is not a list of turns"), position, where)
    users = [t.get(content_key) for t in turns if t.get(role_key) == user_role]
    answers = [t.get(content_key) for t in turns if t.get(role_key) == assistant_role]
    if len(users) != 1 or len(answers) != 1:
        return Problem(_("holds {users} {user} and {answers} {assistant} turns; a record's row has one of each "
                         "(the input, then the 21-field answer)").format(
            users=len(users), user=user_role, answers=len(answers), assistant=assistant_role), position, where)
    user, answer = users[0], answers[0]
    if not isinstance(user, str) or not user.strip():
        return Problem(_("the {role} turn is empty; expected the model's input").format(role=user_role),
                       position, where)
    if not isinstance(answer, str):
        return Problem(_("the {role} turn is not text; expected the 21-field JSON answer").format(
            role=assistant_role), position, where)
    return user, answer


def _customers(answer: str, position: int) -> Any:
    """The customers of an answer, or a Problem when it is not the 21-field JSON."""
    try:
        value = json.loads(answer)
    except json.JSONDecodeError as exc:
        return Problem(_("the answer is not JSON ({error} at column {column}); expected the list of customers "
                         "with the 21 fields").format(error=json_reason(exc), column=exc.colno), position, "answer")
    if isinstance(value, dict):
        return [value]  # one customer written bare: read as a list of one
    if not isinstance(value, list):
        return Problem(_("the answer is JSON but not a list of customers"), position, "answer")
    return value


def read_gold_rows(items: list[Any]) -> tuple[list[GoldRow], list[Problem], int]:
    """The distinct rows of a fine-tuning file, the problems of the others, and how many
    rows repeated an earlier one (same input, same answer) and were read once."""
    rows: list[GoldRow] = []
    problems: list[Problem] = []
    seen: set[tuple[str, str]] = set()
    repeated = 0
    for position, item in enumerate(items, start=1):
        kind = row_kind(item)
        if kind is None:
            problems.append(Problem(_("is not a fine-tuning row (instruction/input/output, messages or "
                                      "conversations)"), position))
            continue
        turns = _turns(item, kind, position)
        if isinstance(turns, Problem):
            problems.append(turns)
            continue
        if turns in seen:
            repeated += 1
            continue
        seen.add(turns)
        infos = _customers(turns[1], position)
        if isinstance(infos, Problem):
            problems.append(infos)
            continue
        rows.append(GoldRow(position, turns[0], infos))
    return rows, problems, repeated
