"""Scoring what the project holds: predictions of a split against its (reviewed) gold."""

from __future__ import annotations

from dataclasses import dataclass

from roleext.io import Split
from roleext.schema import Customer
from roleext.scoring import ScoreReport, baselines, score_predictions
from roleext.store import ProjectStore


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
