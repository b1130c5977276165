"""How each offline rule does on the gold a project holds: how often it fires, how often it is
right, and the points it earns over the prior.

A rule earns its place by precision: under the metric a wrong value costs what an empty one
would have earned. Every rule is measured as if on, whatever the project's switches say, so
a user can see what turning one back on would do.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from roleext.cleaning import learn_profile
from roleext.extract import extract_with_trace
from roleext.i18n import _, translate
from roleext.io import Split
from roleext.rules import RULES, Rule, Value
from roleext.schema import FIELDS_BY_NAME, NAME_FIELD, Customer, prior_customer
from roleext.scoring import field_points, pair_customers, score_predictions
from roleext.store import ProjectStore


@dataclass(frozen=True)
class LabelledChat:
    chat_text: str
    gold: list[Customer]


@dataclass(frozen=True)
class RuleStats:
    """One rule on a set of labelled chats."""

    rule: Rule
    enabled: bool
    records: int
    fired: int = 0
    right: int = 0
    points: float = 0.0
    """Points gained over the prior (a speaker rule: over the extraction without it), summed."""

    @property
    def precision(self) -> float | None:
        return self.right / self.fired if self.fired else None

    @property
    def gain_per_record(self) -> float:
        return self.points / self.records if self.records else 0.0


def _points(field: str, gold: list[Customer], predicted: Customer, value: Value) -> float:
    """Mean points of `value` in `field` over the gold customers scored against `predicted`."""
    spec = FIELDS_BY_NAME[field]
    pairs = pair_customers(gold, [predicted])
    total = sum(field_points(spec, g.get(field, spec.empty()), value if p is predicted else spec.empty())
                for g, p in zip(gold, pairs, strict=True))
    return total / len(gold)


def measure_rules(chats: Iterable[LabelledChat], staff: Iterable[str] = (),
                  disabled: Iterable[str] = (), rules: Sequence[Rule] = RULES) -> list[RuleStats]:
    """Per rule: fired, right (its value equals the gold), points over the prior, on chats with gold."""
    staff = frozenset(staff)
    off = set(disabled)
    fired = {rule.name: 0 for rule in rules}
    right = {rule.name: 0 for rule in rules}
    points = {rule.name: 0.0 for rule in rules}
    records = 0
    prior = prior_customer()
    for chat in chats:
        if not chat.gold:
            continue
        records += 1
        extraction = extract_with_trace(chat.chat_text, staff)
        (predicted,) = extraction.customers
        for firing in extraction.firings:
            if firing.rule not in fired:
                continue
            fired[firing.rule] += 1
            weight = FIELDS_BY_NAME[firing.field].weight
            if firing.field == NAME_FIELD:
                right[firing.rule] += any(g.get(NAME_FIELD) == predicted[NAME_FIELD] for g in chat.gold)
                without = extract_with_trace(chat.chat_text, staff, {firing.rule}).customers
                points[firing.rule] += (score_predictions({1: chat.gold}, {1: [predicted]}).score
                                        - score_predictions({1: chat.gold}, {1: without}).score)
            else:
                earned = _points(firing.field, chat.gold, predicted, firing.value)
                right[firing.rule] += earned == weight
                points[firing.rule] += earned - _points(firing.field, chat.gold, predicted, prior[firing.field])
    return [RuleStats(rule, rule.name not in off, records, fired[rule.name], right[rule.name], points[rule.name])
            for rule in rules]


def store_rule_report(store: ProjectStore, split: Split = "train",
                      disabled: Iterable[str] = ()) -> list[RuleStats] | None:
    """The rules measured on the split's records with gold, staff learnt from every chat the
    project holds (as the offline backend does); None when no record has gold."""
    chats = [LabelledChat(r.chat_text, r.gold) for r in store.iter_records(split) if r.gold]
    if not chats:
        return None
    staff = learn_profile(store.iter_all_chats()).staff
    return measure_rules(chats, staff, disabled)


def stats_rows(stats: Iterable[RuleStats]) -> list[dict[str, str | int | float | bool | None]]:
    """The report as a table: one row a rule, precision and gain rounded for reading."""
    return [{"on": s.enabled, "rule": s.rule.name, "field": s.rule.field, "fills": translate(s.rule.fills),
             "fired": s.fired, "right": s.right,
             "precision": None if s.precision is None else round(s.precision, 3),
             "points per record": round(s.gain_per_record, 4), "why": translate(s.rule.why)} for s in stats]


def rule_report_lines(stats: list[RuleStats] | None, disabled: Iterable[str], split: Split) -> list[str]:
    """What `roleext rules` prints: each rule on or off, and how it did on the split's gold."""
    off = set(disabled)

    def state(on: bool) -> str:
        return format(_("on") if on else _("off"), "<3")

    if stats is None:
        lines = [_("{state} {name} ({field}: {fills})").format(
            state=state(rule.name not in off), name=rule.name, field=rule.field, fills=translate(rule.fills))
                 for rule in RULES]
        return [*lines, _("no record of the {split} split has gold: import a train file to measure the rules")
                .format(split=split)]
    lines = []
    for s in stats:
        precision = "-" if s.precision is None else f"{s.precision:.0%}"
        lines.append(_("{state} {name} ({field}: {fills}): fired {fired} of {records}, right {right} ({precision}), "
                       "{gain:+.4f} points a record").format(
            state=state(s.enabled), name=s.rule.name, field=s.rule.field, fills=translate(s.rule.fills),
            fired=s.fired, records=s.records, right=s.right, precision=precision, gain=s.gain_per_record))
    return lines
