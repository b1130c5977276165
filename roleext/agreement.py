"""How often two annotators label a record alike: per field, exact agreement and Cohen's kappa.

What is compared, precisely:
- The records: every record of the split that two annotators have labelled (an annotation
  each). Where more than two have, the first two in assignment order count.
- The customers: paired as the scorer pairs gold and prediction (`roleext.scoring.pair_customers`),
  the first annotator's customers standing for the gold: each is paired with the second's
  customer of the same name, else the one at the same position, else an empty customer. Each
  customer of the second annotator that none of those took is paired with an empty customer
  of the first. A missing customer therefore counts as a customer with every field empty:
  its fields agree where the other side left them empty too, and disagree elsewhere.
- A cell is one field of one such pair; each counts once, whatever the record's number of
  customers. Values agree when the scorer would call them equal: list fields as sets (order
  and repeats ignored), other fields as exact strings (the two free-text fields too: exact,
  not similar).
- Kappa is computed for the closed fields (those with known values in `roleext.schema`), each
  distinct value being a category: the empty value is a category of its own, and a list field's
  category is its set of values (["答疑", "询价"] and ["询价", "答疑"] are one category).
  kappa = (p_o - p_e) / (1 - p_e), p_o the share of cells that agree, p_e the agreement expected
  from each side's own category shares; it is undefined (None) where p_e is 1 (both sides
  used one and the same category in every cell) or there are no cells. The two sides (Cohen's
  two raters) are each record's first and second annotator in assignment order, whoever they
  are: in a team of three, kappa measures first labels against second labels, not two fixed people.
- Overall: agreement is the share of agreeing cells over all fields; kappa is the mean of the
  closed fields' kappas that are defined (None when none is).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Hashable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from roleext.annotations import ordered_annotators
from roleext.i18n import _, ngettext
from roleext.io import Split
from roleext.schema import FIELDS, FIELDS_BY_NAME, Customer, empty_customer
from roleext.scoring import pair_customers
from roleext.store import ProjectStore


@dataclass(frozen=True)
class Cell:
    """One field of one customer pair of a record, as the two annotators labelled it."""

    record_id: int
    split: Split
    index: int
    customer: int
    """1-based: the first annotator's customers, then the second's that none of them paired."""
    field: str
    first: str
    second: str
    a: Any
    b: Any

    @property
    def agree(self) -> bool:
        return same_value(self.a, self.b)


def same_value(a: Any, b: Any) -> bool:
    """Whether two values of a field are equal as the scorer compares them (lists as sets)."""
    return category(a) == category(b)


def category(value: Any) -> Hashable:
    """A value as a kappa category: a list is its set of values, an absent value the empty string."""
    if isinstance(value, list):
        return tuple(sorted({str(v) for v in value}))
    return "" if value is None else str(value)


def customer_pairs(first: list[Customer], second: list[Customer]) -> list[tuple[Customer, Customer]]:
    """The two annotators' customers paired as the scorer pairs gold with prediction, then the
    second's left-over customers each beside an empty one (see the module's docstring)."""
    paired = pair_customers(first, second)
    pairs = list(zip(first, paired, strict=True))
    taken = {id(customer) for customer in paired}
    pairs.extend((empty_customer(), customer) for customer in second if id(customer) not in taken)
    return pairs


def record_cells(record_id: int, split: Split, index: int, first: tuple[str, list[Customer]],
                 second: tuple[str, list[Customer]]) -> Iterator[Cell]:
    """Every cell of a record labelled by two annotators, customer by customer, in schema order."""
    for number, (a, b) in enumerate(customer_pairs(first[1], second[1]), start=1):
        for spec in FIELDS:
            yield Cell(record_id, split, index, number, spec.name, first[0], second[0],
                       a.get(spec.name, spec.empty()), b.get(spec.name, spec.empty()))


def cohen_kappa(first: Sequence[Hashable], second: Sequence[Hashable]) -> float | None:
    """Cohen's kappa of two raters' categories over the same items; None where it is undefined."""
    n = len(first)
    if n == 0 or n != len(second):
        return None
    observed = sum(a == b for a, b in zip(first, second, strict=True)) / n
    shares_a, shares_b = Counter(first), Counter(second)
    expected = sum(shares_a[c] * shares_b[c] for c in shares_a) / (n * n)
    if expected >= 1:
        return None
    return (observed - expected) / (1 - expected)


@dataclass(frozen=True)
class FieldAgreement:
    """One field's line of the agreement table."""

    field: str
    cells: int
    agreed: int
    kappa: float | None

    @property
    def agreement(self) -> float | None:
        return self.agreed / self.cells if self.cells else None


