"""What a process's webhook says: rendered as the process completes, kept in the outbox, sent as
it is on every attempt.

By default a webhook carries the process in full, exactly as ``GET /v1/processes/{id}`` shows it
afterwards. A dialect with a report of its own (MainBrainer's contacts batch) registers a renderer
for its kind of process; the core and the sender know no dialect.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from crmbatch.core.processes import service as processes
from crmbatch.core.results import Outcome
from crmbatch.db import codec

#: (the process in full, the payload it was accepted with) → the body of its webhook
Renderer = Callable[[dict[str, Any], dict[str, Any]], Any]

_RENDERERS: dict[tuple[str, str], Renderer] = {}


def register(kind: str, dialect: str, renderer: Renderer) -> None:
    """Announce processes of ``kind`` accepted through ``dialect`` with ``renderer``'s body."""
    _RENDERERS[(kind, dialect)] = renderer


def render(row: Any, outcome: Outcome | None, at: datetime, *, error: str | None = None) -> bytes:
    """The body announcing a process (``row`` as claimed, with its payload). Without an
    ``outcome`` the process failed for good, and ``error`` says why."""
    done = {
        **row,
        "status": "completed" if outcome is not None else "failed",
        "counts": outcome.counts if outcome is not None else {},
        "completed_at": at,
        "error": error,
    }
    process = processes.view(done, outcome.results if outcome is not None else [])
    renderer = _RENDERERS.get((row["kind"], row["dialect"]))
    if renderer is None:
        return codec.dumps(process)
    return codec.dumps(renderer(process, row["payload"]))
