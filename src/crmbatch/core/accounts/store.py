"""SQL for accounts and API keys."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from crmbatch.db import bulk
from crmbatch.db.tables import accounts, api_keys


def insert_account(conn: Connection, name: str, webhook_secret: str, at: datetime) -> int:
    return int(
        conn.execute(
            accounts.insert()
            .values(name=name, webhook_secret=webhook_secret, created_at=at)
            .returning(accounts.c.id)
        ).scalar_one()
    )


def account_by_name(conn: Connection, name: str) -> RowMapping | None:
    return conn.execute(sa.select(accounts).where(accounts.c.name == name)).mappings().first()


def list_accounts(conn: Connection) -> list[RowMapping]:
    return list(conn.execute(sa.select(accounts).order_by(accounts.c.id)).mappings())


def set_webhook_secret(conn: Connection, account_id: int, secret: str) -> None:
    conn.execute(accounts.update().where(accounts.c.id == account_id).values(webhook_secret=secret))


def insert_key(conn: Connection, account_id: int, prefix: str, key_hash: str, at: datetime) -> None:
    conn.execute(
        api_keys.insert().values(
            account_id=account_id, prefix=prefix, key_hash=key_hash, created_at=at
        )
    )


def _key_where(conn: Connection, column: str, value: Any) -> dict[str, Any] | None:
    """The key (revoked or not) whose ``column`` is ``value``, with its digest and account.
    Every request authenticates: one plain statement on the driver's cursor."""
    found = bulk.rows(
        conn,
        "SELECT a.id, a.name, k.id, k.key_hash, k.revoked_at FROM api_keys AS k"
        f" JOIN accounts AS a ON a.id = k.account_id WHERE k.{column} = {bulk.param(conn, 'v')}",
        {"v": value},
    )
    if not found:
        return None
    account_id, name, key_id, digest, revoked_at = found[0]
    return {
        "id": account_id,
        "name": name,
        "key_id": key_id,
        "key_hash": digest,
        "revoked_at": bulk.moment(revoked_at),
    }


def key_by_hash(conn: Connection, key_hash: str) -> dict[str, Any] | None:
    """A key (revoked or not) by its digest, with its account."""
    return _key_where(conn, "key_hash", key_hash)


def key_by_id(conn: Connection, key_id: int) -> dict[str, Any] | None:
    """A key (revoked or not) by its id, with its digest and account."""
    return _key_where(conn, "id", key_id)


def active_keys_starting(conn: Connection, start: str) -> list[RowMapping]:
    """The active keys whose stored prefix starts with ``start`` (or is how ``start`` starts)."""
    shown = api_keys.c.prefix
    n = min(len(start), 16)
    return list(
        conn.execute(
            sa.select(api_keys.c.id, shown)
            .where(
                api_keys.c.revoked_at.is_(None),
                sa.func.substr(shown, 1, n) == start[:n],
            )
            .order_by(api_keys.c.id)
        ).mappings()
    )


def revoke(conn: Connection, key_id: int, at: datetime) -> None:
    conn.execute(api_keys.update().where(api_keys.c.id == key_id).values(revoked_at=at))


def keys_of(conn: Connection, account_id: int) -> list[RowMapping]:
    return list(
        conn.execute(
            sa.select(api_keys.c.prefix, api_keys.c.created_at, api_keys.c.revoked_at)
            .where(api_keys.c.account_id == account_id)
            .order_by(api_keys.c.id)
        ).mappings()
    )
