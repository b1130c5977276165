"""A reviewer's resolution of two annotators' disagreements, and the gold exports use in team mode.

A reviewer settles a disagreement field by field (one customer's field, as `roleext.agreement`
pairs them): pick the first annotator's value, the second's, or type one. The gold of a record
that annotators labelled is, in order of precedence:
1. a resolved field: the reviewer's value;
2. any other field: the first annotator's (first assigned; `roleext.annotations.ordered_annotators`).
A record with one annotation exports that annotation. A record whose two annotations still differ
somewhere the reviewer has not settled is *unresolved*: it exports by the rule above, and the
export report counts it. A customer only the second annotator has (no first-annotator customer
paired with it) is exported when a resolution gave it a value; a record nobody annotated exports
its own gold, as in a single-user project (which reads no table of this module: see `ExportGold.of`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import Connection, insert, select, update

from roleext.agreement import Cell, customer_pairs, labelled_twice, record_cells, same_value, split_labels
from roleext.annotations import annotations_of
from roleext.errors import ConflictError, NotFoundError, UsageError
from roleext.i18n import _
from roleext.io import Split
from roleext.matching import dumps
from roleext.project import Record
from roleext.schema import FIELDS_BY_NAME, VALUE_SEPARATOR, Customer, empty_customer, value_text
from roleext.store import ProjectStore, default_author

Choice = Literal["first", "second", "edit"]
RESOLUTION_TARGET = "resolution"
"""The history target of a reviewer's resolution of one field."""


@dataclass(frozen=True)
class Resolution:
    """A reviewer's decision on one field of one customer pair, and the two values it settled."""

    customer: int
    field: str
    value: Any
    choice: str
    reviewer: str
    basis: tuple[Any, Any] | None = None
    """The first and second annotators' values when it was made (None: made before m013)."""

    def holds_for(self, first: Any, second: Any) -> bool:
        """Whether it still settles this cell: the annotators' values are those it was made on.
        An annotation changed since (a value, or a customer removed, which renumbers the pairs)
        makes the disagreement the reviewer's to look at again, never silently theirs."""
        return self.basis is None or (same_value(self.basis[0], first) and same_value(self.basis[1], second))


@dataclass(frozen=True)
class Disagreement:
    """A cell the two annotators labelled differently, with the reviewer's resolution if any."""

    cell: Cell
    resolution: Resolution | None = None
    outdated: Resolution | None = None
    """A resolution made before an annotation changed: no longer applied, shown for reference."""


def _resolutions(store: ProjectStore, record_ids: Iterable[int] | None = None) -> dict[int, dict[tuple[int, str],
                                                                                             Resolution]]:
    s = store.resolutions
    query = select(s)
    if record_ids is not None:
        query = query.where(s.c.record_id.in_(list(record_ids)))
    out: dict[int, dict[tuple[int, str], Resolution]] = {}
    with store.engine.connect() as conn:
        for row in conn.execute(query).all():
            basis = json.loads(row.basis) if row.basis is not None else None
            out.setdefault(row.record_id, {})[(row.customer, row.field)] = Resolution(
                row.customer, row.field, json.loads(row.value), row.choice, row.reviewer,
                None if basis is None else (basis[0], basis[1]))
    return out


def disagreements(store: ProjectStore, split: Split) -> list[Disagreement]:
    """Every cell of the split where two annotators differ, in record and customer order."""
    twice = labelled_twice(store, split)
    resolved = _resolutions(store, [record_id for record_id, _index, _labels in twice])
    out = []
    for record_id, index, labels in twice:
        own = resolved.get(record_id, {})
        for cell in record_cells(record_id, split, index, labels[0], labels[1]):
            if not cell.agree:
                made = own.get((cell.customer, cell.field))
                if made is not None and not made.holds_for(cell.a, cell.b):
                    out.append(Disagreement(cell, None, made))
                else:
                    out.append(Disagreement(cell, made))
    return out


def value_from_text(field_name: str, text: str) -> str | list[str]:
    """A typed value as the field stores it: a list field's items separated by 、 or new lines."""
    spec = FIELDS_BY_NAME[field_name]
    if spec.kind == "list":
        items = text.replace("\n", VALUE_SEPARATOR).split(VALUE_SEPARATOR)
        return [item.strip() for item in items if item.strip()]
    return text.strip()


def resolve(store: ProjectStore, record_id: int, customer: int, field_name: str, choice: Choice,
            value: Any = None, reviewer: str | None = None, seen: tuple[Any, Any] | None = None) -> Any:
    """Settle one field of one customer pair: the first annotator's value, the second's, or `value`
    (`edit`); a later resolution of the same field replaces it. Returns the value now resolved.

    `seen`: the two values the reviewer was shown; if an annotator changed theirs since, nothing
    is saved (`ConflictError`), so "the first's value" is never one the reviewer did not see.
    Kept in history (target "resolution"), so who decided what stays traceable."""
    if field_name not in FIELDS_BY_NAME:
        raise UsageError(_("there is no field {field}").format(field=field_name))
    s = store.resolutions
    with store.write() as conn:  # the labels are read under the lock the resolution is written under
        cell = _cell(store, conn, record_id, customer, field_name)
        if seen is not None and not (same_value(seen[0], cell.a) and same_value(seen[1], cell.b)):
            raise ConflictError(_("the annotators' labels of this field changed since the page showed them; "
                                  "look at them again before resolving"))
        chosen = _chosen(cell, field_name, choice, value)
        who, now = reviewer or default_author(), datetime.now(UTC)
        row_of = (s.c.record_id == record_id) & (s.c.customer == customer) & (s.c.field == field_name)
        values = {"value": dumps(chosen), "choice": choice, "reviewer": who, "at": now,
                  "basis": dumps([cell.a, cell.b])}
        old = conn.execute(select(s.c.value).where(row_of)).scalar()
        if old is None:
            conn.execute(insert(s).values(record_id=record_id, customer=customer, field=field_name, **values))
        else:
            conn.execute(update(s).where(row_of).values(**values))
        conn.execute(insert(store.history).values(
            record_id=record_id, target=RESOLUTION_TARGET, author=who, at=now,
            before=None if old is None else dumps({"customer": customer, "field": field_name,
                                                   "value": json.loads(old)}),
            after=dumps({"customer": customer, "field": field_name, "value": chosen, "choice": choice}),
            run_id=None, annotator=None))
    return chosen


