"""One record's work: fit it to the model, call, and put the pieces back together.

A chat over the model's budget is cleaned, then split on message boundaries into chunks
that fit; each chunk is summarized (or extracted) and the results merged. When a provider
still answers "too long" (10907), the record's budget is halved and the record tried again,
down to a floor. `detail` says what was done, for the user to see beside the record.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from roleext.backends.base import Completion
from roleext.budget import content_budget
from roleext.chat import render
from roleext.chunking import MIN_CHUNK_CHARS, split_units
from roleext.cleaning import ChatProfile, clean_chat
from roleext.digest import facts_block
from roleext.errors import BackendError, InputTooLongError
from roleext.fewshot import ExamplePool, examples_block, examples_room
from roleext.i18n import _, remedy
from roleext.merging import merge_customers, merge_summaries
from roleext.parsing import parse_output
from roleext.project import InputSource, Record
from roleext.prompts import MERGE_PROMPT, with_examples
from roleext.redaction import get_logger
from roleext.schema import Customer

log = get_logger("roleext.tasks")

CallKind = Literal["summarize", "merge", "extract"]
Call = Callable[[CallKind, str, str, str], Completion]
"""(kind, prompt, content, chat) -> the model's answer; cached, rate-limited and retried."""


@dataclass(frozen=True)
class TaskOptions:
    """What shapes one record's calls; part of the job's cache and resume keys."""

    template: str
    max_input: int | None
    overlap: int = 2
    prepend_facts: bool = False
    instruction: str | None = None
    input_source: InputSource = "summary"
    drop_unverified: bool = True
    collapse: bool = False
    few_shot: int = 0
    """Worked examples put into the prompt of each record (a base model's only)."""


@dataclass
class Outcome:
    """A record's result: summary text, or raw answer(s) with the customers parsed from them."""

    text: str
    customers: list[Customer] = field(default_factory=list)
    parse_error: str | None = None
    changes: list[str] = field(default_factory=list)
    detail: str = ""


def _halving(attempt: Callable[[int], Outcome], budget: int, size: int) -> Outcome:
    """Run `attempt(budget)`; on 10907 halve the budget and run again, down to MIN_CHUNK_CHARS.

    `size` is the input's length: an input that fit the budget whole and was still refused
    halves from its own length, so the next attempt really is split.
    """
    notes = []
    budget = max(MIN_CHUNK_CHARS, min(budget, size))
    while True:
        try:
            outcome = attempt(budget)
        except InputTooLongError as exc:
            if budget // 2 < MIN_CHUNK_CHARS:
                raise InputTooLongError(_("still too long with chunks of {n:,} characters: {reason}").format(
                    n=budget, reason=exc), code=exc.code, sid=exc.sid) from None
            log.info("the model answered too long at %s characters; halving", budget)
            notes.append(_("the model answered too long at {n:,}, halved").format(n=budget))
            budget //= 2
            continue
        outcome.detail = _("; ").join([outcome.detail, *notes]) if notes else outcome.detail
        return outcome


def summarize_record(call: Call, record: Record, options: TaskOptions, profile: ChatProfile) -> Outcome:
    """A summary of the record's chat within the model's budget, chunked and merged if need be."""
    if options.max_input is None:  # the offline digest fits itself to its budget
        return Outcome(call("summarize", options.template, record.chat_text, record.chat_text).text,
                       detail=_("offline digest"))
    max_input = options.max_input
    clean = clean_chat(record.chat_text, profile)
    units = [render([m]) for m in clean.messages]
    cleaned = _("cleaned {before:,} → {after:,} characters").format(before=clean.chars_before,
                                                                      after=clean.chars_after)

    def attempt(budget: int) -> Outcome:
        chunks = split_units(units, budget, options.overlap) or [""]
        if len(chunks) == 1:
            text, how = call("summarize", options.template, chunks[0], record.chat_text).text, _("1 call")
        else:
            parts = [call("summarize", options.template, chunk, record.chat_text).text for chunk in chunks]
            joined = "\n\n".join(parts)
            if len(joined) <= content_budget(max_input, MERGE_PROMPT):
                text = call("merge", MERGE_PROMPT, joined, record.chat_text).text
                how = _("{n} chunks of at most {chars:,} characters, merged by the model").format(
                    n=len(chunks), chars=budget)
            else:
                text = merge_summaries(parts)
                how = _("{n} chunks of at most {chars:,} characters, joined under the four headings").format(
                    n=len(chunks), chars=budget)
        if options.prepend_facts:
            text = f"{facts_block(clean.with_boilerplate)}\n{text}"
        return Outcome(text, detail=_("{cleaned}; {how}").format(cleaned=cleaned, how=how))

    return _halving(attempt, content_budget(max_input, options.template), len("\n".join(units)))


