"""A job's counters, as the pages and the command line show them while it runs."""

from __future__ import annotations

import time
from dataclasses import dataclass, field


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
        eta = f", ETA {self.eta:.0f} s" if self.eta is not None and not self.finished else ""
        kept = f", {self.kept} kept (edited by a person)" if self.kept else ""
        ended = f" · {self.state}" if self.state in ("cancelled", "stopped") else ""
        return (f"{kind} {split}: {self.done}/{self.total} done, {self.failed} failed, "
                f"{self.skipped} already done{kept}, {self.calls} calls, {self.cached} from cache, "
                f"{self.tokens} tokens, {self.elapsed:.1f} s{eta}{ended}")
