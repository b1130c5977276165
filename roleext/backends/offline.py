"""The built-in backend: no key, no network. Digests chats and extracts by rules.

Not a test double: it is what a user without keys runs, and its digest is what the app
offers to put in front of LLM summaries.

Its work is pure CPU, so a job's threads (roleext.jobs) would share one core under the
GIL: each call is handed to a process pool the backend owns, one process a core, so a
job over a large split uses the whole machine while the job's threading stays as it is.
"""

from __future__ import annotations

import itertools
import json
import multiprocessing
import multiprocessing.context
import os
import sys
import threading
import time
import types
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from typing import ClassVar, Literal, TypeVar

from roleext.backends.base import Backend, ChatMessage, Completion
from roleext.cleaning import ChatProfile, ProfileCounts, profile_counts
from roleext.digest import DEFAULT_BUDGET, make_digest
from roleext.errors import BackendError, UsageError
from roleext.extract import extract_customers
from roleext.i18n import _
from roleext.rules import RULE_NAMES, unknown_rules

T = TypeVar("T")

POOL_FROM = 1_000
"""Records a batch needs before the default backend starts its processes: under it, their
start (about a second) costs more than they save."""
AHEAD_CHUNK = 25
"""Chats one pool task computes when a job says which chats come next (`foresee`): a task a
record would cost more in hand-offs between threads and processes than the work itself."""
PROFILE_CHUNK = 500
"""Chats one process counts at a time when a profile is learnt in the pool."""

def _digest(chat: str, budget: int, profile: ChatProfile) -> str:
    return make_digest(chat, budget, profile).text


def _extract(chat: str, disabled: frozenset[str], profile: ChatProfile) -> str:
    return json.dumps(extract_customers(chat, profile.staff, disabled), ensure_ascii=False)


def _digests(chats: list[str], budget: int, profile: ChatProfile) -> list[str]:
    return [_digest(chat, budget, profile) for chat in chats]


def _extracts(chats: list[str], disabled: frozenset[str], profile: ChatProfile) -> list[str]:
    return [_extract(chat, disabled, profile) for chat in chats]


