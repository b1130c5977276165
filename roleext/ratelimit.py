"""Client-side rate limits: request starts spaced so a provider's requests-per-second holds.

One limiter per provider per process, shared by every job that calls it: two jobs on one
account must not double the traffic the account allows.
"""

from __future__ import annotations

import threading
import time

RATE_MARGIN = 0.02
"""Starts are spaced this much wider than 1/qps: connection set-up varies by a few
milliseconds, and a server counting arrivals in a sliding second refuses the request that
lands early (measured in benchmarks/batch.py: 20 of 200 refused without a margin)."""


class RateLimiter:
    """Spaces request starts at least (1 + RATE_MARGIN)/qps apart across all threads.

    Jobs of one process that call the same provider share one limiter (`shared_limiter`):
    each joins with its own qps and the strictest of those still running applies, so two
    jobs never double the traffic a provider allows.
    """

    def __init__(self, qps: float | None = None) -> None:
        self._intervals: dict[int, float] = {}
        self._next = 0.0
        self._lock = threading.Lock()
        if qps:
            self.join(0, qps)

    @property
    def interval(self) -> float:
        return max(self._intervals.values(), default=0.0)

    def join(self, token: int, qps: float | None) -> None:
        with self._lock:
            self._intervals[token] = (1.0 + RATE_MARGIN) / qps if qps else 0.0

    def leave(self, token: int) -> None:
        with self._lock:
            self._intervals.pop(token, None)

    def acquire(self) -> None:
        with self._lock:
            interval = self.interval
            if not interval:
                return
            now = time.monotonic()
            slot = max(now, self._next)
            self._next = slot + interval
        if slot > now:
            time.sleep(slot - now)


_LIMITERS: dict[str, RateLimiter] = {}
_LIMITERS_LOCK = threading.Lock()


def shared_limiter(provider: str) -> RateLimiter:
    """This process's rate limiter for a provider."""
    with _LIMITERS_LOCK:
        return _LIMITERS.setdefault(provider, RateLimiter())
