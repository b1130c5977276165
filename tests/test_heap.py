"""The heap is frozen once a new module set is loaded, and only then."""

from __future__ import annotations

import gc
import sys
import types

import pytest

from roleext import heap


def test_a_freeze_follows_new_imports_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(heap, "_frozen_modules", 0)
    try:
        assert heap.freeze_imports() is True
        frozen = gc.get_freeze_count()
        assert frozen > 0  # the imported code is out of the collector's way
        assert heap.freeze_imports() is False  # nothing new: no collection, no freeze
        monkeypatch.setitem(sys.modules, "roleext_heap_probe", types.ModuleType("roleext_heap_probe"))
        assert heap.freeze_imports() is True
    finally:
        gc.unfreeze()
