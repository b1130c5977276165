"""Inference: run the fine-tuned model (or any backend) as a new run or resume the last one, pick
the run to inspect and correct, choose the one for the submission, download its submit.json."""

from dataclasses import replace

import pandas as pd
import streamlit as st

from pages.backend_form import backend_form, fit_options
from pages.customers_editor import customers_editor
from pages.identity import current_user
from pages.job_panel import estimate_with_overwrite, jobs_panel, show_record_tasks, start_button
from pages.language import _
from pages.pager import pager
from pages.prompt_form import prompt_form, record_prompt_preview
from pages.resources import project_store
from pages.run_picker import run_picker
from pages.session_settings import kept, kept_choice, relabelled
from pages.unsaved_edits import show_unsaved
from roleext.errors import RoleextError
from roleext.exports import EMPTY_TEMPLATE, Preview, export_submission, file_builder
from roleext.io import Split
from roleext.jobs import Job, JobSpec, estimate
from roleext.labels import record_label
from roleext.markup import escape_markdown
from roleext.paging import records_on_page, split_sizes
from roleext.project import InputSource
from roleext.review import RecordEditor
from roleext.runs import RunBook

store = project_store()
st.title(_("Inference"))
show_unsaved()

RUN_OVER: dict[Split, str] = {"test": _("the test split"), "train": _("the train split (to score it)")}
split = st.radio(_("Run over"), tuple(RUN_OVER), horizontal=True, key=kept_choice("infer_split", "test"),
                 format_func=RUN_OVER.__getitem__)
jobs_panel(f"infer:{split}")
if not store.count(split):
    st.info(_("The {split} split is empty: import it on the Data page first.").format(split=split))
    st.stop()

with st.sidebar:
    st.subheader(_("Model"))
    choice = backend_form("infer", default_model="pro", ask_fine_tuned=True)
    if choice.kind == "spark":
        st.caption(_("A fine-tuned Spark model: resource id as patch_id, service id as domain, URL from its card."))
    concurrency = st.number_input(_("Concurrent calls"), 1, 32, key=kept("infer_concurrency", 4))
    qps = st.number_input(_("Requests per second at most (0: no limit)"), 0.0, 100.0, key=kept("infer_qps", 0.0))
    fitting = fit_options("infer", choice)
    collapse = st.checkbox(_("Merge the customers of a chunked record into one"), key=kept("infer_collapse", False))
READS: dict[InputSource, str] = {"summary": _("the record's summary"), "chat": _("the raw chat")}
source = st.radio(_("The model reads"), tuple(READS), horizontal=True, key=kept_choice("infer_source", "summary"),
                  format_func=READS.__getitem__)
try:
    backend = choice.build()
except RoleextError as exc:
    st.warning(escape_markdown(str(exc)))
    st.stop()
instruction, few_shot = prompt_form(backend, source)
drop = st.checkbox(_("Drop names, phones, e-mails and addresses the chat does not contain"),
                   key=kept("infer_drop", True))

try:
    job = Job(store, backend, JobSpec("infer", split, concurrency=int(concurrency), qps=qps or None,
                                      instruction=instruction, input_source=source, few_shot=few_shot,
                                      drop_unverified=drop, collapse_customers=collapse, **fitting))
except RoleextError as exc:
    st.warning(escape_markdown(str(exc)))
    st.stop()
record_prompt_preview(job)

# A fresh start makes a new run; the latest run, made with these settings, may be resumed instead.
plan = estimate(job)
st.write(_("A new run: **{records}** records (answers asked before with these settings come from the cache).")
         .format(records=plan.records))
start_button(job, f"infer:{split}", _("Run inference"), plan.records, choice)
resumable = job.resumable()
if resumable is not None:
    resume, left = estimate_with_overwrite(Job(store, job.backend, replace(job.spec, resume=True)))
    if left.records:
        kept_edits = (_(", {n} corrected by a person and kept").format(n=left.edited)
                      if left.edited and not resume.spec.overwrite_edits else "")
        st.write(_("Run {run} was made with these settings and has **{records}** records left (never done, "
                   "failed, or made from an older chat){kept_edits}.").format(
            run=resumable.id, records=left.records, kept_edits=kept_edits))
        start_button(resume, f"infer:{split}", _("Resume run {run}").format(run=resumable.id), left.records,
                     choice)
