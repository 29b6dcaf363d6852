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


def run_events(
    db: Database, settings: Settings, account_id: int, batch: list[dict[str, Any]]
) -> dict[str, Any]:
    """Accept events (engine shape), let a worker apply them, return the process in full."""
    from crmbatch.core.events import service as events

    with db.write() as conn:
        accepted = events.accept_events(conn, account_id, batch, dialect="test", identity_fields={})
    assert not accepted.refused, accepted.refused
    assert accepted.accepted is not None
    drain(db, settings)
    with db.read() as conn:
        return processes.full(conn, account_id, accepted.accepted.process_id)


def contact(db: Database, account_id: int, kind: str, value: Any) -> dict[str, Any]:
    from crmbatch.core.contacts import service as contacts

    with db.read() as conn:
        return contacts.get(conn, account_id, kind, value)


def contact_count(db: Database, account_id: int) -> int:
    return len(all_records_of_system_type(db, account_id))


def all_records_of_system_type(db: Database, account_id: int) -> list[Any]:
    from crmbatch.db.tables import object_types, records

    with db.read() as conn:
        return list(
            conn.execute(
                sa.select(records.c.id, records.c.ext_id, records.c.attributes)
                .join(object_types, object_types.c.id == records.c.object_type_id)
                .where(object_types.c.account_id == account_id, object_types.c.name == "contact")
                .order_by(records.c.id)
            )
        )
