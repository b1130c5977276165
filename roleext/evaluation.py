"""Scoring what the project holds: a run's predictions of a split against its (reviewed) gold,
and two runs side by side."""

from __future__ import annotations

from dataclasses import dataclass

from roleext.i18n import _
from roleext.io import Split
from roleext.project import Record
from roleext.schema import FIELD_NAMES, Customer, value_text
from roleext.scoring import FieldComparison, ScoreReport, baselines, compare_customers, score_predictions
from roleext.store import ProjectStore

WRONG_MARK = "✗"
"""How a field the prediction got wrong is marked in a table, beside its highlight."""


@dataclass(frozen=True)
class Evaluation:
    report: ScoreReport
    baselines: dict[str, float]
    predicted: int
    """Records with gold that have a prediction; the rest score as empty answers."""


def _gold_and_predictions(store: ProjectStore, split: Split,
                          run: int | None) -> tuple[dict[int, list[Customer]], dict[int, list[Customer]]]:
    gold: dict[int, list[Customer]] = {}
    predicted: dict[int, list[Customer]] = {}
    for record in store.iter_records(split, run=run):
        if not record.gold:
            continue
        gold[record.index] = record.gold
        if record.prediction is not None:
            predicted[record.index] = record.prediction.infos
    return gold, predicted


def evaluate(store: ProjectStore, split: Split = "train", run: int | None = None) -> Evaluation | None:
    """The score of a run's predictions (default: the split's shown run) on the split's records
    with gold, or None if none has gold."""
    gold, predicted = _gold_and_predictions(store, split, run)
    if not gold:
        return None
    return Evaluation(score_predictions(gold, predicted), baselines(gold), len(predicted))


@dataclass(frozen=True)
class RunComparison:
    """Two runs of one split scored on the same gold, field by field and record by record."""

    first_run: int
    second_run: int
    first: Evaluation
    second: Evaluation
    differences: list[dict[str, str | int | float]]
    """Every field of a gold customer that the two runs answered differently."""

    def score_rows(self) -> list[dict[str, int | float]]:
        """Each run's score, and how far it is above (or below) each baseline on the same gold."""
        base = self.first.baselines
        return [{"run": run, "score": round(side.report.score, 4),
                 "vs all-empty": round(side.report.score - base["all-empty"], 4),
                 "vs prior": round(side.report.score - base["prior"], 4), "predicted": side.predicted}
                for run, side in ((self.first_run, self.first), (self.second_run, self.second))]

    def field_rows(self) -> list[dict[str, str | int | float]]:
        """Per field, in the schema's order: points each run earns, and the second minus the first."""
        second = {f.field: f.earned for f in self.second.report.fields}
        return [{"field": row["field"], "weight": row["weight"], "first": row["earned"],
                 "second": round(second[str(row["field"])], 4),
                 "difference": round(second[str(row["field"])] - float(row["earned"]), 4)}
                for row in field_rows(self.first.report)]

    @property
    def records_differing(self) -> int:
        return len({row["record"] for row in self.differences})


def _same(first: str | list[str], second: str | list[str]) -> bool:
    """Two answers to one field are the same answer (lists as sets, as the metric reads them)."""
    if isinstance(first, list) and isinstance(second, list):
        return set(first) == set(second)
    return first == second


def compare_runs(store: ProjectStore, split: Split, first: int, second: int) -> RunComparison | None:
    """Run `first` beside run `second` on the split's records with gold; None if none has gold."""
    gold, one = _gold_and_predictions(store, split, first)
    if not gold:
        return None
    _, two = _gold_and_predictions(store, split, second)
    differences: list[dict[str, str | int | float]] = []
    for index, customers in gold.items():
        if one.get(index, []) == two.get(index, []):
            continue
        for a, b in zip(compare_customers(customers, one.get(index, [])),
                        compare_customers(customers, two.get(index, [])), strict=True):
            if not _same(a.predicted, b.predicted):
                differences.append({"record": index, "customer": a.customer, "field": a.field,
                                    "gold": value_text(a.gold), "first": value_text(a.predicted),
                                    "second": value_text(b.predicted), "first points": round(a.earned, 2),
                                    "second points": round(b.earned, 2), "of": a.possible})
    return RunComparison(first, second, Evaluation(score_predictions(gold, one), baselines(gold), len(one)),
                         Evaluation(score_predictions(gold, two), baselines(gold), len(two)), differences)


def field_rows(report: ScoreReport) -> list[dict[str, str | int | float]]:
    """The per-field table in the schema's field order: weight, points earned, exact-match rate."""
    order = {name: position for position, name in enumerate(FIELD_NAMES)}
    return [{"field": f.field, "weight": f.weight, "earned": round(f.earned, 4), "accuracy": round(f.accuracy, 3)}
            for f in sorted(report.fields, key=lambda f: order[f.field])]


def mistake_rows(report: ScoreReport) -> list[dict[str, str | int | float]]:
    """Every wrong field, by record and customer, values as text (价格、工时), not Python lists."""
    return [{"record": m.index, "customer": m.customer, "field": m.field, "gold": value_text(m.gold),
             "predicted": value_text(m.predicted), "earned": round(m.earned, 2), "of": m.possible}
            for m in sorted(report.mistakes, key=lambda m: (m.index, m.customer, FIELD_NAMES.index(m.field)))]


def compare_prediction(record: Record) -> list[FieldComparison]:
    """The record's prediction field by field beside its gold; empty without both."""
    if record.prediction is None or not record.gold:
        return []
    return compare_customers(record.gold, record.prediction.infos)


def comparison_rows(comparisons: list[FieldComparison]) -> list[dict[str, str]]:
    """The comparison as a table a reviewer reads: values as text, wrong fields marked."""
    return [{"wrong": WRONG_MARK if c.wrong else "", "field": c.field, "gold": value_text(c.gold),
             "prediction": value_text(c.predicted), "points": _("{earned:.2g} of {possible}").format(
                 earned=c.earned, possible=c.possible),
             "customer": str(c.customer)} for c in comparisons]


def wrong_fields_line(comparisons: list[FieldComparison]) -> str:
    """The wrong fields in one line, naming the customer only where the record has several."""
    several = len({c.customer for c in comparisons}) > 1
    return "、".join(_("{field} (customer {n})").format(field=c.field, n=c.customer) if several else c.field
                    for c in comparisons if c.wrong)
