"""Process-wide tuning for the long-running commands (``serve``, ``worker``)."""

from __future__ import annotations

import gc

#: a 1000-record batch allocates ~50k short-lived objects: collect in fewer, larger steps
GC_THRESHOLDS = (50_000, 20, 50)


def tune_gc() -> None:
    """Exempt everything loaded at startup from cyclic GC scans and collect less often.

    Measured: with CPython's defaults a full collection landed every ~7 batches and added
    70-100 ms to that batch's apply (the scan walks every framework object alive).
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
