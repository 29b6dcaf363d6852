"""A process's life after accept: claimed under a lease, applied in one transaction with its
results, its ``completed`` state and the webhook deliveries that announce it, or given back.
The synchronous way in (accept and apply in one transaction) is :mod:`.sync`.

Exactly once: the claim is committed first (status ``in_process`` under a lease); the apply
transaction then locks the row again and proceeds only if this worker still owns it and it is not
completed. A worker that dies mid-apply leaves nothing (its transaction rolls back) and its lease
runs out, so another worker takes the process over.

Order: the processes of a partition (an account's object type) are applied one at a time, in id
order, and ids follow the order in which they were accepted (committed).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy.engine import Connection, RowMapping

from crmbatch.core import clock
from crmbatch.core.processes import runner, store
from crmbatch.core.results import Outcome
from crmbatch.core.webhooks import render
from crmbatch.core.webhooks import service as webhooks
from crmbatch.db.engine import Database

log = logging.getLogger("crmbatch.processes")

#: a process that failed this many times is marked failed for good
MAX_ATTEMPTS = 5
#: at most this many items (records, events) are applied in one transaction when several small
#: batches of one partition wait in line
MAX_GROUP_ITEMS = 1000


def claim_group(
    db: Database, worker_id: str, lease_seconds: float, *, max_items: int = MAX_GROUP_ITEMS
) -> list[RowMapping]:
    """Lease the next process and the queued ones right behind it in its partition (same kind,
    up to ``max_items`` items): one claim, committed before anything is applied."""
    with db.write(background=True) as conn:
        return _claim(
            conn, worker_id, lease_seconds, skip_locked=not db.is_sqlite, max_items=max_items
        )


def _claim(
    conn: Connection,
    worker_id: str,
    lease_seconds: float,
    *,
    skip_locked: bool,
    max_items: int = MAX_GROUP_ITEMS,
    payload: bool = True,
) -> list[RowMapping]:
    now = clock.now()  # inside the transaction: never before what it waited for
    lease_until = now + timedelta(seconds=lease_seconds)
    head = store.claim_next(
        conn,
        worker_id=worker_id,
        now=now,
        lease_until=lease_until,
        skip_locked=skip_locked,
        payload=payload,
    )
    if head is None:
        return []
    if head["kind"] not in runner.GROUPABLE or head["received"] >= max_items:
        return [head]
    followers = store.claim_followers(
        conn,
        head,
        worker_id=worker_id,
        now=now,
        lease_until=lease_until,
        max_items=max_items,
        payload=payload,
    )
    return [head, *followers]


def claim(db: Database, worker_id: str, lease_seconds: float) -> RowMapping | None:
    """Lease the next process alone."""
    group = claim_group(db, worker_id, lease_seconds, max_items=1)
    return group[0] if group else None


@dataclass
class Applied:
    """What :func:`apply_group` did: the outcomes (``None``: the group was no longer this
    worker's, or the attempt failed and was given back) and the group it claimed next."""

    outcomes: list[Outcome] | None
    #: leased in the transaction that completed this group (see ``claim_ahead``): the worker
    #: applies it next, or gives it back with :func:`unclaim`
    next: list[RowMapping] = field(default_factory=list)


def apply_claimed(
    db: Database,
    claimed: list[RowMapping] | RowMapping,
    worker_id: str,
    *,
    policy: webhooks.RetryPolicy = webhooks.RetryPolicy(),
    debug_delay: float = 0.0,
) -> list[Outcome] | None:
    """Apply claimed processes (one row or a group) in one transaction, with the webhook
    deliveries that announce them; their outcomes, or None if they were no longer ours to apply
    or the attempt failed (then they are given back)."""
    rows = claimed if isinstance(claimed, list) else [claimed]
    return apply_group(db, rows, worker_id, policy=policy, debug_delay=debug_delay).outcomes


def apply_group(
    db: Database,
    rows: list[RowMapping],
    worker_id: str,
    *,
    policy: webhooks.RetryPolicy = webhooks.RetryPolicy(),
    debug_delay: float = 0.0,
    claim_ahead: float | None = None,
) -> Applied:
    """Apply a claimed group in one transaction (see :func:`apply_claimed`).

    With ``claim_ahead`` (a lease, in seconds) the same transaction also claims the next group,
    so that a busy worker pays one write transaction per group, not two: the claim is still
    committed before that group is applied, exactly as :func:`claim_group` would.
    """
    following: list[RowMapping] = []
    try:
        prepared = None
        if db.is_sqlite:  # one writer at a time there: do the reading and computing before
            with db.read() as conn:
                rows = _with_payloads(conn, rows)
                group = runner.group_of(rows)
                prepared = runner.prepare(conn, group)
        with db.write(background=True) as conn:
            if not db.is_sqlite:
                rows = _with_payloads(conn, rows)
                group = runner.group_of(rows)
            if not _still_ours(conn, rows, worker_id, for_update=not db.is_sqlite):
                return Applied(None)
            outcomes = runner.run(conn, group, prepared)
            if debug_delay:
                time.sleep(debug_delay)
            complete(conn, rows, outcomes, policy)
            if claim_ahead is not None:
                following = _claim(
                    conn, worker_id, claim_ahead, skip_locked=not db.is_sqlite, payload=False
                )
    except Exception as exc:
        ids = [r["id"] for r in rows]
        log.exception("process.apply_failed", extra={"process_id": ids[0], "group": ids})
        for row in rows:
            give_back(db, row, worker_id, exc, policy)
        return Applied(None)
    return Applied(outcomes, following)


def _with_payloads(conn: Connection, rows: list[RowMapping]) -> list[RowMapping]:
    """The rows with their payloads (a group claimed ahead was leased without them: they are
    read here, outside the write lock on SQLite)."""
    if all("payload" in r for r in rows):
        return rows
    return store.rows(conn, [r["id"] for r in rows])


def release_dead(db: Database, prefix: str) -> int:
    """Queue again at once what the workers of a process that died held (their ids begin with
    ``prefix``), instead of after their leases run out; how many processes that was."""
    with db.write() as conn:
        return store.release_workers(conn, prefix)


def unclaim(db: Database, rows: list[RowMapping], worker_id: str) -> None:
    """Give back a group this worker leased but will not apply (it is stopping)."""
    if rows:
        with db.write() as conn:
            store.unclaim(conn, [r["id"] for r in rows], worker_id)


def _still_ours(conn: Connection, rows: list[RowMapping], worker_id: str, for_update: bool) -> bool:
    for row in rows:
        current = store.lock(conn, row["id"], for_update=for_update)
        if current != ("in_process", worker_id):
            log.info("process.lost", extra={"process_id": row["id"]})
            return False
    return True


def complete(
    conn: Connection, rows: list[Any], outcomes: list[Outcome], policy: webhooks.RetryPolicy
) -> None:
    """Mark processes completed with their counts and per-item results, and queue the webhooks
    that announce them (same transaction as the data they describe)."""
    at = clock.now()
    announced = [
        (row, render.render(row, outcome, at))
        for row, outcome in zip(rows, outcomes, strict=True)
        if row["notify_url"]
    ]
    webhooks.enqueue(conn, announced, at=at, policy=policy)
    for row, outcome in zip(rows, outcomes, strict=True):
        store.complete(
            conn,
            row["id"],
            status="completed",
            counts=outcome.counts,
            results=outcome.results,
            at=at,
            results_text=outcome.results_text,
            unapplied=outcome.unapplied,
            warned=outcome.warned,
        )


def give_back(
    db: Database, row: Any, worker_id: str, exc: Exception, policy: webhooks.RetryPolicy
) -> None:
    """After a failed attempt: queue it again, or, once attempts are used up, mark it failed and
    announce that on its webhook."""
    message = f"{type(exc).__name__}: {exc}"[:2000]
    try:
        with db.write() as conn:
            if row["attempts"] < MAX_ATTEMPTS:
                store.release(conn, row["id"], worker_id, error=message)
                return
            at = clock.now()
            store.complete(
                conn, row["id"], status="failed", counts={}, results=[], at=at, error=message
            )
            if row["notify_url"]:
                body = render.render(row, None, at, error=message)
                webhooks.enqueue(conn, [(row, body)], at=at, policy=policy)
    except Exception:  # the database is away: the lease will run out and someone retries
        log.exception("process.release_failed", extra={"process_id": row["id"]})


def wait_completed(db: Database, process_id: int, timeout: float) -> str:
    """Wait until a process is completed or failed (polling, 5 ms growing to 50 ms); its status."""
    deadline = time.monotonic() + timeout
    pause = 0.005
    while True:
        with db.read() as conn:
            status = store.status(conn, process_id)
        if status in ("completed", "failed"):
            return status
        if time.monotonic() > deadline:
            raise TimeoutError(f"process {process_id} is still {status} after {timeout:.0f}s")
        time.sleep(pause)
        pause = min(pause * 2, 0.05)
