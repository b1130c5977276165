"""The offline extractor on records it never saw: k-fold held-out score beside the in-sample one.

Target (issue 10): 28.8 or more held out on the 100 records of ../shared/data/train.json.
With 100 labels an in-sample gain overstates (CONTEXT.md), so this prints:

- k-fold (default 5 folds x 5 seeds), mean and sd over folds: the extractor with the rules the
  training folds switch on (a rule stays on only if it gained points on the training folds),
  the same with every rule on, the old extractor (no rules) and the prior on the same folds;
- the design / check halves: the hand rules were written looking at the gold of the design
  half only (seeded shuffle below), so the check half is the honest figure for them;
- per field, points over the prior held out; per rule, precision and points on each half.

Staff are learnt from every chat at hand, train and test, as a project does (no labels).
Reads ../shared/data/train.json (and test_data.json beside it) when there, else the sample.

    .venv/bin/python benchmarks/extraction_kfold.py [FILE] [--folds 5] [--seeds 5]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from roleext.cleaning import learn_profile  # noqa: E402
from roleext.extract import extract_customers  # noqa: E402
from roleext.io import load_chat_file  # noqa: E402
from roleext.rule_report import LabelledChat, measure_rules  # noqa: E402
from roleext.rules import RULE_NAMES  # noqa: E402
from roleext.sample import SAMPLE_TRAIN  # noqa: E402
from roleext.schema import FIELD_NAMES, Customer, prior_customer  # noqa: E402
from roleext.scoring import score_predictions  # noqa: E402

SHARED = ROOT.parent / "shared" / "data" / "train.json"
DESIGN_SEED = 2024
"""The shuffle whose first half of the records the hand rules were designed on."""


def design_half(count: int) -> list[int]:
    """1-based indices of the records the rules were designed on (the rest is the check half)."""
    order = list(range(1, count + 1))
    random.Random(DESIGN_SEED).shuffle(order)
    return sorted(order[: count // 2])


class Runs:
    """Extractions by (record, disabled rules), computed once."""

    def __init__(self, chats: dict[int, LabelledChat], staff: frozenset[str]) -> None:
        self.chats = chats
        self.staff = staff
        self._cache: dict[tuple[int, frozenset[str]], list[Customer]] = {}

    def predict(self, index: int, disabled: frozenset[str]) -> list[Customer]:
        key = (index, disabled)
        if key not in self._cache:
            self._cache[key] = extract_customers(self.chats[index].chat_text, self.staff, disabled)
        return self._cache[key]

    def score(self, indices: Iterable[int], disabled: frozenset[str]) -> tuple[float, dict[str, float]]:
        indices = list(indices)
        report = score_predictions({i: self.chats[i].gold for i in indices},
                                   {i: self.predict(i, disabled) for i in indices})
        return report.score, {f.field: f.earned for f in report.fields}


def prior_score(chats: dict[int, LabelledChat], indices: Iterable[int]) -> tuple[float, dict[str, float]]:
    indices = list(indices)
    report = score_predictions({i: chats[i].gold for i in indices}, {i: [prior_customer()] for i in indices})
    return report.score, {f.field: f.earned for f in report.fields}


def learn_switches(runs: Runs, train: list[int]) -> frozenset[str]:
    """The rules to switch off for this fold: those that did not gain points on its training records."""
    stats = measure_rules([runs.chats[i] for i in train], runs.staff)
    return frozenset(s.rule.name for s in stats if s.points <= 0)


def folds(indices: list[int], k: int, seed: int) -> list[list[int]]:
    order = list(indices)
    random.Random(seed).shuffle(order)
    return [sorted(order[f::k]) for f in range(k)]


def _mean_sd(values: list[float]) -> str:
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.4f} ± {sd:.4f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", nargs="?", type=Path, default=SHARED if SHARED.exists() else SAMPLE_TRAIN)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="also print the figures as one JSON line")
    args = parser.parse_args()

    records = [r for r in load_chat_file(args.file).records if r.infos]
    chats = {r.index: LabelledChat(r.chat_text, r.infos) for r in records}
    texts = [r.chat_text for r in records]
    test_file = args.file.parent / "test_data.json"
    if test_file.exists() and test_file != args.file:
        texts += [r.chat_text for r in load_chat_file(test_file).records]
    staff = learn_profile(texts).staff
    runs = Runs(chats, staff)
    indices = sorted(chats)
    none: frozenset[str] = frozenset()
    old = frozenset(RULE_NAMES)
    k = max(2, min(args.folds, len(indices)))
    print(f"{args.file}: {len(indices)} records with gold, staff learnt from {len(texts)} chats: {len(staff)}")

    gated, all_on, old_scores, prior_scores = [], [], [], []
    field_gain = {name: 0.0 for name in FIELD_NAMES}
    switched_on = {name: 0 for name in RULE_NAMES}
    fold_count = 0
    for seed in range(args.seeds):
        for held in folds(indices, k, seed):
            train = [i for i in indices if i not in set(held)]
            off = learn_switches(runs, train)
            for name in RULE_NAMES:
                switched_on[name] += name not in off
            score, per_field = runs.score(held, off)
            base, base_fields = prior_score(chats, held)
            gated.append(score)
            all_on.append(runs.score(held, none)[0])
            old_scores.append(runs.score(held, old)[0])
            prior_scores.append(base)
            for name in FIELD_NAMES:
                field_gain[name] += per_field[name] - base_fields[name]
            fold_count += 1

    in_sample = runs.score(indices, none)[0]
    print(f"\nk-fold held out ({k} folds x {args.seeds} seeds, mean ± sd over {fold_count} folds):")
    print(f"  rules switched by training folds  {_mean_sd(gated)}")
    print(f"  every rule on                     {_mean_sd(all_on)}")
    print(f"  old extractor (no rules)          {_mean_sd(old_scores)}")
    print(f"  prior                             {_mean_sd(prior_scores)}")
    print(f"in-sample, every rule on: {in_sample:.4f}; old extractor {runs.score(indices, old)[0]:.4f}; "
          f"prior {prior_score(chats, indices)[0]:.4f}")

    design = [i for i in design_half(len(indices)) if i in chats] if len(indices) == 100 else []
    check = [i for i in indices if i not in set(design)]
    if design:
        print(f"\nhand rules designed on {len(design)} records (seed {DESIGN_SEED}), checked on {len(check)}:")
        for label, half in (("design half", design), ("check half", check)):
            print(f"  {label:12} rules {runs.score(half, none)[0]:.4f}  old {runs.score(half, old)[0]:.4f}  "
                  f"prior {prior_score(chats, half)[0]:.4f}")

    print("\nper field, points over the prior per record (held out, switched rules):")
    for name in FIELD_NAMES:
        if abs(field_gain[name]) > 1e-9:
            print(f"  {name:16} {field_gain[name] / fold_count:+.4f}")

    print("\nper rule: fired / right (precision), points per record over the prior "
          "(a speaker rule: over the extraction without it)")
    halves = [("design", design), ("check", check)] if design else [("all", indices)]
    table: dict[str, dict[str, object]] = {}
    for label, half in halves:
        for s in measure_rules([chats[i] for i in half], staff):
            precision = "-" if s.precision is None else f"{s.precision:.2f}"
            table.setdefault(s.rule.name, {"on in folds": f"{switched_on[s.rule.name]}/{fold_count}"})[label] = (
                f"{s.fired:3d}/{s.right:<3d} ({precision}) {s.gain_per_record:+.3f}")
    for name, row in table.items():
        print(f"  {name:28} " + "  ".join(f"{key}: {value}" for key, value in row.items()))

    if args.json:
        print(json.dumps({"heldout_mean": statistics.mean(gated), "heldout_sd": statistics.pstdev(gated),
                          "all_on_mean": statistics.mean(all_on), "old_mean": statistics.mean(old_scores),
                          "prior_mean": statistics.mean(prior_scores), "in_sample": in_sample}))


if __name__ == "__main__":
    main()
