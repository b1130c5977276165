"""Batch jobs: summarize or infer every record of a split, resumably, within provider limits.

Bounded concurrency, a client-side rate limit, retries with exponential backoff and jitter
on retryable errors, a deadline per call, and a cache, so a re-run calls nothing it already
has. Each record's result is written to the store as it arrives (those that arrive together,
in one transaction); after a crash a new run does only what is missing. Progress is readable
from another thread while the job runs.
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from sqlalchemy import Connection
from sqlalchemy.exc import DataError, IntegrityError
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from roleext.backends.base import Backend, Completion, fill_template
from roleext.budget import max_input_chars
from roleext.cleaning import ChatProfile, learn_profile
from roleext.errors import BackendError, RoleextError, UnusableAnswerError
from roleext.fewshot import ExamplePool
from roleext.group_writer import GroupWriter
from roleext.i18n import _, carry, ngettext
from roleext.io import Split
from roleext.ledger import HEARTBEAT, ClaimedJob, Ledger, TaskKind, cache_key
from roleext.progress import Progress
from roleext.project import InputSource, Record, RecordOutputs
from roleext.prompts import DEFAULT_SUMMARY_PROMPT, InferencePrompt, inference_prompt, prompt_hash
from roleext.ratelimit import shared_limiter
from roleext.redaction import get_logger, redact
from roleext.runs import Run, RunBook
from roleext.store import JobOutput, OutputKind, ProjectStore, prediction_output, summary_output
from roleext.tasks import CallKind, TaskOptions, infer_record, record_prompt, summarize_record

log = get_logger("roleext.jobs")

R = TypeVar("R", Record, RecordOutputs)


@dataclass(frozen=True)
class JobSpec:
    """What to run; nothing secret in here, so it may be stored and shown."""

    kind: TaskKind
    split: Split = "train"
    concurrency: int = 4
    qps: float | None = None
    max_attempts: int = 4
    timeout: float = 60.0
    retry_failed: bool = False
    template: str = DEFAULT_SUMMARY_PROMPT
    prepend_facts: bool = False
    """Put the offline digest's facts block in front of an LLM summary, so that names,
    phones and addresses the LLM dropped stay in the fine-tuning input."""
    instruction: str | None = None
    input_source: InputSource = "summary"
    drop_unverified: bool = True
    max_input_chars: int | None = None
    """Characters one request may hold; default: from the model's context (roleext.budget)."""
    overlap: int = 2
    """Messages repeated at the start of the next chunk of a long chat."""
    collapse_customers: bool = False
    few_shot: int = 0
    """Worked examples from the train split put into a base model's prompt (roleext.fewshot)."""
    overwrite_edits: bool = False
    """Redo records whose summary or prediction a person edited (the edit goes to history)."""
    resume: bool = False
    """Inference: continue the split's latest run (its missing, failed and stale records) rather
    than start a new run; it must be made with the same settings. `retry_failed` implies it."""
    backoff_initial: float = 0.5
    backoff_max: float = 8.0


@dataclass(frozen=True)
class OutputState:
    """A record's summary (or prediction) as a job sees it."""

    missing: bool
    edited: bool
    stale: bool
    version: int | None = None
    """The version the job planned on: an edit saved after it is never overwritten."""
    unusable: bool = False
    """A model answer kept to be looked at, not a result (no JSON, no customer)."""


@dataclass(frozen=True)
class _Finished:
    """A record whose model call ended, its output waiting for the job's writer (its id and
    position only: a queue of whole records would hold their chats too)."""

    record_id: int
    index: int
    output: JobOutput
    detail: str
    attempts: int
    keys: list[str]
    """Its calls' cache keys: an unusable answer leaves the cache."""
    unusable: str | None
    """Why the answer is no result (stored to be looked at, and the record failed)."""


RUN_ONLY_OPTIONS = ("concurrency", "qps", "timeout", "retries")
"""Options a run records that do not shape its answers: a resumed run may change them."""


BATCH = 500
"""Records a job reads at a time: a job over 100,000 records holds one batch (and the ids and
versions it planned on), never the whole split."""