def default_processes() -> int:
    """One process a core this process may use; 1 (no pool) on a single core."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class OfflineBackend(Backend):
    """Deterministic digest and rules; the same input always gives the same answer."""

    name: ClassVar[str] = "offline"
    remembers: ClassVar[bool] = False
    """Its answers are computed again faster than they are read back from the cache."""
    parallel_calls: ClassVar[int | None] = 1
    """The rules are CPU work: threads of this process only contend for the GIL, and with the
    process pool one thread hands the answers to the store faster than four did. Summarize of
    5,000 chats (benchmarks/offline_jobs.py): in one process 300 records a second, not 222; with
    the pool 433, not 386."""

    def __init__(self, budget: int = DEFAULT_BUDGET, disabled_rules: Iterable[str] = (),
                 processes: int | None = None) -> None:
        """`processes`: how many processes compute its answers (default: one a core, for a batch
        of POOL_FROM records or more, `expect`); 1 computes them in the calling thread."""
        self.budget = budget
        self.profile = ChatProfile()
        self.disabled_rules: frozenset[str] = frozenset()
        self.model = ""
        self.processes = default_processes() if processes is None else max(1, processes)
        self._pooled = processes is not None and self.processes > 1
        self._pool: ProcessPoolExecutor | None = None
        self._ahead: dict[tuple[str, str], tuple[Future[list[str]], int]] = {}
        """(kind, chat) -> the pool task computing its answer, and its place in the task's list."""
        self._ahead_lock = threading.Lock()
        self.use_rules(disabled_rules)

    def use_rules(self, disabled: Iterable[str]) -> None:
        """Leave out these rules of `roleext.rules` as well; the model name says which are off,
        so a job redoes the records extracted with other rules."""
        self.disabled_rules = self.disabled_rules | frozenset(disabled)
        unknown = unknown_rules(self.disabled_rules)
        if unknown:
            raise UsageError(_("no offline rule is called {names}; the rules are {rules}").format(
                names=", ".join(sorted(unknown)), rules=", ".join(RULE_NAMES)))
        off = f" without {','.join(sorted(self.disabled_rules))}" if self.disabled_rules else ""
        self.model = f"digest-rules-v3@{self.budget}{off}"

    def results_of(self, kind: Literal["summarize", "infer"]) -> str:
        """The digest did not change with the rules: summaries stay done when a rule is switched."""
        return f"digest-rules-v2@{self.budget}" if kind == "summarize" else self.model

    def prepare(self, profile: ChatProfile) -> None:
        """Keep the project's staff (for the rules) and boilerplate (for the digest)."""
        self.profile = profile

    def expect(self, records: int) -> None:
        """A batch of POOL_FROM records or more runs in the pool (unless `processes` said otherwise)."""
        if records >= POOL_FROM and self.processes > 1:
            self._pooled = True

    def foresee(self, kind: Literal["summarize", "infer"], chats: list[str]) -> None:
        """Start computing these chats' answers in the pool, AHEAD_CHUNK chats a task; the calls
        for them then only wait for their task."""
        if not self._pooled:
            return
        pool = self._processes()
        with self._ahead_lock:
            for start in range(0, len(chats), AHEAD_CHUNK):
                chunk = chats[start:start + AHEAD_CHUNK]
                future = (pool.submit(_digests, chunk, self.budget, self.profile) if kind == "summarize"
                          else pool.submit(_extracts, chunk, self.disabled_rules, self.profile))
                for place, chat in enumerate(chunk):
                    self._ahead[(kind, chat)] = (future, place)

    def _foreseen(self, kind: str, chat: str) -> str | None:
        with self._ahead_lock:
            task = self._ahead.pop((kind, chat), None)
        return task[0].result()[task[1]] if task is not None else None

    def learn_profile(self, chats: Iterable[str]) -> ChatProfile:
        """The profile counted in the pool, PROFILE_CHUNK chats a task, a few tasks in flight."""
        if not self._pooled:
            return profile_counts(chats).profile()
        remaining = iter(chats)
        chunks = iter(lambda: list(itertools.islice(remaining, PROFILE_CHUNK)), [])
        total = ProfileCounts()
        for counts in _bounded(self._processes(), profile_counts, chunks, 2 * self.processes):
            total += counts
        return total.profile()

    def close(self) -> None:
        with self._ahead_lock:
            self._ahead.clear()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def _processes(self) -> ProcessPoolExecutor:
        if self._pool is None:
            # spawn, not fork: the app's and the job's threads (and their locks) are not copied.
            self._pool = ProcessPoolExecutor(self.processes, mp_context=_SpawnWithoutMain())
        return self._pool

    def _compute(self, work: Callable[..., str], *args: object) -> str:
        if not self._pooled:
            return work(*args, self.profile)
        return self._processes().submit(work, *args, self.profile).result()

    def complete(self, messages: list[ChatMessage], *, timeout: float | None = None) -> Completion:
        raise BackendError(_("the offline backend only summarizes and extracts; choose an LLM backend for free-form "
                             "prompts"))

    def summarize(self, chat: str, template: str, *, timeout: float | None = None) -> Completion:
        start = time.perf_counter()
        text = self._foreseen("summarize", chat) or self._compute(_digest, chat, self.budget)
        return Completion(text, latency=time.perf_counter() - start)

    def extract(self, model_input: str, chat: str, instruction: str | None = None, *,
                timeout: float | None = None) -> Completion:
        start = time.perf_counter()
        answer = self._foreseen("infer", chat) or self._compute(_extract, chat, self.disabled_rules)
        return Completion(answer, latency=time.perf_counter() - start)


_MAIN_SWAP = threading.Lock()
_NO_MAIN = types.ModuleType("__main__")


class _ProcessWithoutMain(multiprocessing.context.SpawnProcess):
    """A spawned process that does not run the parent's `__main__` first.

    Spawn re-runs the parent's main script in each child (to find functions defined there).
    In the app that script is whichever Streamlit page ran last, which Streamlit installs as
    `__main__`: each child would run a page without a session and the pool would break. Our
    tasks are all module-level functions of roleext, so the children need no main at all."""

    def start(self) -> None:
        with _MAIN_SWAP:
            main = sys.modules["__main__"]
            sys.modules["__main__"] = _NO_MAIN
            try:
                super().start()
            finally:
                sys.modules["__main__"] = main


class _SpawnWithoutMain(multiprocessing.context.SpawnContext):
    """The spawn start method, its processes started without the parent's `__main__`."""

    Process = _ProcessWithoutMain


def _bounded(pool: ProcessPoolExecutor, work: Callable[[list[str]], T], chunks: Iterator[list[str]],
             window: int) -> Iterator[T]:
    """`work` over `chunks` in the pool, at most `window` chunks read ahead: memory stays flat."""
    flying: list[Future[T]] = []
    for chunk in chunks:
        flying.append(pool.submit(work, chunk))
        if len(flying) >= window:
            yield flying.pop(0).result()
    for future in flying:
        yield future.result()
