"""The worker loop: claim a process (or a group of small ones), apply it through the core's
lifecycle (:mod:`crmbatch.core.processes.lifecycle`), repeat; sleep when idle, stop cleanly on
request. Runs inside ``crmbatch serve`` (embedded SQLite default) or as ``crmbatch worker``.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable

from sqlalchemy.engine import RowMapping

import crmbatch.dialects  # noqa: F401  (the dialects register their webhook renderers)
from crmbatch import metrics
from crmbatch.config import Settings
from crmbatch.core.processes import lifecycle
from crmbatch.db.engine import Database
from crmbatch.delivery import webhook_policy

log = logging.getLogger("crmbatch.worker")


def worker_prefix(pid: int) -> str:
    """How the ids of the workers of process ``pid`` on this machine begin."""
    return f"{socket.gethostname()[:32]}:{pid}:"


def new_worker_id() -> str:
    return f"{worker_prefix(os.getpid())}{uuid.uuid4().hex[:8]}"


def run_once(
    db: Database,
    settings: Settings,
    worker_id: str,
    on_webhooks: Callable[[], None] | None = None,
    claimed: list[RowMapping] | None = None,
) -> tuple[int, list[RowMapping]]:
    """Apply ``claimed`` (a group this worker leased ahead) or else the next process or group
    it can claim; return how many processes it held (0 when there was nothing to do) and the
    group it claimed ahead, to be given to the next call."""
    group = claimed or lifecycle.claim_group(db, worker_id, settings.lease_seconds)
    if not group:
        return 0, []
    started = time.perf_counter()
    applied = lifecycle.apply_group(
        db,
        group,
        worker_id,
        debug_delay=settings.debug_apply_delay,
        policy=webhook_policy(settings),
        claim_ahead=settings.lease_seconds,
    )
    if applied.outcomes is None:
        return len(group), applied.next
    elapsed = time.perf_counter() - started
    ids = [r["id"] for r in group]
    for row, outcome in zip(group, applied.outcomes, strict=True):
        counts = outcome.counts
        metrics.observe_applied(row["kind"], counts, elapsed / len(group))
        log.info(
            "process.completed",
            extra={
                "process_id": row["id"],
                "counts": counts,
                "seconds": round(elapsed, 4),
                "group": ids if len(ids) > 1 else None,
            },
        )
    if on_webhooks is not None and any(r["notify_url"] for r in group):
        on_webhooks()
    return len(group), applied.next


def drain(db: Database, settings: Settings, worker_id: str | None = None) -> int:
    """Apply everything that is claimable now (tests, CLI); return how many processes ran."""
    worker_id = worker_id or new_worker_id()
    total = 0
    ahead: list[RowMapping] = []
    while True:
        n, ahead = run_once(db, settings, worker_id, claimed=ahead)
        if not n:
            return total
        total += n


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
        ahead: list[RowMapping] = []
        while not self.stop_event.is_set():
            try:
                did, ahead = run_once(
                    self.db, self.settings, self.worker_id, self.on_webhooks, claimed=ahead
                )
                backoff = self.settings.poll_interval
            except Exception:
                log.exception("worker.loop_error")
                did, ahead = 0, []
                backoff = min(max(backoff * 2, 0.1), 5.0)
            if not did:
                self.wake_event.wait(backoff)
                self.wake_event.clear()
        try:  # claimed ahead and never begun: back to the queue, the attempt not counted
            lifecycle.unclaim(self.db, ahead, self.worker_id)
        except Exception:  # the database is away: the lease runs out and another takes it
            log.exception("worker.unclaim_failed")
        log.info("worker.stopped", extra={"worker_id": self.worker_id})

    def start_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self.run, name="crmbatch-worker", daemon=True)
        thread.start()
        return thread