DOWN_AFTER = 3
"""Records in a row that failed with the same transient error before a job stops: the
provider is down, and trying every remaining record (with retries) would only wait."""


class Job:
    """One batch over a split; `run()` blocks, `start()` runs it on a background thread."""

    def __init__(self, store: ProjectStore, backend: Backend, spec: JobSpec) -> None:
        self.store = store
        self.backend = backend
        self.spec = spec
        self.ledger = Ledger(store)
        self.runs = RunBook(store)
        self.prompt: InferencePrompt | None = (
            inference_prompt(backend, spec.instruction, spec.input_source) if spec.kind == "infer" else None)
        """What an inference job sends around each input (roleext.prompts.inference_prompt)."""
        self.options = TaskOptions(
            template=spec.template, max_input=max_input_chars(backend, spec.max_input_chars),
            overlap=spec.overlap, prepend_facts=spec.prepend_facts and backend.context_tokens is not None,
            instruction=self.prompt.text if self.prompt else spec.instruction, input_source=spec.input_source,
            drop_unverified=spec.drop_unverified, collapse=spec.collapse_customers,
            few_shot=spec.few_shot if self.prompt and self.prompt.takes_examples else 0)
        self.examples: ExamplePool | None = None
        if spec.kind == "infer":
            backend.use_rules(store.disabled_rules())  # the project's switches on the offline rules
        # Everything that shapes a record's result: change any of it and the record is redone.
        self.config = cache_key(backend.name, backend.results_of(spec.kind), spec.kind, repr(self.options))
        self.profile = ChatProfile()
        self._progress = Progress()
        self._lock = threading.Lock()
        self._cancel = threading.Event()
        self._limiter = shared_limiter(backend.provider)
        self._streak: tuple[str, int] = ("", 0)
        self._thread: threading.Thread | None = None
        self._ended = threading.Event()
        """Set once the job has ended and tried to write how on its row (`wait`)."""
        self._crashed = False
        self.job_id: int | None = None
        self.run_id: int | None = None
        """The inference run this job writes to, once `open()` chose or made it."""
        self._planned: dict[int, int | None] = {}
        """Record id -> the version of its output this job planned on, for the records it does."""
        self._released = False
        self._cancelled_from_row = False
        self._writer: GroupWriter[_Finished] | None = None
        if spec.kind == "summarize":
            fill_template(spec.template, "")  # a template without {content}: refuse before any call

    def snapshot(self) -> Progress:
        with self._lock:
            return replace(self._progress, errors=dict(self._progress.errors))

    def cancel(self) -> None:
        """Start no more records; calls under way finish (within their deadline)."""
        self._cancel.set()

    def start(self) -> threading.Thread:
        """Take the job's lease here (a busy split raises `JobBusyError` to the caller), then run
        the records on a background thread."""
        self.open()
        # carry: the job's lines are in the language of who started it, whatever thread writes them
        thread = threading.Thread(target=carry(self._execute_in_background), name=f"roleext-{self.spec.kind}",
                                  daemon=True)
        thread.start()
        self._thread = thread  # once it runs: `wait` waits only for a job that will end
        return thread

    def release(self) -> None:
        """Stop as `cancel` does, then give the job back to the queue rather than end it (a
        worker stopping): another worker resumes it from what is done."""
        self._released = True
        self._cancel.set()

    def wait(self, timeout: float | None = None) -> Progress:
        """The progress once the job ended (its row written), or after `timeout` seconds.

        Waits on an event, not on `Thread.join`: on Python 3.11 and 3.12 a join interrupted by
        Ctrl-C or SIGTERM marks the thread as ended while it still runs, so the command line's
        wait for a cancelled job to write its row returned at once and left it "running"."""
        if self._thread is not None:
            self._ended.wait(timeout)
        return self.snapshot()

    # --- runs ---------------------------------------------------------------------------

    @property
    def resuming(self) -> bool:
        return self.spec.kind == "infer" and (self.spec.resume or self.spec.retry_failed)

    @property
    def prompt_text(self) -> str:
        """The prompt text this job sends with every record, as its run records it: the summary
        template, or the inference prompt (roleext.prompts.inference_prompt; "" for the input
        alone), its worked examples left as their slot (`few_shot` in the run's options)."""
        if self.prompt is None:
            return self.spec.template
        return self.prompt.text

    def run_options(self) -> dict[str, Any]:
        """What a run records of this job besides backend, model and prompt: never a key."""
        return {"concurrency": self.spec.concurrency, "qps": self.spec.qps, "timeout": self.spec.timeout,
                "retries": self.spec.max_attempts, "temperature": self.backend.temperature,
                "input": self.spec.input_source, "drop_unverified": self.spec.drop_unverified,
                "max_input_chars": self.options.max_input, "overlap": self.spec.overlap,
                "collapse_customers": self.spec.collapse_customers, "few_shot": self.options.few_shot}

    def resumable(self) -> Run | None:
        """The split's latest run, if this job may continue it (it was made with these settings)."""
        run = self.runs.latest(self.spec.split)
        return run if run is not None and run.config == self.config else None

    def _resumed_run(self) -> Run:
        """The run a resuming job continues; refused, saying why, when there is none to continue."""
        run = self.runs.latest(self.spec.split)
        if run is None:
            raise RoleextError(_("there is no inference run on {split} to resume; start a new one").format(
                split=self.spec.split))
        if run.config != self.config:
            mine = {"backend": self.backend.name, "model": self.backend.model, "prompt": self.prompt_text,
                    **self.run_options()}
            theirs = {"backend": run.backend, "model": run.model, "prompt": run.prompt, **run.options}
            differ = [k for k in mine if k not in RUN_ONLY_OPTIONS and theirs.get(k) != mine[k]]
            raise RoleextError(ngettext(
                "run {run} was made with other settings ({names} differs); give the ones it was made with "
                "to resume it, or start a new run",
                "run {run} was made with other settings ({names} differ); give the ones it was made with "
                "to resume it, or start a new run", max(1, len(differ))).format(
                run=run.id, names=", ".join(differ) or _("options")))
        return run

    def _run_seen(self) -> int | None:
        """The inference run whose predictions this job reads (None: a run not made yet)."""
        if self.spec.kind != "infer":
            return None
        return self.run_id if self.run_id is not None else self._resumed_run().id if self.resuming else None

    def _batches(self) -> Iterator[list[Record]]:
        """The split's records, BATCH at a time, each with its output as this job sees it."""
        return self._read(self.store.records_after)

    def _read(self, read: Callable[[Split, int, int, int | None], list[R]]) -> Iterator[list[R]]:
        """The split's records (or their outputs alone), BATCH at a time, each with its output as
        this job sees it: for inference, the prediction in the run it writes to (none in a run
        not made yet)."""
        run = self._run_seen()
        after = 0
        while True:
            batch = read(self.spec.split, after, BATCH, run)
            if not batch:
                return
            after = batch[-1].index
            if self.spec.kind == "infer" and run is None:
                batch = [replace(record, prediction=None) for record in batch]
            yield batch

    # --- selection ----------------------------------------------------------------------

    def output_of(self, record: Record | RecordOutputs) -> OutputState:
        """What this job's kind of output looks like on a record now."""
        output = record.summary if self.spec.kind == "summarize" else record.prediction
        if output is None:
            return OutputState(missing=True, edited=False, stale=False)
        unusable = record.prediction is not None and record.prediction.error is not None
        return OutputState(missing=False, edited=output.edited, stale=output.stale, version=output.version,
                           unusable=self.spec.kind == "infer" and unusable)

    def _pending(self, records: list[R], run: int | None) -> tuple[list[R], int]:
        """Records to do now, and how many are left alone because a person edited their output.

        A summary is redone when it was never done, failed, was done with other settings, or
        is stale (a re-import changed its chat). A new inference run does every record; a
        resumed one those it has no usable prediction for, those that failed, and stale ones."""
        states = self.ledger.states(self.spec.kind, [record.id for record in records])
        pending, kept = [], 0
        for record in records:
            output = self.output_of(record)
            if output.edited and not self.spec.overwrite_edits:
                kept += 1
                continue
            state = states.get(record.id)
            if self.spec.kind == "infer" and state is not None and state.run != run:
                state = None  # an attempt of another run says nothing about this one
            if self.spec.retry_failed:
                if state is not None and state.status == "failed":
                    pending.append(record)
            elif self.spec.kind == "infer":
                if output.missing or output.stale or output.unusable or (state and state.status == "failed"):
                    pending.append(record)
            elif (state is None or state.status != "done" or state.config != self.config
                  or output.missing or output.stale):
                pending.append(record)
        return pending, kept

    def prompt_for(self, record: Record) -> str | None:
        """The prompt (worked examples in place) that this job sends with the record's input, to
        show before a run; None when the record has no input yet."""
        model_input = record.model_input(self.spec.input_source)
        if model_input is None:
            return None
        if self.options.few_shot and self.examples is None:
            self.profile = learn_profile(self.store.iter_all_chats())
            self.examples = ExamplePool.of(self.store.iter_records("train"), self.spec.input_source, self.profile)
        return record_prompt(record, model_input, self.options, self.examples)[0]

    # --- the run ------------------------------------------------------------------------

    def scan(self) -> Iterator[tuple[list[Record], list[Record], int]]:
        """Per batch of the split: its records, those this job would do, and how many it keeps
        because a person edited their output."""
        run = self._run_seen()
        for batch in self._batches():
            pending, kept = self._pending(batch, run)
            yield batch, pending, kept

    def plan(self) -> tuple[list[Record], int, int]:
        """The records this job would do, how many are already done, and how many it keeps
        because a person edited their output (all pending records at once: for small splits
        and tests; a job itself plans on their outputs alone, a batch at a time, `open`)."""
        pending: list[Record] = []
        seen = kept = 0
        for batch, todo, left in self.scan():
            pending += todo
            seen += len(batch)
            kept += left
        return pending, seen - len(pending) - kept, kept

    def open(self, claimed: ClaimedJob | None = None) -> int:
        """Take the lease on (kind, split), its job row touched while it runs (a queued job's
        row is `claimed` already), then choose the run (inference) and the records: chosen
        after the lease, no record another job just did is done again, and no two jobs make or
        resume a run at once. Returns how many records it will do."""
        description = f"{self.spec.kind} {self.spec.split} with {self.backend.name} {self.backend.model}"
        if claimed is None:
            if self.resuming:
                self._resumed_run()  # refused here, before the lease, when there is nothing to resume
            self.job_id = self.ledger.open_job(self.spec.kind, self.spec.split, description, 0)
        else:
            self.job_id = claimed.id
        if self.spec.kind == "infer":
            try:
                if claimed is not None and claimed.run_id is not None:  # a reclaimed job continues its run
                    self.run_id = claimed.run_id
                else:
                    self.run_id = (self._resumed_run().id if self.resuming else self.runs.create(
                        self.spec.split, self.backend.name, self.backend.model, self.prompt_text,
                        self.run_options(), self.config))
            except Exception as exc:  # the lease must not outlive the refusal
                self.ledger.report(self.job_id, status="failed", error=redact(str(exc)))
                raise
            description += f", run {self.run_id}"
            self.ledger.report(self.job_id, run_id=self.run_id, description=description)
        try:
            return self._plan(description)
        except BaseException as exc:  # Ctrl-C, SIGTERM or an error while planning: the row must not stay running
            cancelled = isinstance(exc, KeyboardInterrupt)
            self.ledger.report(self.job_id, status="cancelled" if cancelled else "failed",
                               error=None if cancelled else redact(str(exc)))
            raise

    def _plan(self, description: str) -> int:
        """Choose the records to do from their outputs, a batch at a time; how many."""
        assert self.job_id is not None, "open() takes the lease first"
        planned: dict[int, int | None] = {}
        seen = kept = 0
        beat = time.monotonic()
        run = self._run_seen()
        for batch in self._read(self.store.outputs_after):  # no chat read: the pool waits for this plan
            pending, left = self._pending(batch, run)
            planned.update((record.id, self.output_of(record).version) for record in pending)
            seen += len(batch)
            kept += left
            if time.monotonic() - beat > HEARTBEAT.total_seconds():  # a long plan keeps its lease
                if self.ledger.beat(self.job_id, total=len(planned)) == "cancel":
                    self._cancel_from_row(self.job_id)
                beat = time.monotonic()
        skipped = seen - len(planned) - kept
        with self._lock:
            self._progress.total = len(planned)
            self._progress.kept = kept
            self._progress.skipped = skipped
        self.ledger.report(self.job_id, total=len(planned), description=description)
        self._planned = planned
        log.info("%s: %d records to do, %d already done, %d kept as edited", description, len(planned),
                 skipped, kept)
        return len(planned)

    def run(self, claimed: ClaimedJob | None = None) -> Progress:
        """Run the whole job in this thread (a queued one under its `claimed` row); `JobBusyError`
        if the split is busy."""
        self.open(claimed)
        return self._execute()

    def _execute_in_background(self) -> None:
        with contextlib.suppress(Exception):  # logged where it was raised; the progress says the job stopped
            self._execute()

    def _execute(self) -> Progress:
        try:
            return self._execute_to_end()
        finally:
            with self._lock:  # a job that crashed says so: its line must not read as ended well
                if not self._progress.finished or self._crashed:
                    self._progress.stopped = self._progress.stopped or _("the job stopped unexpectedly; see the log")
                    self._progress.finished = True
            self._ended.set()

    def _execute_to_end(self) -> Progress:
        assert self.job_id is not None, "open() first"
        job_id = self.job_id
        self._limiter.join(job_id, self.spec.qps)
        beating = threading.Event()
        heart = threading.Thread(target=carry(self._heartbeat), args=(job_id, beating), daemon=True)
        heart.start()
        status: str = "failed"  # until it ends well
        error: str | None = _("the job stopped unexpectedly; see the log")
        try:
            if self._planned and not self._cancel.is_set():
                self.backend.expect(len(self._planned))
                self.profile = self.backend.learn_profile(self.store.iter_all_chats())
                self.backend.prepare(self.profile)
                if self.options.few_shot:
                    self.examples = ExamplePool.of(self.store.iter_records("train"), self.spec.input_source,
                                                   self.profile)
                self._run_planned()
            with self._lock:
                self._progress.cancelled = self._cancel.is_set() and self._progress.stopped is None
            final = self.snapshot()
            status = "stopped" if final.stopped else "cancelled" if final.cancelled else "done"
            error = final.stopped
            if self._released and not final.stopped and not self._cancelled_from_row:
                status, error = "queued", None
        except Exception:
            log.exception("%s %s job %s failed", self.spec.kind, self.spec.split, job_id)
            self._crashed = True
            raise
        finally:
            beating.set()
            heart.join()
            self._limiter.leave(job_id)
            self.backend.close()
            with self._lock:
                self._progress.finished = True
                self._progress.ended = time.monotonic()
                final = replace(self._progress, errors=dict(self._progress.errors))
            ended = {"owner": None} if status == "queued" else {}  # released: any worker may claim it
            self.ledger.report(job_id, status=status, done=final.done, failed=final.failed,
                               tokens=final.tokens, error=error, **ended)
            if self.run_id is not None and status != "queued":
                self.runs.end(self.run_id, self.ledger.failed_in_run(self.run_id))
        return final

    def _run_planned(self) -> None:
        """The planned records, read BATCH at a time and handed to `concurrency` threads (at most
        the backend's `parallel_calls`), with at most two records a thread waiting: memory stays
        flat whatever the split's size. Their outputs are written by one writer, a group of
        records a transaction (roleext.group_writer)."""
        cap = self.backend.parallel_calls
        workers = max(1, self.spec.concurrency if cap is None else min(self.spec.concurrency, cap))
        room = threading.BoundedSemaphore(2 * workers)

        def done(_future: Future[None]) -> None:
            room.release()

        self._writer = GroupWriter(self._save, name=f"roleext-{self.spec.kind}-writer")
        try:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                for batch in self._batches():
                    todo = [record for record in batch if record.id in self._planned]
                    self.backend.foresee(self.spec.kind, [record.chat_text for record in todo])
                    for record in todo:
                        room.acquire()
                        if self._cancel.is_set():
                            room.release()
                            return
                        pool.submit(carry(self._one), record).add_done_callback(done)
        finally:  # after the pool's last record: what they finished is written before the job ends
            self._writer.close()
            self._writer = None

    def _heartbeat(self, job_id: int, stop: threading.Event) -> None:
        """Touch the job row so other processes see its lease is live, with the counters.

        A cancel asked for on the row (from the app, for a job of another process) cancels the
        job as its Cancel button would. A lease found taken (the row was marked interrupted
        while this process stalled) cancels it too: another job may own the split now."""
        while not stop.wait(HEARTBEAT.total_seconds()):
            progress = self.snapshot()
            try:
                lease = self.ledger.beat(job_id, done=progress.done, failed=progress.failed, tokens=progress.tokens)
            except Exception:  # a missed beat is retried at the next; the job goes on
                log.warning("job %s: heartbeat failed", job_id, exc_info=True)
                continue
            if lease == "cancel":
                self._cancel_from_row(job_id)
            elif lease == "lost":
                with self._lock:
                    self._progress.stopped = self._progress.stopped or _(
                        "this job lost its lease (it stalled, and was marked interrupted); records finished so far "
                        "are kept")
                self._cancel.set()
                return

    def _cancel_from_row(self, job_id: int) -> None:
        """Someone asked, on the job's row, to cancel it: it ends cancelled, even if its worker
        is stopping too (the ledger never hands a job so asked back to the queue)."""
        if not self._cancel.is_set():
            log.info("job %s: cancel asked for on its row", job_id)
        self._cancelled_from_row = True
        self._cancel.set()

    def _complete(self, kind: CallKind, prompt: str, content: str, chat: str) -> tuple[Completion, int, str]:
        """One call through the cache, the rate limiter and the retries; (answer, attempts made, cache key)."""
        remembers = self.backend.remembers
        key = cache_key(self.backend.name, self.backend.model, kind, prompt, content) if remembers else ""
        hit = self.ledger.cached(key) if remembers else None
        if hit is not None:
            with self._lock:
                self._progress.cached += 1
            return Completion(hit[0], hit[1]), 0, key
        attempts = 0

        def attempt() -> Completion:
            nonlocal attempts
            attempts += 1
            self._limiter.acquire()
            if kind == "extract":
                return self.backend.extract(content, chat, prompt or None, timeout=self.spec.timeout)
            return self.backend.summarize(content, prompt, timeout=self.spec.timeout)

        retrying = Retrying(
            stop=stop_after_attempt(self.spec.max_attempts),
            wait=wait_exponential_jitter(multiplier=self.spec.backoff_initial, max=self.spec.backoff_max),
            retry=retry_if_exception(lambda e: isinstance(e, BackendError) and e.retryable
                                     and not self._cancel.is_set()),
            reraise=True,
        )
        try:
            completion = retrying(attempt)
        finally:
            with self._lock:
                self._progress.calls += attempts
        if remembers:
            self.ledger.remember(key, self.backend.name, self.backend.model, completion.text, completion.usage)
        with self._lock:
            self._progress.tokens += completion.tokens
        return completion, attempts, key

    def _one(self, record: Record) -> None:
        """Call the model for one record and hand its output to the job's writer (`_save`)."""
        if self._cancel.is_set():
            return
        attempts = 0
        keys: list[str] = []

        def call(kind: CallKind, prompt: str, content: str, chat: str) -> Completion:
            nonlocal attempts
            completion, made, key = self._complete(kind, prompt, content, chat)
            attempts += made
            keys.append(key)
            return completion

        made_from = record.chat_hash
        planned = self._planned[record.id] if record.id in self._planned else self.output_of(record).version
        try:
            if self.spec.kind == "summarize":
                outcome = summarize_record(call, record, self.options, self.profile)
                if not outcome.text.strip():
                    raise UnusableAnswerError(_("the model answered an empty summary"))
                output = summary_output(record.id, outcome.text, self.backend.name, self.backend.model,
                                        prompt_hash(self.spec.template), made_from, planned)
                unusable = None
            else:
                outcome = infer_record(call, record, self.options, self.profile, self.examples)
                unusable = outcome.parse_error or (_("the answer holds no customer") if not outcome.customers else None)
                if unusable and record.prediction is not None:  # never a bad answer over a usable one
                    raise UnusableAnswerError(_("{reason}; the answer began {text!r}").format(
                        reason=unusable, text=outcome.text[:160]))
                # an unusable answer is stored too, to be looked at: the record had no prediction yet
                output = prediction_output(record.id, outcome.text, outcome.customers, self.backend.name,
                                           self.backend.model, unusable, outcome.changes, made_from, planned)
        except Exception as exc:  # a worker's error must end as this record's failure, never vanish
            self._fail(record.id, record.index, exc, attempts, keys if isinstance(exc, UnusableAnswerError) else ())
            return
        assert self._writer is not None, "_run_planned starts the writer"
        self._writer.put(_Finished(record.id, record.index, output, outcome.detail, attempts, keys, unusable))

    def _save(self, group: list[_Finished]) -> None:
        """Write a group of finished records in one transaction with their task marks.

        A group the database refuses (a constraint, a value it cannot store) is written again a
        record at a time, so only the record at fault fails; any other error (a lock held too
        long, a lost connection) fails the group's records, which a resume does again."""
        kind: OutputKind = "summary" if self.spec.kind == "summarize" else "prediction"
        finished = {item.record_id: item for item in group}

        def mark_done(conn: Connection, written: list[JobOutput]) -> None:  # in the saving transaction
            self.ledger.mark_done_in(conn, self.spec.kind, self.config, [
                (output.record_id, finished[output.record_id].attempts, finished[output.record_id].detail)
                for output in written if finished[output.record_id].unusable is None], run=self.run_id)

        try:
            saved = self.store.save_outputs(kind, [item.output for item in group], run=self.run_id,
                                            overwrite_edits=self.spec.overwrite_edits, then=mark_done)
        except (IntegrityError, DataError) as exc:
            if len(group) == 1:
                self._give_up(group[0], exc)
            else:
                for item in group:
                    self._save([item])
            return
        except Exception as exc:
            for item in group:
                self._give_up(item, exc)
            return
        for item, written in zip(group, saved, strict=True):
            self._count(item, written)

    def _count(self, item: _Finished, written: bool) -> None:
        """A finished record as its write left it: done, kept (a person's edit), or failed."""
        if item.unusable is not None:  # stored to be looked at, and failed
            self._give_up(item, UnusableAnswerError(item.unusable))
        elif not written:  # a person edited the output while the job ran: theirs stays
            with self._lock:
                self._progress.kept += 1
        else:
            log.info("%s record %s of %s done: %s", self.spec.kind, item.index, self.spec.split, item.detail)
            with self._lock:
                self._progress.done += 1
                self._progress.errors.pop(item.index, None)
                self._streak = ("", 0)

    def _give_up(self, item: _Finished, exc: Exception) -> None:
        """A finished record failed; an unusable answer leaves the cache whatever failed."""
        self._fail(item.record_id, item.index, exc, item.attempts, item.keys if item.unusable else ())

    def _fail(self, record_id: int, index: int, exc: Exception, attempts: int,
              forget: Sequence[str] = ()) -> None:
        """The record failed: counted first, then marked in the ledger, and the cache keys in
        `forget` dropped (an unusable answer: --retry-failed asks the model again). A mark the
        database refuses leaves the record as not done, for a resume; the job goes on."""
        if isinstance(exc, RoleextError):
            message = redact(str(exc))
            log.warning("%s record %s of %s failed: %s", self.spec.kind, index, self.spec.split, message)
        else:
            message = _("unexpected error ({name}); see the log").format(name=type(exc).__name__)
            log.error("%s record %s of %s failed", self.spec.kind, index, self.spec.split,
                      exc_info=(type(exc), exc, exc.__traceback__))
        with self._lock:
            self._progress.failed += 1
            self._progress.errors[index] = message
            stop = self._stop_reason(exc, message)
            if stop and self._progress.stopped is None:
                self._progress.stopped = stop
                self._cancel.set()
        sid = exc.sid if isinstance(exc, BackendError) else None
        try:
            for key in filter(None, forget):
                self.ledger.forget(key)
            self.ledger.mark(record_id, self.spec.kind, "failed", self.config, attempts, message, sid,
                             run=self.run_id)
        except Exception:
            log.warning("%s record %s of %s: its failure could not be marked", self.spec.kind, index,
                        self.spec.split, exc_info=True)

    def _stop_reason(self, exc: Exception, message: str) -> str | None:
        """Why the whole job should stop after this failure, if it should (caller holds the lock)."""
        if isinstance(exc, BackendError) and exc.stops_job:
            return message
        if not (isinstance(exc, BackendError) and exc.retryable):
            self._streak = ("", 0)
            return None
        shape = re.sub(r"\d+", "#", re.sub(r"\[sid [^]]*\]", "", message))
        count = self._streak[1] + 1 if self._streak[0] == shape else 1
        self._streak = (shape, count)
        if count < DOWN_AFTER:
            return None
        return _("{n} records in a row failed with the same error, so the provider looks down: {message}. Check "
                 "it, then run again: finished records are kept").format(n=count, message=message)


