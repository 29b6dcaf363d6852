"""SQL for the webhook outbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from crmbatch.db.tables import accounts, webhook_deliveries

d = webhook_deliveries


def insert(conn: Connection, rows: list[dict[str, Any]]) -> None:
    if rows:
        conn.execute(d.insert(), rows)


def claim_due(
    conn: Connection, *, now: datetime, lease_until: datetime, limit: int, skip_locked: bool
) -> list[RowMapping]:
    """Take up to ``limit`` pending deliveries that are due, oldest due first, and push their
    next attempt to ``lease_until``: a sender that dies mid-attempt leaves them due again then."""
    query = (
        sa.select(d.c.id)
        .where(d.c.status == "pending", d.c.next_attempt_at <= now)
        .order_by(d.c.next_attempt_at, d.c.id)
        .limit(limit)
    )
    if skip_locked:
        query = query.with_for_update(skip_locked=True)
    ids = list(conn.execute(query).scalars())
    if not ids:
        return []
    conn.execute(d.update().where(d.c.id.in_(ids)).values(next_attempt_at=lease_until))
    return list(
        conn.execute(
            sa.select(d, accounts.c.webhook_secret)
            .join(accounts, accounts.c.id == d.c.account_id)
            .where(d.c.id.in_(ids))
            .order_by(d.c.id)
        ).mappings()
    )


def record_attempt(conn: Connection, delivery_id: int, **values: Any) -> None:
    conn.execute(
        d.update()
        .where(d.c.id == delivery_id, d.c.status == "pending")
        .values(attempts=d.c.attempts + 1, **values)
    )


def of_process(conn: Connection, process_id: int) -> list[RowMapping]:
    return list(
        conn.execute(sa.select(d).where(d.c.process_id == process_id).order_by(d.c.id)).mappings()
    )


def pending(conn: Connection) -> int:
    return int(
        conn.execute(
            sa.select(sa.func.count()).select_from(d).where(d.c.status == "pending")
        ).scalar_one()
    )


def of_account(
    conn: Connection,
    account_id: int,
    *,
    status: str | None,
    before_id: int | None,
    limit: int,
    failing: bool = False,
) -> list[RowMapping]:
    """The account's deliveries, newest first, below ``before_id`` (by the account's index);
    ``failing``: those that gave up or whose last attempt failed."""
    conditions = [d.c.account_id == account_id]
    if status is not None:
        conditions.append(d.c.status == status)
    if failing:
        retrying = sa.and_(d.c.status == "pending", d.c.attempts > 0)
        conditions.append(sa.or_(d.c.status == "failed", retrying))
    if before_id is not None:
        conditions.append(d.c.id < before_id)
    columns = [c for c in d.c if c.name != "body"]
    query = sa.select(*columns).where(*conditions).order_by(d.c.id.desc()).limit(limit)
    return list(conn.execute(query).mappings())


def retry_now(
    conn: Connection, account_id: int, delivery_id: int, *, at: datetime, deadline: datetime
) -> bool:
    """Make an undelivered delivery of the account due now, with a new deadline; whether one
    was."""
    done = conn.execute(
        d.update()
        .where(
            d.c.id == delivery_id,
            d.c.account_id == account_id,
            d.c.status.in_(("pending", "failed")),
        )
        .values(status="pending", next_attempt_at=at, deadline=deadline)
    )
    return bool(done.rowcount)
