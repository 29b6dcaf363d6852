"""The worker: claim a process, apply it in one transaction with its results and ``completed``
state, repeat. Runs in-process (embedded SQLite default) or as ``crmbatch worker``.

Exactly once: the claim is committed first (status ``in_process`` under a lease); the apply
transaction then locks the row again and proceeds only if this worker still owns it and it is not
completed. A worker that dies mid-apply leaves nothing (its transaction rolls back) and its lease
runs out, so another worker takes the process over.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy.engine import Connection

from crmbatch import delivery, metrics
from crmbatch.config import Settings
from crmbatch.core import clock
from crmbatch.core.processes import runner
from crmbatch.core.processes import store as process_store
from crmbatch.core.processes.service import Accepted
from crmbatch.core.webhooks import service as webhooks
from crmbatch.db.engine import Database
from crmbatch.delivery import webhook_policy

log = logging.getLogger("crmbatch.worker")
MAX_ATTEMPTS = 5


def new_worker_id() -> str:
    return f"{socket.gethostname()[:32]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


#: at most this many items (records, events) are applied in one transaction when several small
#: batches of one partition wait in line
MAX_GROUP_ITEMS = 1000


def claim(db: Database, worker_id: str, lease_seconds: float, *, max_items: int = 1) -> Any:
    """Lease the next process and return it (with ``max_items`` above its size, the ones right
    behind it are leased too: use :func:`claim_group` to get them)."""
    group = claim_group(db, worker_id, lease_seconds, max_items=max_items)
    return group[0] if group else None


def claim_group(
    db: Database, worker_id: str, lease_seconds: float, *, max_items: int = MAX_GROUP_ITEMS
) -> list[Any]:
    """Lease the next process and the queued ones right behind it in its partition (same kind,
    up to ``max_items`` items): one claim, committed before anything is applied."""
    with db.write(background=True) as conn:
        now = clock.now()  # inside the transaction: never before what it waited for
        lease_until = now + timedelta(seconds=lease_seconds)
        head = process_store.claim_next(
            conn,
            worker_id=worker_id,
            now=now,
            lease_until=lease_until,
            skip_locked=not db.is_sqlite,
        )
        if head is None:
            return []
        if head["kind"] not in runner.GROUPABLE or head["received"] >= max_items:
            return [head]
        followers = process_store.claim_followers(
            conn,
            head,
            worker_id=worker_id,
            now=now,
            lease_until=lease_until,
            max_items=max_items,
        )
        return [head, *followers]


def apply_claimed(
    db: Database,
    claimed: Any,
    worker_id: str,
    *,
    debug_delay: float = 0.0,
    policy: webhooks.RetryPolicy = webhooks.RetryPolicy(),
) -> bool:
    """Apply claimed processes (one row or a group) in one transaction, with the webhook
    deliveries that announce them; return False if they were no longer ours to apply."""
    rows = claimed if isinstance(claimed, list) else [claimed]
    group = runner.group_of(rows)
    ids = [r["id"] for r in rows]
    started = time.perf_counter()
    try:
        prepared = None
        if db.is_sqlite:  # one writer at a time there: do the reading and computing before
            with db.read() as conn:
                prepared = runner.prepare(conn, group)
        with db.write(background=True) as conn:
            for row in rows:
                current = process_store.lock(conn, row["id"], for_update=not db.is_sqlite)
                if (
                    current is None
                    or current["status"] != "in_process"
                    or current["worker_id"] != worker_id
                ):
                    log.info("process.lost", extra={"process_id": row["id"]})
                    return False
            outcomes = runner.run(conn, group, prepared)
            if debug_delay:
                time.sleep(debug_delay)
            _complete(conn, rows, outcomes, policy)
    except Exception as exc:
        log.exception("process.apply_failed", extra={"process_id": ids[0], "group": ids})
        for row in rows:
            _give_back(db, row, worker_id, exc, policy)
        return False
    elapsed = time.perf_counter() - started
    for row, outcome in zip(rows, outcomes, strict=True):
        metrics.observe_applied(row["kind"], outcome.counts, elapsed / len(rows))
        log.info(
            "process.completed",
            extra={
                "process_id": row["id"],
                "counts": outcome.counts,
                "seconds": round(elapsed, 4),
                "group": ids if len(ids) > 1 else None,
            },
        )
    return True


def apply_now(
    db: Database,
    accept: Callable[[Connection], Accepted],
    *,
    lease_seconds: float = 30.0,
    timeout: float = 120.0,
) -> tuple[int, list[dict[str, Any]] | None]:
    """Accept a process and apply it within the same transaction (a synchronous API such as
    HubSpot's); return its id once it is completed, with its per-item results when they are at
    hand (``None``: read them from the process).

    The partition's order still holds: when an earlier process of the partition is unfinished,
    this one is left queued for the worker and the call waits for it instead. A replayed
    Idempotency-Key waits for the first request's process.
    """
    worker_id = f"request:{new_worker_id()}"
    with db.write() as conn:
        accepted = accept(conn)
        now = clock.now()
        row = None
        if not accepted.replayed:
            row = process_store.claim_next(
                conn,
                worker_id=worker_id,
                now=now,
                lease_until=now + timedelta(seconds=lease_seconds),
                skip_locked=False,
                only_id=accepted.process_id,
            )
        if row is not None:
            (outcome,) = runner.run(conn, runner.group_of([row]))
            _complete(conn, [row], [outcome], webhooks.RetryPolicy())
            metrics.observe_applied(row["kind"], outcome.counts, 0.0)
            return accepted.process_id, outcome.results
    return wait_completed(db, accepted.process_id, timeout), None


def wait_completed(db: Database, process_id: int, timeout: float) -> int:
    """Wait until a process is completed or failed (polling, 5 ms growing to 50 ms)."""
    deadline = time.monotonic() + timeout
    pause = 0.005
    while True:
        with db.read() as conn:
            status = process_store.status(conn, process_id)
        if status in ("completed", "failed"):
            return process_id
        if time.monotonic() > deadline:
            raise TimeoutError(f"process {process_id} is still {status} after {timeout:.0f}s")
        time.sleep(pause)
        pause = min(pause * 2, 0.05)


def _complete(
    conn: Connection, rows: list[Any], outcomes: list[Any], policy: webhooks.RetryPolicy
) -> None:
    """Mark processes completed with their counts and per-item results, and queue the webhooks
    that announce them (same transaction as the data they describe)."""
    at = clock.now()
    announced = [
        (row, delivery.render(row, outcome, at))
        for row, outcome in zip(rows, outcomes, strict=True)
        if row["notify_url"]
    ]
    webhooks.enqueue(conn, announced, at=at, policy=policy)
    for row, outcome in zip(rows, outcomes, strict=True):
        process_store.complete(
            conn,
            row["id"],
            status="completed",
            counts=outcome.counts,
            results=outcome.results,
            at=at,
        )


def _give_back(
    db: Database, row: Any, worker_id: str, exc: Exception, policy: webhooks.RetryPolicy
) -> None:
    """After a failed attempt: queue it again, or, once attempts are used up, mark it failed and
    announce that on its webhook."""
    message = f"{type(exc).__name__}: {exc}"[:2000]
    try:
        with db.write() as conn:
            if row["attempts"] >= MAX_ATTEMPTS:
                at = clock.now()
                process_store.complete(
                    conn,
                    row["id"],
                    status="failed",
                    counts={},
                    results=[],
                    at=at,
                    error=message,
                )
                if row["notify_url"]:
                    body = delivery.render(row, None, at, error=message)
                    webhooks.enqueue(conn, [(row, body)], at=at, policy=policy)
            else:
                process_store.release(conn, row["id"], worker_id, error=message)
    except Exception:  # the database is away: the lease will run out and someone retries
        log.exception("process.release_failed", extra={"process_id": row["id"]})


def run_once(
    db: Database, settings: Settings, worker_id: str, on_webhooks: Callable[[], None] | None = None
) -> int:
    """Claim and apply the next process (or group); return how many processes it held (0 when
    there was nothing to do). ``on_webhooks`` is called when the group queued deliveries."""
    group = claim_group(db, worker_id, settings.lease_seconds)
    if group:
        done = apply_claimed(
            db,
            group,
            worker_id,
            debug_delay=settings.debug_apply_delay,
            policy=webhook_policy(settings),
        )
        if done and on_webhooks is not None and any(r["notify_url"] for r in group):
            on_webhooks()
    return len(group)


def drain(db: Database, settings: Settings, worker_id: str | None = None) -> int:
    """Apply everything that is claimable now (tests, CLI); return how many processes ran."""
    worker_id = worker_id or new_worker_id()
    n = 0
    while done := run_once(db, settings, worker_id):
        n += done
    return n


class Worker:
    """A loop over :func:`run_once` that sleeps when idle and stops cleanly on request."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        worker_id: str | None = None,
        *,
        on_webhooks: Callable[[], None] | None = None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.worker_id = worker_id or new_worker_id()
        #: wakes the webhook sender when a completed process queued a delivery
        self.on_webhooks = on_webhooks
        self.stop_event = threading.Event()
        self.wake_event = threading.Event()

    def wake(self) -> None:
        self.wake_event.set()

    def stop(self) -> None:
        self.stop_event.set()
        self.wake_event.set()

    def run(self) -> None:
        log.info("worker.started", extra={"worker_id": self.worker_id})
        backoff = self.settings.poll_interval
        while not self.stop_event.is_set():
            try:
                did = run_once(self.db, self.settings, self.worker_id, self.on_webhooks)
                backoff = self.settings.poll_interval
            except Exception:
                log.exception("worker.loop_error")
                did = False
                backoff = min(max(backoff * 2, 0.1), 5.0)
            if not did:
                self.wake_event.wait(backoff)
                self.wake_event.clear()
        log.info("worker.stopped", extra={"worker_id": self.worker_id})

    def start_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self.run, name="crmbatch-worker", daemon=True)
        thread.start()
        return thread
