"""The job's writer: what arrives while it writes goes into its next write, nothing is dropped."""

from __future__ import annotations

import logging
import threading

import pytest

from roleext.group_writer import GroupWriter


def test_what_arrives_during_a_write_is_written_together_at_most_so_many_at_once() -> None:
    groups: list[list[int]] = []
    writing, go_on = threading.Event(), threading.Event()

    def write(group: list[int]) -> None:
        groups.append(group)
        if len(groups) == 1:  # the first write is slow: the next five queue up meanwhile
            writing.set()
            assert go_on.wait(5)

    writer = GroupWriter(write, max_group=3)
    writer.put(1)
    assert writing.wait(5)
    for item in range(2, 7):
        writer.put(item)
    go_on.set()
    writer.close()
    assert groups == [[1], [2, 3, 4], [5, 6]]


def test_a_failed_write_is_logged_the_writer_goes_on_and_close_says_so(caplog: pytest.LogCaptureFixture) -> None:
    written: list[str] = []

    def write(group: list[str]) -> None:
        if "bad" in group:
            raise RuntimeError("disk full")
        written.extend(group)

    writer = GroupWriter(write, max_group=1)
    with caplog.at_level(logging.ERROR):
        for item in ("a", "bad", "b"):
            writer.put(item)
        with pytest.raises(RuntimeError, match="disk full"):  # the work did not all get written
            writer.close()
    assert written == ["a", "b"]  # the writer outlived the failure
    assert "a group of 1 writes failed" in caplog.text
