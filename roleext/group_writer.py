"""Items handed over by many threads, written by one thread a group at a time (group commit).

A job's threads can finish records faster than one transaction a record stores them: the
offline backend finishes hundreds a second, and its writes, not its rules, bounded a job on
two cores. Whatever queued up while the writer wrote goes into its next write, so at an
LLM's pace a group is one record, written as soon as it arrives, and at the offline
backend's pace it is dozens, in one transaction.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

from roleext.i18n import carry
from roleext.redaction import get_logger

log = get_logger("roleext.group_writer")

T = TypeVar("T")


class GroupWriter(Generic[T]):
    """Calls `write` on a thread of its own with every item put since its last call, at most
    `max_group` at a time; `put` waits while `2 * max_group` items wait, so memory stays bounded.

    `write` is expected to deal with its own errors; one that escapes is logged, the writer
    goes on with the next group, and `close` raises it: the work must not end as if all of it
    had been written."""

    def __init__(self, write: Callable[[list[T]], None], *, max_group: int = 200,
                 name: str = "roleext-writer") -> None:
        self._write = write
        self._max_group = max_group
        self._queue: queue.Queue[tuple[T] | None] = queue.Queue(maxsize=2 * max_group)
        """Each item in a 1-tuple (an item may be None itself); None closes."""
        self._error: Exception | None = None
        # carry: lines the writes log are in the language of whoever started the work
        self._thread = threading.Thread(target=carry(self._drain), name=name, daemon=True)
        self._thread.start()

    def put(self, item: T) -> None:
        """Hand over an item to be written; waits while the writer is that far behind."""
        self._queue.put((item,))

    def close(self) -> None:
        """Write what is still waiting, then stop; returns once it is written, raising the first
        error a write let escape. Put nothing after."""
        self._queue.put(None)
        self._thread.join()
        if self._error is not None:
            raise self._error

    def _drain(self) -> None:
        """Until closed: wait for an item, take whatever else is waiting (up to `max_group`), write."""
        closing = False
        while not closing:
            group: list[T] = []
            item = self._queue.get()
            while True:
                if item is None:
                    closing = True
                    break
                group.append(item[0])
                if len(group) >= self._max_group:
                    break
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
            if group:
                try:
                    self._write(group)
                except Exception as exc:  # the writer must outlive a bad group, or every put() would wait
                    log.exception("a group of %d writes failed", len(group))
                    self._error = self._error or exc
