"""SQL for accounts and API keys."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

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


def _key_where(conn: Connection, condition: Any) -> RowMapping | None:
    """The key (revoked or not) that ``condition`` names, with its digest and account."""
    query = (
        sa.select(
            accounts.c.id,
            accounts.c.name,
            api_keys.c.id.label("key_id"),
            api_keys.c.key_hash,
            api_keys.c.revoked_at,
        )
        .join(api_keys, api_keys.c.account_id == accounts.c.id)
        .where(condition)
    )
    return conn.execute(query).mappings().first()


def key_by_hash(conn: Connection, key_hash: str) -> RowMapping | None:
    """A key (revoked or not) by its digest, with its account."""
    return _key_where(conn, api_keys.c.key_hash == key_hash)


def key_by_id(conn: Connection, key_id: int) -> RowMapping | None:
    """A key (revoked or not) by its id, with its digest and account."""
    return _key_where(conn, api_keys.c.id == key_id)


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
