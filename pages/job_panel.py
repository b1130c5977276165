"""The jobs of the project at the top of Summarize and Inference, live, and the Start button.

Jobs run in the server process (or another one: a second server, the command line), so
leaving a page or refreshing the browser neither stops a job nor hides it: every running job
is shown on both pages, whatever split is selected, and the page redraws once when one ends
so that its estimate, Start button and tables say what is true now. With
ROLEEXT_WORKERS=external, Start queues the job for `roleext worker` processes instead
(`roleext.worker`); queued jobs are shown here until a worker claims them.
"""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import streamlit as st

from pages.language import _, column_labels, ngettext
from pages.resources import job_registry, project_store
from pages.session_settings import kept
from roleext.backends.choice import BackendChoice
from roleext.errors import RoleextError
from roleext.io import Split
from roleext.jobs import Estimate, Job, estimate
from roleext.ledger import HEARTBEAT, Ledger, TaskKind, record_task_rows
from roleext.markup import escape_markdown
from roleext.progress import Progress, task_name
from roleext.store import ProjectStore
from roleext.worker import enqueue, workers_external

_SEEN_RUNNING = "_jobs_seen_running"
_WATCHED = "_jobs_this_session_watched"
"""Ids of this process's jobs this session started or saw running: their outcome stays in view."""
RECENT = 600.0
"""Seconds a finished job's outcome shows to sessions that did not watch it (a refreshed
browser): later, it no longer reads as the split's news."""
_ENDED_ELSEWHERE = "_jobs_ended_elsewhere"
IDLE_REFRESH = 5.0
"""Seconds between looks for a job started elsewhere (another tab, the command line)."""


def jobs_panel(page_key: str) -> None:
    """Every running job of the project, then this page's last job (`kind:split`) once it ended,
    if this session started it or saw it run, or it ended in the last RECENT seconds.

    Every running job has a Cancel button: this process's jobs stop at once, other processes'
    jobs are shown from their rows and asked to stop through them (`Ledger.request_cancel`).
    """
    registry = job_registry()
    store = project_store()
    running = (any(not job.snapshot().finished for job in registry.jobs().values())
               or bool(registry.elsewhere(store)) or bool(Ledger(store).queued_jobs()))

    # Every second while a job runs; otherwise often enough to notice one started elsewhere.
    @st.fragment(run_every=1.0 if running else IDLE_REFRESH)
    def live() -> None:
        running_ids = set()
        watched: set[int | None] = st.session_state.setdefault(_WATCHED, set())
        for key, job in sorted(registry.jobs().items()):
            progress = job.snapshot()
            if progress.finished and (key != page_key or not _news(job, progress, watched)):
                continue
            if not progress.finished:
                running_ids.add(job.job_id)
                watched.add(job.job_id)
            show_progress(job)
            if not progress.finished:
                st.button(_("Cancel"), key=f"{key}_cancel", on_click=job.cancel)
        for row in registry.elsewhere(store):
            running_ids.add(row["id"])
            _show_lease(row, store)
        for row in Ledger(store).queued_jobs():
            running_ids.add(row["id"])
            _show_queued(row, store)
        seen: set[Any] = st.session_state.setdefault(_SEEN_RUNNING, set())
        ended = seen - running_ids
        seen.clear()
        seen.update(running_ids)
        # A job another process ran (a worker's) that this session watched: its outcome stays in view.
        mine = {job.job_id for job in registry.jobs().values()}
        outcomes: list[Any] = st.session_state.setdefault(_ENDED_ELSEWHERE, [])
        outcomes[:0] = sorted(ended - mine, reverse=True)
        del outcomes[3:]
        if outcomes:  # read only when there is one to show: this runs every second while a job does
            for row in Ledger(store).latest_jobs(limit=50):
                if row["id"] in outcomes and row["id"] not in running_ids:
                    _show_outcome(row)
        if ended:  # a job this session watched has ended: redraw the page, once
            st.rerun(scope="app")

    live()


def _news(job: Job, progress: Progress, watched: set[int | None]) -> bool:
    """Whether a finished job's outcome is still news to this session: it watched the job, or
    the job ended in the last RECENT seconds (a refreshed browser still sees how it ended)."""
    ended = progress.ended if progress.ended is not None else time.monotonic()  # set with `finished`
    return job.job_id in watched or time.monotonic() - ended <= RECENT


def start_button(job: Job, key: str, label: str, records: int, choice: BackendChoice) -> None:
    """Start `job` in the server process under `key`, or queue it for a worker (made from
    `choice`) when workers run the jobs; a refusal (the split is busy) is one line."""
    try:
        external = workers_external()
    except RoleextError as exc:
        st.error(escape_markdown(str(exc)))
        return
    registry = job_registry()
    running = registry.get(key)
    mine = {held.job_id for held in registry.jobs().values()}  # their rows may say running a moment after they end
    busy = ((running is not None and not running.snapshot().finished)
            or Ledger(job.store).busy(job.spec.kind, job.spec.split, besides=mine))
    if st.button(label, type="primary", disabled=records == 0 or busy,
                 help=_("A job on this split is running or queued: see above") if busy else None):
        try:
            if external:
                enqueue(job.store, job.spec, choice)
            else:
                started = registry.start(key, job)
                st.session_state.setdefault(_WATCHED, set()).add(started.job_id)
        except RoleextError as exc:
            st.error(escape_markdown(str(exc)))
        else:
            st.rerun()  # so the panel at the top shows it from its first second
    if external and choice.kind != "offline":
        st.caption(_("Jobs run in roleext worker processes: they use the keys of their own environment or "
                     "secrets.toml, never keys typed here."))


