"""Dry runs: what a batch would do, planned against the data as applied so far, written
nowhere (no records, history, process, idempotency entry or webhook)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Connection

from crmbatch.core.processes import runner, store
from crmbatch.core.processes.service import Submission, partition_key
from crmbatch.core.results import Outcome, Result, error

Refused = list[tuple[int, list[tuple[str, str]]]]


def _refused(index: int, problems: list[tuple[str, str]]) -> Result:
    """An item a dialect refused before it could become a command (Brevo's refused events)."""
    message = "; ".join(f"{f}: {m}" if f else m for f, m in problems)
    return Result.failure(index, error("invalid", problems[0][0] if problems else None, message))


def dry_run(
    conn: Connection,
    account_id: int,
    submission: Submission | None,
    *,
    refused: Refused | None = None,
) -> dict[str, Any]:
    """The native result document of a batch that is planned, not applied::

        {"dry_run": true, "applied_through": 41, "counts": {...}, "results": [...]}

    ``applied_through`` is the last process of the batch's partition already applied: batches
    queued after it are not seen. ``refused`` items fail in their place, in input order.
    """
    results = [_refused(index, problems) for index, problems in refused or ()]
    through = None
    if submission is not None:
        outcome = runner.preview(conn, account_id, submission.kind, submission.payload)
        results += outcome.results
        through = store.applied_through(conn, partition_key(account_id, submission.object_type))
    results.sort(key=lambda r: r.index)
    return {
        "dry_run": True,
        "applied_through": through,
        "counts": Outcome(results).counts,
        "results": results,
    }
