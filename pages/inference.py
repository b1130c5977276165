"""Inference: run the fine-tuned model (or any backend), inspect and correct, download submit.json."""

import pandas as pd
import streamlit as st

from pages.backend_form import backend_form, fit_options
from pages.customers_editor import customers_editor
from pages.job_panel import estimate_with_overwrite, jobs_panel, show_record_tasks, start_button
from pages.language import _
from pages.prompt_form import prompt_form, record_prompt_preview
from pages.resources import project_store
from pages.session_settings import kept
from pages.unsaved_edits import show_unsaved
from roleext.errors import RoleextError
from roleext.exports import EMPTY_TEMPLATE, Preview, export_submission, file_builder
from roleext.io import Split
from roleext.jobs import Job, JobSpec
from roleext.labels import record_label
from roleext.markup import escape_markdown
from roleext.project import InputSource
from roleext.review import RecordEditor

store = project_store()
st.title(_("Inference"))
show_unsaved()

RUN_OVER: dict[Split, str] = {"test": _("the test split"), "train": _("the train split (to score it)")}
split = st.radio(_("Run over"), tuple(RUN_OVER), horizontal=True, key=kept("infer_split", "test"),
                 format_func=RUN_OVER.__getitem__)
jobs_panel(f"infer:{split}")
if not store.count(split):
    st.info(_("The {split} split is empty: import it on the Data page first.").format(split=split))
    st.stop()

with st.sidebar:
    st.subheader(_("Model"))
    st.caption(_("A fine-tuned Spark model: resource id as patch_id, service id as domain, URL from its card."))
    choice = backend_form("infer", default_model="pro", ask_fine_tuned=True)
    concurrency = st.number_input(_("Concurrent calls"), 1, 32, key=kept("infer_concurrency", 4))
    qps = st.number_input(_("Requests per second at most (0: no limit)"), 0.0, 100.0, key=kept("infer_qps", 0.0))
    fitting = fit_options("infer")
    collapse = st.checkbox(_("Merge the customers of a chunked record into one"), key=kept("infer_collapse", False))
READS: dict[InputSource, str] = {"summary": _("the record's summary"), "chat": _("the raw chat")}
source = st.radio(_("The model reads"), tuple(READS), horizontal=True, key=kept("infer_source", "summary"),
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
job, plan = estimate_with_overwrite(job)
kept_edits = (_(", {n} corrected by a person and kept").format(n=plan.edited)
              if plan.edited and not job.spec.overwrite_edits else "")
st.write(_("This run: **{records}** records, {done} already done with these settings{kept_edits}.").format(
    records=plan.records, done=plan.already_done, kept_edits=kept_edits))
start_button(job, f"infer:{split}", _("Run inference"), plan.records)
show_record_tasks(store, "infer", split)

records = [r for r in store.iter_records(split)]
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
    chosen = st.selectbox(_("Inspect record"), list(labels), format_func=labels.__getitem__, key="infer_inspect")
    record = next(r for r in with_prediction if r.index == chosen)
    prediction = record.prediction
    assert prediction is not None
    if prediction.stale:
        st.warning(_("This prediction was made for an earlier version of the chat (a re-import changed it); "
                     "the next run redoes it."))
    raw_column, parsed_column = st.columns(2)
    with raw_column:
        st.caption(_("Raw output · {model}").format(model=escape_markdown(f"{prediction.backend} {prediction.model}")))
        st.code(prediction.raw_output or _("(empty)"), language=None, wrap_lines=True)
        if prediction.changes:
            st.caption(_("What the parser changed"))
            st.markdown("\n".join(f"- {escape_markdown(c)}" for c in prediction.changes))
    with parsed_column:
        st.caption(_("Parsed fields (corrections are saved at once)"))
        customers_editor(prediction.infos, f"pred_{record.id}_{prediction.version}",
                         RecordEditor(store, record).correct_prediction)

try:  # checked now, for the label; the file itself is built from the store when clicked
    report = export_submission(store, Preview(0), split)
except RoleextError as exc:
    st.download_button(_("Download submit.json"), b"", "submit.json", disabled=True)
    st.error(_("submit.json does not validate: {reason}").format(reason=escape_markdown(str(exc))))
else:
    empty = report.left_out[EMPTY_TEMPLATE]
    st.download_button(_("Download submit.json ({predicted} predicted, {empty} empty templates)").format(
                           predicted=report.rows - empty, empty=empty),
                       file_builder(lambda out: export_submission(store, out, split)),
                       "submit.json", "application/json", type="primary" if report.rows > empty else "secondary",
                       on_click="ignore")
    st.caption(" · ".join(report.lines()))