def record_prompt(record: Record, model_input: str, options: TaskOptions,
                  pool: ExamplePool | None = None) -> tuple[str, str]:
    """The prompt sent with this record's input, with its worked examples; and a note naming them.

    The examples fit beside the input within the model's budget (`fewshot.examples_room`)."""
    prompt = options.instruction or ""
    if pool is None or not options.few_shot:
        return with_examples(prompt, ""), ""
    room = examples_room(options.max_input, prompt, len(model_input))
    examples = pool.choose(record, model_input, options.few_shot, room)
    note = (_("{n} worked examples (train records {indexes})").format(
                n=len(examples), indexes=", ".join(str(e.index) for e in examples))
            if examples else _("no worked example fits beside the input"))
    return with_examples(prompt, examples_block(examples)), note


def infer_record(call: Call, record: Record, options: TaskOptions, profile: ChatProfile,
                 pool: ExamplePool | None = None) -> Outcome:
    """Customers extracted from the record's input; an over-long input is chunked and merged."""
    model_input = record.model_input(options.input_source)
    if model_input is None:
        raise BackendError(_("no current summary (none yet, or one of an older chat): {remedy}").format(
            remedy=remedy(app=_("summarize this split first, or let the model read the raw chat"),
                          cli=_("run summarize first, or infer with --input chat"))))
    prompt, examples_note = record_prompt(record, model_input, options, pool)
    outcome = _infer(call, record, model_input, prompt, options, profile)
    if examples_note:
        outcome.detail = _("{detail}; {examples}").format(detail=outcome.detail, examples=examples_note)
    return outcome


def _infer(call: Call, record: Record, model_input: str, prompt: str, options: TaskOptions,
           profile: ChatProfile) -> Outcome:
    def one_call() -> Outcome:
        raw = call("extract", prompt, model_input, record.chat_text).text
        parsed = parse_output(raw, record.chat_text, drop_unverified=options.drop_unverified)
        return Outcome(raw, parsed.customers, parsed.error, parsed.changes, _("1 call"))

    if options.max_input is None:  # the offline rules read any length
        return one_call()
    if options.input_source == "chat":
        units = [render([m]) for m in clean_chat(record.chat_text, profile).messages]
    else:
        units = model_input.splitlines()

    def attempt(budget: int) -> Outcome:
        if len(model_input) <= budget:
            return one_call()
        chunks = split_units(units, budget, options.overlap)
        raws = [call("extract", prompt, chunk, record.chat_text).text for chunk in chunks]
        results = [parse_output(raw, record.chat_text, drop_unverified=options.drop_unverified) for raw in raws]
        changes = [_("chunk {n}: {change}").format(n=i, change=c)
                   for i, r in enumerate(results, 1) for c in [*r.changes, *filter(None, [r.error])]]
        parsed = [r.customers for r in results if r.ok]
        error = None if parsed else _("no chunk's answer held JSON")
        raw = "\n\n".join(f"--- chunk {i}/{len(raws)} ---\n{text}" for i, text in enumerate(raws, 1))
        return Outcome(raw, merge_customers(parsed, options.collapse), error, changes,
                       _("{n} chunks of at most {chars:,} characters, customers merged by name").format(
                           n=len(chunks), chars=budget))

    # A single call that fits is tried first; if the provider still says 10907 it is split too.
    return _halving(attempt, content_budget(options.max_input, prompt), len(model_input))
