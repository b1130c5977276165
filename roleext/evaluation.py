"""Scoring what the project holds: predictions of a split against its (reviewed) gold."""

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


def evaluate(store: ProjectStore, split: Split = "train") -> Evaluation | None:
    """The score of the split's predictions on its records with gold, or None if none has gold."""
    gold: dict[int, list[Customer]] = {}
    predicted: dict[int, list[Customer]] = {}
    for record in store.iter_records(split):
        if not record.gold:
            continue
        gold[record.index] = record.gold
        if record.prediction is not None:
            predicted[record.index] = record.prediction.infos
    if not gold:
        return None
    return Evaluation(score_predictions(gold, predicted), baselines(gold), len(predicted))


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
