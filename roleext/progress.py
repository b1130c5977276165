"""A job's counters, as the pages and the command line show them while it runs."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from roleext.i18n import _


@dataclass
class Progress:
    """A job's counters; `snapshot()` hands out copies so readers never see a torn state."""

    total: int = 0
    done: int = 0
    failed: int = 0
    skipped: int = 0
    kept: int = 0
    """Records left alone because a person edited their output (see JobSpec.overwrite_edits)."""
    cached: int = 0
    calls: int = 0
    tokens: int = 0
    started: float = field(default_factory=time.monotonic)
    ended: float | None = None
    finished: bool = False
    cancelled: bool = False
    stopped: str | None = None
    errors: dict[int, str] = field(default_factory=dict)

    @property
    def elapsed(self) -> float:
        return (self.ended if self.ended is not None else time.monotonic()) - self.started

    @property
    def eta(self) -> float | None:
        handled = self.done + self.failed
        remaining = self.total - handled
        if not handled or remaining <= 0:
            return None
        return self.elapsed / handled * remaining

    @property
    def state(self) -> str:
        """running, done, cancelled (by a person) or stopped (by the job: provider down, lease lost)."""
        if not self.finished:
            return "running"
        return "stopped" if self.stopped else "cancelled" if self.cancelled else "done"

    def line(self, kind: str, split: str) -> str:
        eta = _(", ETA {seconds:.0f} s").format(seconds=self.eta) if self.eta is not None and not self.finished else ""
        kept = _(", {n} kept (edited by a person)").format(n=self.kept) if self.kept else ""
        ended = {"done": _(" · finished"), "cancelled": _(" · cancelled"), "stopped": _(" · stopped")}.get(
            self.state, "")
        return _("{kind} {split}: {done}/{total} done, {failed} failed, {skipped} already done{kept}, {calls} calls, "
                 "{cached} from cache, {tokens} tokens, {seconds:.1f} s{eta}{ended}").format(
            kind=task_name(kind), split=split, done=self.done, total=self.total, failed=self.failed,
            skipped=self.skipped, kept=kept, calls=self.calls, cached=self.cached, tokens=self.tokens,
            seconds=self.elapsed, eta=eta, ended=ended)


def task_name(kind: str) -> str:
    """A job's task as a reader calls it: summarize, infer."""
    return {"summarize": _("summarize"), "infer": _("infer")}.get(kind, kind)
