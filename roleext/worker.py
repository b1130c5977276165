"""Jobs as queued rows, and the worker that runs them outside the web server.

A job request is a `jobs` row with status `queued` and a `request`: everything needed to run
it (kind, split, the JobSpec, the backend's name and non-secret options) as JSON, never a
key. `python -m roleext worker` claims one row at a time (`Ledger.claim`: one claimer wins),
runs it with the job machinery of `roleext.jobs` (heartbeat lease, resume from task states),
and ends or releases it. A worker that dies leaves its row running without a heartbeat; the
next claim puts it back in the queue and another worker resumes it from what is done.

Keys: a worker reads its own, from its environment (SPARK_APP_ID, SPARK_API_KEY,
SPARK_API_SECRET, OPENAI_API_KEY) or `.streamlit/secrets.toml` in its working folder, as the
app does. A key typed into the app's form stays in that browser session and never reaches a
worker; a job needing a key its worker lacks fails, saying which key and where to put it.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import threading
import time
import tomllib
from collections.abc import Callable, Mapping
from contextlib import closing
from pathlib import Path
from typing import Any, TextIO

from roleext.backends.choice import KEY_NAMES, BackendChoice
from roleext.database import shown_url
from roleext.errors import RoleextError, UsageError
from roleext.i18n import _, ngettext
from roleext.jobs import Job, JobSpec
from roleext.ledger import ClaimedJob, Ledger, process_owner
from roleext.progress import Progress, task_name
from roleext.redaction import get_logger, redact
from roleext.store import ProjectStore

log = get_logger("roleext.worker")

WORKERS_ENV = "ROLEEXT_WORKERS"
"""`external`: the app queues its jobs for `roleext worker` processes instead of running them
in the server process (the default, `inline`, suits one person on one machine)."""
SECRETS_FILE = Path(".streamlit") / "secrets.toml"
REQUEST_VERSION = 1
_SECRET_FIELDS = ("api_key", "api_secret")
"""BackendChoice fields never written to a request."""
_KEY_FIELDS = {"SPARK_APP_ID": "app_id", "SPARK_API_KEY": "api_key", "SPARK_API_SECRET": "api_secret",
               "OPENAI_API_KEY": "api_key"}


class MissingKeyError(RoleextError):
    """A queued job needs a key its worker does not have; the message names it and where it goes."""


def workers_external(env: Mapping[str, str] = os.environ) -> bool:
    """Whether the app queues jobs for workers (ROLEEXT_WORKERS=external) rather than running them."""
    value = env.get(WORKERS_ENV, "inline").strip().lower()
    if value not in ("inline", "external"):
        raise UsageError(_("{variable}={value!r}: give inline (jobs run in the app) or external (jobs run in "
                           "`roleext worker` processes)").format(variable=WORKERS_ENV, value=value))
    return value == "external"


def job_request(spec: JobSpec, choice: BackendChoice, disabled_rules: frozenset[str] = frozenset()) -> str:
    """The JSON a queued job row holds: the spec, the backend without its keys, and which keys
    it was started with (names only), so a worker lacking one says so instead of failing later."""
    backend = {f.name: getattr(choice, f.name) for f in dataclasses.fields(choice) if f.name not in _SECRET_FIELDS}
    keys = [name for name in KEY_NAMES.get(choice.kind, ())
            if getattr(choice, _KEY_FIELDS[name]) or choice.kind == "spark"]
    return json.dumps({"version": REQUEST_VERSION, "spec": dataclasses.asdict(spec), "backend": backend,
                       "keys": keys, "disabled_rules": sorted(disabled_rules)}, ensure_ascii=False)


def enqueue(store: ProjectStore, spec: JobSpec, choice: BackendChoice,
            disabled_rules: frozenset[str] = frozenset()) -> int:
    """Queue a job for a worker; its id. Refused (`JobBusyError`) while the same task on the
    same split is queued or running."""
    description = f"{spec.kind} {spec.split} with {choice.kind} {choice.model or ''}".rstrip()
    return Ledger(store).enqueue(spec.kind, spec.split, description, job_request(spec, choice, disabled_rules))


def read_secrets(path: Path = SECRETS_FILE) -> dict[str, Any]:
    """A secrets.toml as a dict; empty when there is none. Its values are never shown."""
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        return {}
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(_("{path} cannot be read ({reason}); fix it or move it away").format(
            path=path, reason=type(exc).__name__)) from None


def job_from_request(store: ProjectStore, request: str, env: Mapping[str, str],
                     secrets: Mapping[str, Any] | None = None) -> Job:
    """The `Job` a queued row asks for, with this worker's keys; `MissingKeyError` names the
    keys it lacks."""
    try:
        data = json.loads(request)
        spec = JobSpec(**data["spec"])
        choice = BackendChoice(**data["backend"]).with_credentials(env, secrets)
    except (ValueError, TypeError, KeyError) as exc:
        raise RoleextError(_("the queued job cannot be read by this version of roleext ({reason}); "
                             "start it again").format(reason=type(exc).__name__)) from None
    missing = [name for name in data.get("keys", []) if not getattr(choice, _KEY_FIELDS[name], "")]
    if missing:
        raise MissingKeyError(ngettext(
            "this worker has no {names}: set it in the worker's environment or in {file} in its folder, then "
            "queue the job again",
            "this worker has no {names}: set them in the worker's environment or in {file} in its folder, then "
            "queue the job again", len(missing)).format(names=", ".join(missing), file=SECRETS_FILE))
    backend = choice.build()
    backend.use_rules(data.get("disabled_rules", ()))
    return Job(store, backend, spec)


class Worker:
    """Claims queued jobs of one project and runs them, one at a time, until stopped."""

    def __init__(self, store: ProjectStore, env: Mapping[str, str] = os.environ,
                 secrets: Mapping[str, Any] | None = None, out: Callable[[str], None] | None = None) -> None:
        self.store = store
        self.ledger = Ledger(store)
        self.env = env
        self.secrets = secrets
        self.say = out or print
        self.stopping = threading.Event()
        self._job: Job | None = None
        self._guard = threading.Lock()

    def stop(self) -> None:
        """Claim nothing more; the job under way finishes its calls in flight and goes back to
        the queue, where another worker (or this one, restarted) resumes it."""
        self.stopping.set()
        with self._guard:
            if self._job is not None:
                self._job.release()

    def run_one(self) -> Progress | None:
        """Claim one queued job and run it to its end; None when the queue was empty."""
        claimed = self.ledger.claim()
        if claimed is None:
            return None
        self.say(_("job {id} started: {kind} {split} ({owner})").format(
            id=claimed.id, kind=task_name(claimed.kind), split=claimed.split, owner=process_owner()))
        started = time.monotonic()
        try:
            progress = self._run(claimed)
        except RoleextError as exc:
            message = redact(str(exc))
            self.ledger.report(claimed.id, status="failed", error=message)
            self.say(_("job {id} failed: {error}").format(id=claimed.id, error=message))
            return Progress(finished=True, stopped=message)
        except Exception as exc:  # a bug: the row must not stay running with nobody behind it
            log.exception("job %s failed", claimed.id)
            self.ledger.report(claimed.id, status="failed", error=_("unexpected error ({name}); see the log")
                               .format(name=type(exc).__name__))
            raise
        state = ("released" if self.stopping.is_set() and not progress.stopped
                 and self.ledger.status_of(claimed.id) == "queued" else progress.state)
        self.say(_("job {id} {state} after {seconds:.1f} s: {line}").format(
            id=claimed.id, state=state, seconds=time.monotonic() - started,
            line=progress.line(claimed.kind, claimed.split)))
        return progress

    def _run(self, claimed: ClaimedJob) -> Progress:
        job = job_from_request(self.store, claimed.request, self.env, self.secrets)
        with self._guard:
            self._job = job
            if self.stopping.is_set():  # stopped between the claim and now: give it back at once
                job.release()
        try:
            return job.run(claimed)
        finally:
            with self._guard:
                self._job = None

    def serve(self, once: bool = False, poll: float = 2.0) -> int:
        """Run queued jobs until stopped (or, `once`, the first one, if any); the count run."""
        ran = 0
        while not self.stopping.is_set():
            if self.run_one() is not None:
                ran += 1
                if once:
                    break
            elif once:
                break
            else:
                for _count in self.store.index_for_search(stop=self.stopping.is_set):  # idle: catch the index up
                    pass
                self.stopping.wait(poll)
        return ran


def serve(db: str | None, once: bool, poll: float, out: TextIO) -> int:
    """`roleext worker`: run the project's queued jobs here; SIGINT or SIGTERM stops it cleanly."""
    with closing(ProjectStore(db)) as store:
        worker = Worker(store, os.environ, read_secrets(), out=lambda line: print(line, file=out, flush=True))
        previous = {sig: signal.signal(sig, lambda _signum, _frame: worker.stop())
                    for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            worker.say(_("worker {owner} on {db}: waiting for jobs{once}").format(
                owner=process_owner(), db=shown_url(store.url),
                once=_(" (one job)") if once else ""))
            worker.serve(once=once, poll=poll)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
    return 0
