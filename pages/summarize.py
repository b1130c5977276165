"""Summarize: a background job that digests every chat of a split; it survives a refresh."""

import streamlit as st

from pages.backend_form import backend_form, fit_options
from pages.job_panel import estimate_with_overwrite, jobs_panel, show_record_tasks, start_button
from pages.language import _
from pages.resources import project_store
from pages.session_settings import kept, kept_choice
from roleext.errors import RoleextError
from roleext.io import SPLITS
from roleext.jobs import Job, JobSpec
from roleext.markup import escape_markdown
from roleext.prompts import DEFAULT_SUMMARY_PROMPT

store = project_store()
st.title(_("Summarize"))

split = st.radio(_("Split"), SPLITS, horizontal=True, key=kept_choice("summarize_split", "train"))
jobs_panel(f"summarize:{split}")
if not store.count(split):
    st.info(_("The {split} split is empty: import it on the Data page first.").format(split=split))
    st.stop()

with st.sidebar:
    st.subheader(_("Summarizing model"))
    choice = backend_form("summarize")
    concurrency = st.number_input(_("Concurrent calls"), 1, 32, key=kept("summarize_concurrency", 4))
    qps = st.number_input(_("Requests per second at most (0: no limit)"), 0.0, 100.0,
                          key=kept("summarize_qps", 0.0))
    retry_failed = st.checkbox(_("Only retry the records that failed"), key=kept("summarize_retry_failed", False))
    fitting = fit_options("summarize", choice)

template = st.text_area(_("Summary prompt ({content} is the chat)"), height=260,
                        key=kept("summarize_prompt", DEFAULT_SUMMARY_PROMPT),
                        disabled=choice.kind == "offline",
                        help=_("The offline backend writes an evidence-preserving digest instead."))
prepend = st.checkbox(_("Put the offline facts block in front of each LLM summary"),
                      key=kept("summarize_prepend", True), disabled=choice.kind == "offline",
                      help=_("Keeps names, phones and addresses that an LLM summary tends to drop."))

try:
    backend = choice.build()
    spec = JobSpec("summarize", split, concurrency=int(concurrency), qps=qps or None,
                   retry_failed=retry_failed, template=template, prepend_facts=prepend, **fitting)
    job = Job(store, backend, spec)
except RoleextError as exc:
    st.warning(escape_markdown(str(exc)))
    st.stop()

if choice.kind != "offline" and st.button(_("Test the connection")):
    try:
        answer = backend.complete([{"role": "user", "content": "你好"}], timeout=20)
        st.success(_("{model} answered in {seconds:.1f} s").format(
            model=escape_markdown(f"{backend.name} {backend.model}"), seconds=answer.latency))
    except RoleextError as exc:
        st.error(escape_markdown(str(exc)))

job, plan = estimate_with_overwrite(job)
kept_edits = (_(", {n} edited by a person and kept").format(n=plan.edited)
              if plan.edited and not job.spec.overwrite_edits else "")
st.write(_("This run: **{records}** records ({characters:,} characters of input), "
           "{done} already done with these settings{kept_edits}.").format(
    records=plan.records, characters=plan.characters, done=plan.already_done, kept_edits=kept_edits))

start_button(job, f"summarize:{split}", _("Start"), plan.records, choice)
show_record_tasks(store, "summarize", split)
