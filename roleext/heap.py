"""Garbage collection that costs a rerun little: the imported code is moved out of its way.

Streamlit runs a full collection after every script run (`runner.postScriptGC`), so that a
session's memory does not build up. A full collection walks every object Python tracks,
and most of them belong to the imported libraries (Streamlit, pandas, SQLAlchemy), which
live as long as the server: about 130 ms of CPU after each "Next" on Review, holding the
interpreter lock while the page's last messages waited to be sent. `gc.freeze()` moves
what exists at that moment out of the collector's sight, so a collection walks only what
the runs made.
"""

from __future__ import annotations

import gc
import sys

_frozen_modules = 0
"""How many modules were loaded when the heap was last frozen."""


def freeze_imports() -> bool:
    """Freeze the heap if modules were imported since the last freeze; True if it did.

    Garbage is collected first, so nothing unreachable is frozen. A module set grows a
    bounded number of times (the first visit to each page, the first export or job), so what
    is frozen with it is bounded too: the sessions' objects of those moments, which are never
    collected if they later become garbage in a reference cycle.
    """
    global _frozen_modules
    if len(sys.modules) <= _frozen_modules:
        return False
    gc.collect()
    gc.freeze()
    _frozen_modules = len(sys.modules)
    return True
