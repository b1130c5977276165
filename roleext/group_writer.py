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
    `most` at a time; `put` waits while `2 * most` items wait, so memory stays bounded."""

    def __init__(self, write: Callable[[list[T]], None], *, most: int = 200, name: str = "roleext-writer") -> None:
        self._write = write
        self._most = most
        self._queue: queue.Queue[tuple[T] | None] = queue.Queue(maxsize=2 * most)
        """Each item in a 1-tuple; None closes."""
        # carry: lines the writes log are in the language of whoever started the work
        self._thread = threading.Thread(target=carry(self._drain), name=name, daemon=True)
        self._thread.start()

    def put(self, item: T) -> None:
        self._queue.put((item,))

    def close(self) -> None:
        """Write what is still waiting, then stop; returns once it is written. Put nothing after."""
        self._queue.put(None)
        self._thread.join()

    def _drain(self) -> None:
        closing = False
        while not closing:
            group: list[T] = []
            item = self._queue.get()
            while True:
                if item is None:
                    closing = True
                    break
                group.append(item[0])
                if len(group) >= self._most:
                    break
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
            if group:
                try:
                    self._write(group)
                except Exception:  # the writer must outlive a bad group, or every put() would wait forever
                    log.exception("a group of %d writes failed", len(group))