show_record_tasks(store, "infer", split)

book = RunBook(store)
runs = book.newest_first(split)
shown = book.shown(split)
run_id: int | None = None
if not runs:
    st.info(_("No inference run on this split yet: each Run inference makes one, kept beside the others."))
else:
    chosen_run = next((r for r in runs if r.chosen), None)
    run_id = run_picker(_("Run shown"), runs, f"infer_run_{split}", chosen_run.id if chosen_run else runs[0].id)
    run = next(r for r in runs if r.id == run_id)
    st.checkbox(_("Use this run for the submission"), value=run.chosen, key=f"infer_choose_{run.id}_{run.chosen}",
                on_change=lambda: book.choose(split, None if run.chosen else run.id))
    st.caption(_("Export, Review and Evaluate use run {run} ({why}).").format(
        run=shown.id if shown else "-", why=_("chosen") if chosen_run else _("the newest with a usable prediction"))
        if shown else _("No run holds a usable prediction yet."))

# A page of the split at a time: the table and the record to inspect read 50 records, not the split.
total = split_sizes(store).get(split, 0) if run_id is not None else 0
records = records_on_page(store, split, pager(total, f"infer_page_{split}"), run_id) if total else []
if records:
    rows = [{_("record"): r.index,
             _("parse"): (_("no prediction") if r.prediction is None else r.prediction.error or _("ok")),
             _("stale"): bool(r.prediction and r.prediction.stale),
             _("customers"): len(r.prediction.infos) if r.prediction else 0,
             _("changes"): len(r.prediction.changes) if r.prediction else 0,
             _("corrected"): bool(r.prediction and r.prediction.corrected is not None)} for r in records]
    st.dataframe(pd.DataFrame(rows), hide_index=True)

with_prediction = [r for r in records if r.prediction is not None]
if with_prediction:
    labels = {r.index: record_label(r) for r in with_prediction}
    inspected = st.selectbox(_("Inspect record"), list(labels), format_func=labels.__getitem__,
                             key=relabelled("infer_inspect", labels.get(st.session_state.get("infer_inspect", -1))))
    record = next(r for r in with_prediction if r.index == inspected)
    prediction = record.prediction
    assert prediction is not None
    if prediction.stale:
        st.warning(_("This prediction was made for an earlier version of the chat (a re-import changed it); "
                     "resuming its run redoes it."))
    raw_column, parsed_column = st.columns(2)
    with raw_column:
        st.caption(_("Raw output · {model}").format(model=escape_markdown(f"{prediction.backend} {prediction.model}")))
        st.code(prediction.raw_output or _("(empty)"), language=None, wrap_lines=True)
        if prediction.changes:
            st.caption(_("What the parser changed"))
            st.markdown("\n".join(f"- {escape_markdown(c)}" for c in prediction.changes))
    with parsed_column:
        st.caption(_("Parsed fields (corrections are saved at once, in run {run})").format(run=prediction.run))
        customers_editor(prediction.infos, f"pred_{record.id}_{prediction.run}_{prediction.version}",
                         RecordEditor(store, record, current_user()).correct_prediction)

# The competition's file is the test split's; the train split's, in its format, is named apart so
# it is never uploaded by mistake.
file_name = "submit.json" if split == "test" else f"submit-{split}.json"
try:  # checked now, for the label; the file itself is built from the store when clicked
    report = export_submission(store, Preview(0), split, run_id)
except RoleextError as exc:
    st.download_button(_("Download {file}").format(file=file_name), b"", file_name, disabled=True)
    st.error(_("{file} does not validate: {reason}").format(file=file_name, reason=escape_markdown(str(exc))))
else:
    empty = report.left_out[EMPTY_TEMPLATE]
    st.download_button(_("Download {file} ({predicted} predicted, {empty} empty templates)").format(
                           file=file_name, predicted=report.rows - empty, empty=empty),
                       file_builder(lambda out: export_submission(store, out, split, run_id)), file_name,
                       "application/json", on_click="ignore",
                       type="primary" if split == "test" and report.rows > empty else "secondary")
    if split != "test":
        st.caption(_("The competition scores the test split: this file holds the {split} split's predictions, "
                     "in the same format.").format(split=split))
    source_line = _("from run {run}").format(run=run_id) if run_id is not None else _("no run yet")
    st.caption(" · ".join([source_line, *report.lines()]))