def _cell(store: ProjectStore, conn: Connection, record_id: int, customer: int, field_name: str) -> Cell:
    """One cell of a record labelled twice, as the annotations stand in `conn`'s transaction."""
    labels = annotations_of(store, record_id, conn)
    if len(labels) < 2:
        raise NotFoundError(_("record id {id} was not labelled by two annotators: there is nothing to resolve")
                            .format(id=record_id))
    cells = {(c.customer, c.field): c for c in record_cells(record_id, "train", 0, (labels[0].annotator,
             labels[0].infos), (labels[1].annotator, labels[1].infos))}
    cell = cells.get((customer, field_name))
    if cell is None:
        raise NotFoundError(_("record id {id} has no customer {n}").format(id=record_id, n=customer))
    return cell


def _chosen(cell: Cell, field_name: str, choice: Choice, value: Any) -> Any:
    """The value a resolution settles on: a side's, or the typed one checked against the field."""
    if choice == "first":
        return cell.a
    if choice == "second":
        return cell.b
    spec = FIELDS_BY_NAME[field_name]
    chosen = value_from_text(field_name, value) if isinstance(value, str) else value
    if spec.kind == "list" and not (isinstance(chosen, list) and all(isinstance(v, str) for v in chosen)):
        raise UsageError(_("{field} holds a list of strings").format(field=field_name))
    if spec.kind == "str" and not isinstance(chosen, str):
        raise UsageError(_("{field} holds a string").format(field=field_name))
    return chosen


@dataclass(frozen=True)
class TeamGold:
    """A team record's export gold, and whether disagreements remain unsettled."""

    gold: list[Customer]
    unresolved: bool = False


def team_gold(labels: list[list[Customer]], resolved: dict[tuple[int, str], Resolution]) -> TeamGold:
    """The export gold of a record from its annotations (first annotator's first) and resolutions."""
    if len(labels) == 1:
        return TeamGold(labels[0])
    first = labels[0]
    pairs = customer_pairs(first, labels[1])
    gold = [dict(a) if number <= len(first) else empty_customer() for number, (a, _b) in enumerate(pairs, 1)]
    unresolved = False
    for number, (a, b) in enumerate(pairs, start=1):
        for name, spec in FIELDS_BY_NAME.items():
            first_value, second_value = a.get(name, spec.empty()), b.get(name, spec.empty())
            decided = resolved.get((number, name))
            if decided is not None and decided.holds_for(first_value, second_value):
                gold[number - 1][name] = decided.value
            elif not same_value(first_value, second_value):
                unresolved = True
    kept = gold[:len(first)] + [c for c in gold[len(first):] if any(v not in ("", []) for v in c.values())]
    return TeamGold(kept, unresolved)


@dataclass
class ExportGold:
    """The export gold of a split's annotated records, read at once: exports look each record up."""

    by_record: dict[int, TeamGold] = field(default_factory=dict)

    @classmethod
    def of(cls, store: ProjectStore, split: Split) -> ExportGold | None:
        """The split's team gold, or None (one cheap query) where no record of it was annotated."""
        labelled = split_labels(store, split)
        if not labelled:
            return None
        resolved = _resolutions(store, [record_id for record_id, _index, labels in labelled if len(labels) > 1])
        return cls({record_id: team_gold([infos for _name, infos in labels], resolved.get(record_id, {}))
                    for record_id, _index, labels in labelled})

    def apply(self, record: Record) -> tuple[Record, bool]:
        """The record with its export gold; True when it is unresolved."""
        found = self.by_record.get(record.id)
        if found is None:
            return record, False
        return replace(record, gold=found.gold), found.unresolved


def disagreement_rows(items: Iterable[Disagreement]) -> list[dict[str, str]]:
    """The disagreement list as a reader sees it: each side's name and value, the resolution if any."""
    return [{"record": f"{d.cell.split} {d.cell.index}", "customer": str(d.cell.customer), "field": d.cell.field,
             "first": f"{d.cell.first}: {value_text(d.cell.a)}", "second": f"{d.cell.second}: {value_text(d.cell.b)}",
             "resolved": "" if d.resolution is None else value_text(d.resolution.value)} for d in items]


def unresolved_first(items: list[Disagreement]) -> list[Disagreement]:
    """What a reviewer works through: the unresolved disagreements, then the resolved (record order kept)."""
    return [d for d in items if d.resolution is None] + [d for d in items if d.resolution is not None]
