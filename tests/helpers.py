"""Plain helpers for tests: run a batch through the real engine, read records back."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from crmbatch.config import Settings
from crmbatch.core.processes import service as processes
from crmbatch.core.records import service as records
from crmbatch.db.engine import Database
from crmbatch.db.tables import record_history
from crmbatch.worker import drain


def submit(
    db: Database,
    account_id: int,
    commands: list[dict[str, Any]],
    object_type: str = "vehicle",
    **kw: Any,
) -> int:
    with db.write() as conn:
        return records.accept_upsert(
            conn, account_id, object_type, commands, dialect="test", **kw
        ).process_id


def run_batch(
    db: Database,
    settings: Settings,
    account_id: int,
    commands: list[dict[str, Any]],
    object_type: str = "vehicle",
) -> dict[str, Any]:
    """Accept a batch, let a worker apply everything queued, return the process in full."""
    pid = submit(db, account_id, commands, object_type)
    drain(db, settings)
    with db.read() as conn:
        return processes.full(conn, account_id, pid)


def all_records(
    db: Database, account_id: int, object_type: str = "vehicle"
) -> list[dict[str, Any]]:
    with db.read() as conn:
        _, rows = records.page(
            conn,
            account_id,
            object_type,
            limit=1000,
            page_num=1,
            descending=False,
            with_associations=True,
        )
    return rows


def by_ext(
    db: Database, account_id: int, object_type: str = "vehicle"
) -> dict[str | None, dict[str, Any]]:
    return {r["ext_id"]: r for r in all_records(db, account_id, object_type)}


def history_count(db: Database, record_id: int) -> int:
    with db.read() as conn:
        return int(
            conn.execute(
                sa.select(sa.func.count())
                .select_from(record_history)
                .where(record_history.c.record_id == record_id)
            ).scalar_one()
        )
