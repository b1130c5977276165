"""The competition metric, made explicit where the organisers left it unpublished.

Published: 36 points a record (the field weights), exact match except two free-text fields
scored by similarity, mean over records. Chosen here, and stated in `METHOD`: pairing,
list comparison, which similarity, and averaging over a record's gold customers.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field

from rapidfuzz.distance import Indel

from roleext.i18n import N_, _, translate
from roleext.schema import (
    FIELDS,
    MAX_RECORD_SCORE,
    NAME_FIELD,
    Customer,
    Field,
    empty_customer,
    prior_customer,
)

METHOD = N_(
    "each gold customer is paired with the predicted customer of the same name, else the one "
    "at the same position, else an empty one; list fields compare as sets; 预算明细 and "
    "具体事项 score weight x normalized Indel similarity (2·LCS / total characters, "
    "1 when both are empty); a record scores the mean over its gold customers; the final "
    "score is the mean over records with gold"
)
"""Kept in English in the JSON report; shown with `translate(METHOD)`."""


@dataclass(frozen=True)
class FieldComparison:
    """One field of one gold customer beside the prediction scored against it."""

    customer: int
    field: str
    gold: str | list[str]
    predicted: str | list[str]
    earned: float
    possible: int

    @property
    def wrong(self) -> bool:
        """The prediction lost points on this field (a near miss of a similarity field too)."""
        return self.earned < self.possible


@dataclass(frozen=True)
class Mistake(FieldComparison):
    """A field a prediction got (partly) wrong, with its record, for the user to open and inspect."""

    index: int


@dataclass
class FieldScore:
    """A field's share of the final score: mean points earned against its weight."""

    field: str
    weight: int
    earned: float = 0.0
    exact: int = 0
    customers: int = 0

    @property
    def accuracy(self) -> float:
        return self.exact / self.customers if self.customers else 0.0


@dataclass
class ScoreReport:
    """The final score, its split by field, and every field a prediction missed."""

    score: float
    records: int
    fields: list[FieldScore]
    record_scores: dict[int, float]
    mistakes: list[Mistake] = field(default_factory=list)
    skipped: int = 0
    method: str = METHOD


def _as_set(value: object) -> set[str]:
    if isinstance(value, list):
        return {str(v) for v in value}
    return {str(value)} if value else set()


def field_points(spec: Field, gold: object, predicted: object) -> float:
    """Points one predicted value earns against the gold value of one field."""
    if spec.kind == "list":
        return float(spec.weight) if _as_set(gold) == _as_set(predicted) else 0.0
    gold_text = gold if isinstance(gold, str) else ""
    pred_text = predicted if isinstance(predicted, str) else ""
    if spec.similarity:
        if not gold_text and not pred_text:
            return float(spec.weight)
        return spec.weight * Indel.normalized_similarity(gold_text, pred_text)
    return float(spec.weight) if gold_text == pred_text else 0.0


def pair_customers(gold: list[Customer], predicted: list[Customer]) -> list[Customer]:
    """The predicted customer each gold customer is scored against (by name, position, or empty)."""
    used: set[int] = set()
    paired: list[Customer | None] = [None] * len(gold)
    for i, customer in enumerate(gold):
        name = customer.get(NAME_FIELD)
        if not name:
            continue
        for j, candidate in enumerate(predicted):
            if j not in used and candidate.get(NAME_FIELD) == name:
                paired[i] = candidate
                used.add(j)
                break
    for i in range(len(gold)):
        if paired[i] is None and i < len(predicted) and i not in used:
            paired[i] = predicted[i]
            used.add(i)
    return [p if p is not None else empty_customer() for p in paired]


def compare_customers(gold: list[Customer], predicted: list[Customer]) -> list[FieldComparison]:
    """Every field of every gold customer beside its paired prediction, in schema order."""
    out = []
    for number, (gold_c, pred_c) in enumerate(zip(gold, pair_customers(gold, predicted), strict=True), start=1):
        for spec in FIELDS:
            g, p = gold_c.get(spec.name, spec.empty()), pred_c.get(spec.name, spec.empty())
            out.append(FieldComparison(number, spec.name, g, p, field_points(spec, g, p), spec.weight))
    return out


def score_predictions(gold: Mapping[int, list[Customer]],
                      predicted: Mapping[int, list[Customer]]) -> ScoreReport:
    """Score predictions (by 1-based index) against gold; records without gold are skipped."""
    table = {spec.name: FieldScore(spec.name, spec.weight) for spec in FIELDS}
    record_scores: dict[int, float] = {}
    mistakes: list[Mistake] = []
    skipped = 0
    for index, gold_customers in gold.items():
        if not gold_customers:
            skipped += 1
            continue
        share = 1.0 / len(gold_customers)
        total = 0.0
        for cell in compare_customers(gold_customers, predicted.get(index, [])):
            total += cell.earned * share
            row = table[cell.field]
            row.earned += cell.earned * share
            row.customers += 1
            if cell.wrong:
                mistakes.append(Mistake(cell.customer, cell.field, cell.gold, cell.predicted, cell.earned,
                                        cell.possible, index))
            else:
                row.exact += 1
        record_scores[index] = total
    count = len(record_scores)
    for row in table.values():
        row.earned = row.earned / count if count else 0.0
    final = sum(record_scores.values()) / count if count else 0.0
    return ScoreReport(final, count, list(table.values()), record_scores, mistakes, skipped)


def baselines(gold: Mapping[int, list[Customer]]) -> dict[str, float]:
    """What doing nothing scores on this gold: all-empty answers, and the prior answer."""
    return {
        "all-empty": score_predictions(gold, {i: [empty_customer()] for i in gold}).score,
        "prior": score_predictions(gold, {i: [prior_customer()] for i in gold}).score,
    }


def format_report(report: ScoreReport, base: Mapping[str, float] | None = None) -> list[str]:
    """The human-readable table the CLI prints; the last line is `score: X.XXXX` in every language,
    for scripts that read it."""
    lines = [f"{_pad(_('field'), 24)} {_pad(_('weight'), 6, right=True)} {_pad(_('earned'), 8, right=True)} "
             f"{_pad(_('accuracy'), 9, right=True)}"]
    for row in report.fields:
        lines.append(f"{_pad(row.field, 24)} {row.weight:>6} {row.earned:>8.4f} {row.accuracy:>9.1%}")
    lines.append(_("records scored: {records} (of {points} points each)").format(
        records=report.records, points=MAX_RECORD_SCORE)
                 + (_(", {n} without gold skipped").format(n=report.skipped) if report.skipped else ""))
    names = {"all-empty": _("all-empty"), "prior": _("prior")}
    for name, value in (base or {}).items():
        lines.append(_("baseline {name}: {value:.4f}").format(name=names.get(name, name), value=value))
    lines.append(_("method: {method}").format(method=translate(report.method)))
    lines.append(f"score: {report.score:.4f}")
    return lines


def _pad(text: str, width: int, right: bool = False) -> str:
    """Align in a terminal, where CJK characters take two columns."""
    used = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)
    space = " " * max(0, width - used)
    return space + text if right else text + space
