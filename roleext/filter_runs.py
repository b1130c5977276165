"""A run made of another run's predictions filtered by the offline rules (`roleext.rule_filter`).

The sources are learnt on the train split's gold from a train run's predictions, then applied
to the run being filtered, whatever its split; the result is a run like any other (listed,
scored, exported, compared), its options saying which source each field took and how that
did on train, learnt and held out.
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import asdict, dataclass

from roleext.cleaning import learn_profile
from roleext.errors import UsageError
from roleext.extract import extract_customers
from roleext.i18n import _
from roleext.project import Record
from roleext.rule_filter import FilterScores, Source, combine, cross_validate, filter_scores, learn_sources
from roleext.runs import Run, RunBook
from roleext.schema import Customer
from roleext.store import ProjectStore

BACKEND = "rules-filter"
"""The backend name of a filter run: no model was called to make it."""
FOLDS = 5


@dataclass(frozen=True)
class FilterRun:
    """What `make_filter_run` made, and the figures a user needs to trust it."""

    run: int
    source: Run
    learned_from: Run
    sources: dict[str, Source]
    train: FilterScores
    """On the train records it was learnt on: at least the better of the two by construction."""
    held_out: FilterScores
    """The same records, each combined with sources learnt without it (k-fold)."""
    written: int
    skipped: int
    """Records of the filtered run without a usable prediction: they have none in the new run either."""


def _usable(record: Record) -> list[Customer] | None:
    prediction = record.prediction
    return None if prediction is None or prediction.error is not None else prediction.infos


def learning_run(book: RunBook, run: Run, learn_from: int | None) -> Run:
    """The train run whose predictions the sources are learnt from: `learn_from`; else `run`
    itself on train; else the newest train run made with the same backend, model and prompt,
    else the newest train run that is not itself a filter run."""
    if learn_from is not None:
        chosen = book.get(learn_from)
        if chosen.split != "train":
            raise UsageError(_("run {run} is a {split} run; --learn-from needs a train run, whose records have "
                               "gold").format(run=chosen.id, split=chosen.split))
        return chosen
    if run.split == "train":
        return run
    candidates = [r for r in book.newest_first("train") if r.backend != BACKEND and r.records]
    same = [r for r in candidates if (r.backend, r.model, r.prompt_hash) == (run.backend, run.model, run.prompt_hash)]
    if not (same or candidates):
        raise UsageError(_("there is no inference run on train to learn from: run `roleext infer --split train` "
                           "with the same model first"))
    return (same or candidates)[0]


def make_filter_run(store: ProjectStore, run_id: int, learn_from: int | None = None) -> FilterRun:
    """Learn each field's source on train, then write the filtered predictions of run `run_id`
    as a new run of its split. Refused (UsageError) when train has no gold or no run to learn from."""
    book = RunBook(store)
    run = book.get(run_id)
    if not any(record.gold for record in store.iter_records("train")):
        raise UsageError(_("no record of the train split has gold to learn the filter from: import a train file"))
    teacher = learning_run(book, run, learn_from)
    gold: dict[int, list[Customer]] = {}
    llm: dict[int, list[Customer]] = {}
    chats: dict[int, str] = {}
    for record in store.iter_records("train", run=teacher.id):
        answer = _usable(record)
        if record.gold and answer is not None:
            gold[record.index], llm[record.index], chats[record.index] = record.gold, answer, record.chat_text
    if not gold:
        raise UsageError(_("run {run} has no usable prediction of a train record with gold to learn from").format(
            run=teacher.id))
    staff = learn_profile(store.iter_all_chats()).staff
    disabled = store.disabled_rules()

    def rules_of(chat: str) -> list[Customer]:
        return extract_customers(chat, staff, disabled)

    rules = {index: rules_of(chat) for index, chat in chats.items()}
    sources = learn_sources(gold, llm, rules)
    train = filter_scores(gold, llm, rules, sources)
    held_out = cross_validate(gold, llm, rules, FOLDS)

    targets = [(record, answer) for record in store.iter_records(run.split, run=run.id)
               if (answer := _usable(record)) is not None]
    skipped = store.count(run.split) - len(targets)
    options = {"filtered_run": run.id, "learned_from": teacher.id, "sources": sources,
               "disabled_rules": sorted(disabled), "train": asdict(train), "held_out": asdict(held_out),
               "folds": FOLDS}
    model = f"run {run.id} {run.backend} {run.model}"
    new_run = book.create(run.split, BACKEND, model, "", options)
    for record, answer in targets:
        combined = combine(answer, rules_of(record.chat_text), sources)
        store.save_prediction(record.id, json.dumps(combined, ensure_ascii=False), combined, BACKEND, model,
                              run=new_run)
    book.end(new_run, failed=0)
    return FilterRun(new_run, run, teacher, sources, train, held_out, len(targets), skipped)


def _columns(text: str) -> int:
    """How wide a text is in a terminal, where a CJK character takes two columns."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def filter_run_lines(made: FilterRun) -> list[str]:
    """What `roleext filter-run` prints: each field's source, then the scores on train."""
    names = {"llm": _("LLM"), "rules": _("rules"), "agree": _("LLM where the rules agree")}
    width = max(_columns(field) for field in made.sources)
    lines = [_("learnt on {records} train records of run {run}").format(
        records=made.train.records, run=made.learned_from.id)]
    teacher, source = made.learned_from, made.source
    if (teacher.backend, teacher.model, teacher.prompt_hash) != (source.backend, source.model, source.prompt_hash):
        lines.append(_("note: run {learnt} was not made with the model and prompt of run {run}; the sources "
                       "chosen on it may not suit run {run} (--learn-from picks another)").format(
            learnt=teacher.id, run=source.id))
    lines += [f"  {field}{' ' * (width - _columns(field))}  {names[source]}" for field, source in made.sources.items()]
    for label, scores in ((_("train (where the sources were chosen)"), made.train),
                          (_("held out ({folds}-fold)").format(folds=FOLDS), made.held_out)):
        lines.append(_("{label}: LLM {llm:.4f} · rules {rules:.4f} · combined {combined:.4f}").format(
            label=label, llm=scores.llm, rules=scores.rules, combined=scores.combined))
    lines.append(_("run {run}: {written} records of run {source} filtered").format(
        run=made.run, written=made.written, source=made.source.id)
        + (_(", {n} without a usable prediction left out").format(n=made.skipped) if made.skipped else ""))
    return lines