@dataclass(frozen=True)
class Estimate:
    """What a job would cost before it starts."""

    records: int
    characters: int
    already_done: int
    edited: int = 0
    """Records whose output a person edited: kept, unless the job overwrites edits."""


def estimate(job: Job) -> Estimate:
    """Records and input characters of a job's pending records (before cleaning and chunking)."""
    source: InputSource = "chat" if job.spec.kind == "summarize" else job.spec.input_source
    records = todo = characters = kept = edited = 0
    for batch, pending, left in job.scan():  # a batch at a time: a 100,000-record split fits
        records += len(batch)
        todo += len(pending)
        kept += left
        characters += sum(len(record.model_input(source) or "") for record in pending)
        edited += sum(1 for record in pending if job.output_of(record).edited)
    return Estimate(todo, characters, records - todo - kept, kept + edited)


class JobRegistry:
    """Jobs running in this server process, by key, so they outlive a page run or a refresh.

    Their results and task state are in the store; the registry only keeps the live
    `Job` objects so a page can show progress and cancel.
    """

    def __init__(self) -> None:
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def start(self, key: str, job: Job) -> Job:
        """Start `job` under `key`; refused while a job under that key (or, through the
        database lease, any job on the same task and split) is running."""
        with self._lock:
            running = self._jobs.get(key)
            if running is not None and not running.snapshot().finished:
                raise RoleextError(_("this job is already running; wait for it or cancel it"))
            job.start()  # JobBusyError here leaves the registry as it was
            self._jobs[key] = job
        return job

    def get(self, key: str) -> Job | None:
        with self._lock:
            return self._jobs.get(key)

    def jobs(self) -> dict[str, Job]:
        """Every job this process started, by key, finished ones included."""
        with self._lock:
            return dict(self._jobs)

    def elsewhere(self, store: ProjectStore) -> list[dict[str, Any]]:
        """Running jobs of the project that this registry does not hold: another server, the
        command line, a worker. Their rows are their leases: they are shown from them, and
        cancelled through them (`Ledger.request_cancel`)."""
        mine = {job.job_id for job in self.jobs().values()}
        return [row for row in Ledger(store).running_jobs() if row["id"] not in mine]
