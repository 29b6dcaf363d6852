"""Liveness of the database and the depth of the queue (for /healthz and /metrics)."""

from __future__ import annotations

from crmbatch.core.processes import store as process_store
from crmbatch.db.engine import Database


def database_answers(db: Database) -> bool:
    try:
        with db.read() as conn:
            process_store.ping(conn)
        return True
    except Exception:
        return False


def queue_depth(db: Database) -> dict[str, int]:
    try:
        with db.read() as conn:
            return process_store.queue_depth(conn)
    except Exception:
        return {}