def estimate_with_overwrite(job: Job) -> tuple[Job, Estimate]:
    """The job's estimate, and a checkbox to redo outputs a person edited (off: they are kept).

    The checkbox says how many edits would go, so nobody overwrites work by accident."""
    plan = estimate(job)
    if plan.edited:
        label = (ngettext("Also redo the {n} record whose summary a person edited ({n} edit replaced; "
                          "it stays in the record's history)",
                          "Also redo the {n} records whose summary a person edited ({n} edits replaced; "
                          "each stays in the record's history)", plan.edited)
                 if job.spec.kind == "summarize" else
                 ngettext("Also redo the {n} record whose prediction a person corrected ({n} correction "
                          "replaced; it stays in the record's history)",
                          "Also redo the {n} records whose prediction a person corrected ({n} corrections "
                          "replaced; each stays in the record's history)", plan.edited))
        overwrite = st.checkbox(label.format(n=plan.edited),
            key=kept(f"{job.spec.kind}_{job.spec.split}_overwrite", False))
        if overwrite:
            job = Job(job.store, job.backend, replace(job.spec, overwrite_edits=True))
            plan = estimate(job)
    return job, plan


def show_record_tasks(store: ProjectStore, kind: TaskKind, split: Split) -> None:
    """Per record: its length, and what the last job did to fit it (cleaning, chunks, why) or its error."""
    with st.expander(_("Records: length, chunks and why"), expanded=False):
        st.dataframe(record_task_rows(store, kind, split), hide_index=True, column_config=column_labels())


def show_progress(job: Job) -> None:
    """A progress bar with counts, ETA and failures; once ended, it says how (done, cancelled, stopped)."""
    progress = job.snapshot()
    handled = progress.done + progress.failed
    st.progress(handled / progress.total if progress.total else 1.0,
                text=progress.line(job.spec.kind, job.spec.split))
    if progress.stopped:
        st.error(_("Stopped: {reason}").format(reason=escape_markdown(progress.stopped)))
    if progress.errors:
        failed = len(progress.errors)
        with st.expander(ngettext("{n} failed record", "{n} failed records", failed).format(n=failed),
                         expanded=progress.finished):
            for index, error in sorted(progress.errors.items()):
                st.markdown(_("record {index}: {error}").format(index=index, error=escape_markdown(error)))


def _show_queued(row: dict[str, Any], store: ProjectStore) -> None:
    """A job waiting for a worker, with a button to take it off the queue."""
    st.progress(0.0, text=_("{kind} {split}: queued (job {id}), waiting for a roleext worker").format(
        kind=task_name(row["kind"]), split=row["split"], id=row["id"]))
    def take_off() -> None:
        Ledger(store).cancel_queued(row["id"])  # False when a worker claimed it meanwhile: it shows as running

    st.button(_("Take off the queue"), key=f"queued_{row['id']}_cancel", on_click=take_off)


def _show_lease(row: dict[str, Any], store: ProjectStore) -> None:
    """A job of another process, as its job row tells it, with Cancel (asked through its row)."""
    handled = (row["done"] or 0) + (row["failed"] or 0)
    total = row["total"] or 0
    started = row["created_at"]
    if started.tzinfo is None:
        started = started.replace(tzinfo=UTC)
    elapsed = (datetime.now(UTC) - started).total_seconds()
    text = _("{kind} {split}: {done}/{total} done, {failed} failed, {seconds:.0f} s · in another process "
             "({owner})").format(kind=task_name(row["kind"]), split=row["split"], done=row["done"], total=total,
                                 failed=row["failed"], seconds=elapsed, owner=row["owner"])
    st.progress(min(1.0, handled / total) if total else 0.0, text=text)  # our words, a host name and numbers
    if row["cancel_requested"]:
        st.caption(_("Cancelling: within {seconds:.0f} s the job stops taking new records; calls already under way "
                     "finish.").format(seconds=HEARTBEAT.total_seconds()))
        return

    def cancel() -> None:
        ledger = Ledger(store)
        if not ledger.request_cancel(row["id"]):  # no longer running: back in the queue, or ended (its outcome shows)
            ledger.cancel_queued(row["id"])

    st.button(_("Cancel"), key=f"lease_{row['id']}_cancel", on_click=cancel)


def _show_outcome(row: dict[str, Any]) -> None:
    """How a job another process ran ended, from its row: a worker's job leaves its result in view."""
    if row["status"] == "cancelled" and row["owner"] is None and not (row["total"] or row["done"] or row["failed"]):
        st.info(_("{kind} {split}: job {id} was taken off the queue before it ran").format(
            kind=task_name(row["kind"]), split=row["split"], id=row["id"]))
        return
    # a row still "running" here lost its lease: its process was killed or stopped answering
    status = {"done": _("done"), "failed": _("failed"), "cancelled": _("cancelled"), "running": _("interrupted"),
              "interrupted": _("interrupted"), "queued": _("back in the queue")}.get(row["status"], row["status"])
    text = _("{kind} {split}: job {id} {status} in another process: {done}/{total} done, {failed} failed").format(
        kind=task_name(row["kind"]), split=row["split"], id=row["id"], status=status, done=row["done"] or 0,
        total=row["total"] or 0, failed=row["failed"] or 0)
    show = (st.error if row["status"] in ("failed", "interrupted", "running")
            else st.success if row["status"] == "done" else st.info)
    show(escape_markdown(text))
    if row.get("error"):
        st.caption(escape_markdown(str(row["error"])))