@dataclass
class AgreementReport:
    """The agreement table of a split, and every cell the two annotators labelled differently."""

    split: Split
    records: int
    fields: list[FieldAgreement]
    disagreements: list[Cell] = field(default_factory=list)

    @property
    def agreement(self) -> float | None:
        cells = sum(f.cells for f in self.fields)
        return sum(f.agreed for f in self.fields) / cells if cells else None

    @property
    def kappa(self) -> float | None:
        kappas = [f.kappa for f in self.fields if f.kappa is not None]
        return sum(kappas) / len(kappas) if kappas else None

    def as_json(self) -> dict[str, Any]:
        return {"split": self.split, "records": self.records,
                "fields": [{"field": f.field, "agreement": f.agreement, "kappa": f.kappa} for f in self.fields],
                "overall": {"agreement": self.agreement, "kappa": self.kappa},
                "disagreements": len(self.disagreements)}

    def rows(self) -> list[dict[str, str]]:
        """The table as a reader sees it (the app's and the terminal's)."""
        return [{"field": f.field, "agreement": _share(f.agreement), "kappa": _number(f.kappa)}
                for f in self.fields] + [{"field": _("overall"), "agreement": _share(self.agreement),
                                          "kappa": _number(self.kappa)}]

    def lines(self) -> list[str]:
        out = [ngettext("{split}: {n} record labelled by two annotators, {d} cells disagree",
                        "{split}: {n} records labelled by two annotators, {d} cells disagree", self.records).format(
            split=self.split, n=self.records, d=len(self.disagreements))]
        width = max(len(row["field"]) * 2 for row in self.rows())
        for row in self.rows():
            pad = " " * (width - sum(2 if ord(c) > 0x2E80 else 1 for c in row["field"]))
            out.append(f"{row['field']}{pad}  {row['agreement']:>7}  {row['kappa']:>6}")
        return out


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def agreement_of(cells: Sequence[Cell], records: int, split: Split) -> AgreementReport:
    """The table over `cells` (of `records` records): exact agreement per field, kappa for closed ones."""
    by_field: dict[str, list[Cell]] = {spec.name: [] for spec in FIELDS}
    for cell in cells:
        by_field[cell.field].append(cell)
    rows = []
    for name, own in by_field.items():
        kappa = (cohen_kappa([category(c.a) for c in own], [category(c.b) for c in own])
                 if FIELDS_BY_NAME[name].closed else None)
        rows.append(FieldAgreement(name, len(own), sum(c.agree for c in own), kappa))
    return AgreementReport(split, records, rows, [c for c in cells if not c.agree])


def split_labels(store: ProjectStore, split: Split) -> list[tuple[int, int, list[tuple[str, list[Customer]]]]]:
    """(record id, index, [(annotator, customers), ...] first annotator first) of every record of
    the split that someone labelled, in file order."""
    r, a, n = store.records, store.assignments, store.annotations
    with store.engine.connect() as conn:
        rows = conn.execute(select(n.c.record_id, n.c.annotator, n.c.infos, r.c.idx)
                            .join(r, r.c.id == n.c.record_id)
                            .where(r.c.split == split, r.c.idx.is_not(None))).all()
        if not rows:
            return []
        order = conn.execute(select(a.c.record_id, a.c.annotator).join(r, r.c.id == a.c.record_id)
                             .where(r.c.split == split).order_by(a.c.assigned_at, a.c.id)).all()
    labels: dict[int, dict[str, list[Customer]]] = {}
    index: dict[int, int] = {}
    for row in rows:
        labels.setdefault(row.record_id, {})[row.annotator] = json.loads(row.infos)
        index[row.record_id] = row.idx
    assigned: dict[int, list[str]] = {}
    for record_id, name in order:
        assigned.setdefault(record_id, []).append(name)
    out = [(record_id, index[record_id], [(name, found[name]) for name in
                                          ordered_annotators(assigned.get(record_id, []), found)])
           for record_id, found in labels.items()]
    return sorted(out, key=lambda item: item[1])


def labelled_twice(store: ProjectStore, split: Split) -> list[tuple[int, int, list[tuple[str, list[Customer]]]]]:
    """`split_labels` of the records two annotators or more have labelled."""
    return [item for item in split_labels(store, split) if len(item[2]) >= 2]


def agreement(store: ProjectStore, split: Split) -> AgreementReport:
    """The split's agreement table over every record two annotators labelled (see the module)."""
    cells: list[Cell] = []
    twice = labelled_twice(store, split)
    for record_id, index, labels in twice:
        cells.extend(record_cells(record_id, split, index, labels[0], labels[1]))
    return agreement_of(cells, len(twice), split)
