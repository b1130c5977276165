"""The offline rules as a precision filter over an LLM's answers, chosen field by field on gold.

An LLM fills more fields than the rules do, and under the metric a wrong value costs what an
empty one earns: where its values are often wrong, keeping them only where the rules found
the same value (or not at all) may score more. Which is better differs by field, so each
field takes one source, chosen by the points it earns on labelled records:

- "llm":   the LLM's value;
- "rules": the rules' value;
- "agree": the LLM's value where the rules' value is the same, else the field's empty answer
  (the prior value for the prior fields: 咨询类型 答疑, 客户是否有卡点 无卡点).

The choice is made on the very records it is scored on, so the train figure is at least the
better of the two sources by construction, and is optimistic; `cross_validate` gives the
held-out figure. Pure: the callers read and write the store (`roleext.filter_runs`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, get_args

from roleext.schema import (
    FIELD_NAMES,
    FIELDS,
    FIELDS_BY_NAME,
    NAME_FIELD,
    PRIOR_VALUES,
    Customer,
    empty_customer,
    prior_customer,
)
from roleext.scoring import pair_customers, score_predictions

Source = Literal["llm", "rules", "agree"]
SOURCES: tuple[Source, ...] = get_args(Source)
"""In order of preference on a tie: the LLM's own answer first, as the run being filtered."""

Predictions = Mapping[int, list[Customer]]
"""Customers by 1-based record index, as `scoring.score_predictions` reads them."""


def _same(first: object, second: object) -> bool:
    """Two values of one field are the same answer (lists as sets, as the metric reads them)."""
    if isinstance(first, list) and isinstance(second, list):
        return set(first) == set(second)
    return first == second


def _fallback(field: str) -> str | list[str]:
    """What "agree" answers where the two disagree: what the field holds with no evidence."""
    value = PRIOR_VALUES.get(field)
    if value is None:
        return FIELDS_BY_NAME[field].empty()
    return list(value) if isinstance(value, list) else value


def _partners(customers: list[Customer], others: list[Customer], missing: Customer) -> list[Customer]:
    """Each customer's counterpart among `others`, paired as the scorer pairs a prediction with
    gold (same name, else same position); `missing` where there is none."""
    paired = pair_customers(customers, others)
    return [p if any(p is o for o in others) else missing for p in paired]


def combine(llm_customers: list[Customer], rules_customers: list[Customer],
            sources: Mapping[str, Source]) -> list[Customer]:
    """One record's customers, each field from its source (a field not in `sources`: "llm").

    Which customers there are follows the name's source: the rules' customers when the name
    comes from the rules, else the LLM's, each paired with the other side's customer of the
    same name (else position). A customer the rules did not find counts as the rules' prior
    answer; one the LLM did not give counts as an empty answer."""
    name_source = sources.get(NAME_FIELD, "llm")
    if name_source == "rules":
        pairs = list(zip(_partners(rules_customers, llm_customers, empty_customer()), rules_customers, strict=True))
    else:
        pairs = list(zip(llm_customers, _partners(llm_customers, rules_customers, prior_customer()), strict=True))
    combined = []
    for llm, rules in pairs:
        customer = empty_customer()
        for spec in FIELDS:
            mine, theirs = llm.get(spec.name, spec.empty()), rules.get(spec.name, spec.empty())
            source = sources.get(spec.name, "llm")
            if source == "llm":
                customer[spec.name] = mine
            elif source == "rules":
                customer[spec.name] = theirs
            else:
                customer[spec.name] = mine if _same(mine, theirs) else _fallback(spec.name)
        combined.append(customer)
    return combined


def combine_all(llm: Predictions, rules: Predictions, sources: Mapping[str, Source]) -> dict[int, list[Customer]]:
    """`combine` for every record the LLM answered."""
    return {index: combine(customers, rules.get(index, []), sources) for index, customers in llm.items()}


def _field_points(gold: Predictions, llm: Predictions, rules: Predictions,
                  sources: Mapping[str, Source]) -> dict[str, float]:
    """Each field's share of the score of `sources` on the gold records."""
    predicted = {index: combine(llm.get(index, []), rules.get(index, []), sources) for index in gold}
    return {row.field: row.earned for row in score_predictions(gold, predicted).fields}


def learn_sources(gold: Predictions, llm: Predictions, rules: Predictions) -> dict[str, Source]:
    """Per field, the source whose values earn the most points on the records of `gold`
    (a tie goes to "llm", then "rules").

    Every field but the name scores apart from the others once the customers are fixed, and
    the customers are fixed by the name's source; so for each source of the name, every
    other field takes its best source, and the best of those three wholes wins. All "llm"
    and all "rules" are among the candidates: the result scores at least the better of the
    two on these records."""
    best: tuple[float, dict[str, Source]] | None = None
    for name_source in SOURCES:
        points = {source: _field_points(gold, llm, rules, {**dict.fromkeys(FIELD_NAMES, source),
                                                            NAME_FIELD: name_source})
                  for source in SOURCES}
        chosen: dict[str, Source] = {}
        total = 0.0
        for field in FIELD_NAMES:
            if field == NAME_FIELD:
                chosen[field] = name_source
                total += points["llm"][field]  # the name scores alike whatever the other fields' sources
                continue
            source = max(SOURCES, key=lambda s: (points[s][field], -SOURCES.index(s)))
            chosen[field] = source
            total += points[source][field]
        if best is None or total > best[0]:
            best = (total, chosen)
    assert best is not None
    return best[1]


@dataclass(frozen=True)
class FilterScores:
    """The LLM, the rules and their combination scored on the same labelled records."""

    llm: float
    rules: float
    combined: float
    records: int


def filter_scores(gold: Predictions, llm: Predictions, rules: Predictions,
                  sources: Mapping[str, Source]) -> FilterScores:
    """The three scores of `sources` on the records of `gold`."""
    combined = {index: combine(llm.get(index, []), rules.get(index, []), sources) for index in gold}
    return FilterScores(score_predictions(gold, llm).score, score_predictions(gold, rules).score,
                        score_predictions(gold, combined).score, len(gold))


def cross_validate(gold: Predictions, llm: Predictions, rules: Predictions, folds: int = 5) -> FilterScores:
    """The held-out figure: each record's combination uses sources learnt on the other folds
    (records dealt to folds in index order), so no record chooses its own sources."""
    indices = sorted(gold)
    combined: dict[int, list[Customer]] = {}
    for fold in range(folds):
        held = set(indices[fold::folds])
        if not held:
            continue
        sources = learn_sources({i: gold[i] for i in indices if i not in held}, llm, rules)
        for index in held:
            combined[index] = combine(llm.get(index, []), rules.get(index, []), sources)
    return FilterScores(score_predictions(gold, llm).score, score_predictions(gold, rules).score,
                        score_predictions(gold, combined).score, len(gold))
